// Package logging builds the services' slog JSON logger. Records logged with a
// context carry that context's request id as "request_id".
package logging

import (
	"context"
	"io"
	"log/slog"

	"shop/internal/reqid"
)

// New returns a JSON logger writing to w at level ("debug|info|warn|error"),
// tagging every record with service.
func New(w io.Writer, level, service string) *slog.Logger {
	return newLogger(w, level, service, nil)
}

// NewBuffered is New writing through a Buffered writer over w: records below
// warn are written in batches (BufferSize, FlushInterval), warn and above at
// once with what is before them. closeLog writes what is left; call it before
// the process exits.
func NewBuffered(w io.Writer, level, service string) (log *slog.Logger, closeLog func() error) {
	b := NewBufferedWriter(w, BufferSize, FlushInterval)
	return newLogger(b, level, service, b), b.Close
}

func newLogger(w io.Writer, level, service string, buf *Buffered) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	return slog.New(requestIDHandler{Handler: h, buf: buf, pre: &[]byte{}}).With("service", service)
}

// requestIDHandler adds the context's request id to each record and, over a
// Buffered writer, flushes it after a record of level warn or above.
type requestIDHandler struct {
	slog.Handler
	buf *Buffered
	// pre: the JSON of the attributes added by With, for the access lines
	// written without slog (access.go); nil once one is neither a plain
	// string nor an int, or a group was opened.
	pre *[]byte
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := reqid.From(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	err := h.Handler.Handle(ctx, r)
	if ferr := h.flushUrgent(r.Level); err == nil {
		err = ferr
	}
	return err
}

// flushUrgent writes what the Buffered writer holds after a record of level
// warn or above, so what explains a failure is never held back.
func (h requestIDHandler) flushUrgent(level slog.Level) error {
	if h.buf == nil || level < slog.LevelWarn {
		return nil
	}
	return h.buf.Flush()
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as), h.buf, withPre(h.pre, as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name), h.buf, nil}
}
