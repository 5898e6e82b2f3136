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
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	return slog.New(requestIDHandler{h}).With("service", service)
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := reqid.From(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
