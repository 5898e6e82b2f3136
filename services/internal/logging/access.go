package logging

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"shop/internal/reqid"
)

// Request logs one access line: "request" at level with the request's
// method, path, status and duration (and the context's request id), as
//
//	{"time":…,"level":"INFO","msg":"request","service":…,"method":…,"path":…,"status":…,"duration":…,"request_id":…}
//
// On the services' buffered logger (NewBuffered) the line is encoded here,
// byte for byte as slog's JSON handler writes it, when every string in it
// needs no JSON escaping (the usual case): slog's record, attribute and
// handler machinery cost the gateway about 7 % of its CPU per request
// (bench/gateway.sh). Any other line, and any other logger, goes through
// slog. A test compares both encodings.
func Request(ctx context.Context, log *slog.Logger, level slog.Level, method, path string, status int, d time.Duration) {
	h := log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	if rh, ok := h.(requestIDHandler); ok && rh.direct(ctx, level, method, path, status, d) {
		return
	}
	requestSlog(ctx, h, level, method, path, status, d)
}

// requestSlog is Request through slog: the record goes to the handler
// without a program counter (slog's way for a logging helper: no
// runtime.Callers per request for a source position the services never print).
func requestSlog(ctx context.Context, h slog.Handler, level slog.Level, method, path string, status int, d time.Duration) {
	r := slog.NewRecord(time.Now(), level, "request", 0)
	r.AddAttrs(slog.String("method", method), slog.String("path", path), slog.Int("status", status), slog.Duration("duration", d))
	_ = h.Handle(ctx, r)
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// direct writes the access line itself; false (nothing written) when it
// cannot be sure to write what slog would.
func (h requestIDHandler) direct(ctx context.Context, level slog.Level, method, path string, status int, d time.Duration) bool {
	id := reqid.From(ctx)
	if h.buf == nil || h.pre == nil || !plain(method) || !plain(path) || !plain(id) {
		return false
	}
	p := lineBufs.Get().(*[]byte)
	b := append((*p)[:0], `{"time":"`...)
	b = time.Now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"request"`...)
	b = append(b, *h.pre...)
	b = append(b, `,"method":"`...)
	b = append(b, method...)
	b = append(b, `","path":"`...)
	b = append(b, path...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(d), 10)
	if id != "" {
		b = append(b, `,"request_id":"`...)
		b = append(b, id...)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	_, _ = h.buf.Write(b)
	_ = h.flushUrgent(level)
	*p = b
	lineBufs.Put(p)
	return true
}

// plain reports whether slog's JSON encoding of s is s itself: printable
// ASCII without '"' and '\\'.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// withPre returns the encoding of the handler's attributes after as are
// added (`,"key":"value"` or `,"key":123` each, as slog's JSON handler
// writes them), or nil when one of them is not a plain string or an int.
func withPre(pre *[]byte, as []slog.Attr) *[]byte {
	if pre == nil {
		return nil
	}
	b := append([]byte(nil), *pre...)
	for _, a := range as {
		v := a.Value.Resolve()
		if a.Key == "" || !plain(a.Key) {
			return nil
		}
		b = append(b, `,"`...)
		b = append(b, a.Key...)
		b = append(b, `":`...)
		switch v.Kind() {
		case slog.KindString:
			if !plain(v.String()) {
				return nil
			}
			b = append(b, '"')
			b = append(b, v.String()...)
			b = append(b, '"')
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		default:
			return nil
		}
	}
	return &b
}
