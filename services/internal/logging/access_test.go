package logging

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"shop/internal/reqid"
)

var timeField = regexp.MustCompile(`"time":"([^"]*)"`)

// accessLine logs one access line on a new buffered logger (with extra
// attributes from with) and returns what it wrote, with its time field
// checked and blanked; direct chooses the encoding: the handler's own
// (reporting whether it took the line) or slog's.
func accessLine(t *testing.T, with func(*slog.Logger) *slog.Logger, direct bool, ctx context.Context, level slog.Level, method, path string, status int, d time.Duration) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	log, closeLog := NewBuffered(&out, "debug", "gateway")
	log = with(log)
	took := false
	if direct {
		took = log.Handler().(requestIDHandler).direct(ctx, level, method, path, status, d)
	}
	if !took {
		requestSlog(ctx, log.Handler(), level, method, path, status, d)
	}
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	m := timeField.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no time field in %q", out.String())
	}
	if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
		t.Fatalf("time %q: %v", m[1], err)
	}
	return timeField.ReplaceAllString(out.String(), `"time":"T"`), took
}

func TestAccessLinesWrittenWithoutSlogAreTheLinesSlogWrites(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	same := func(l *slog.Logger) *slog.Logger { return l }
	cases := []struct {
		name       string
		with       func(*slog.Logger) *slog.Logger
		ctx        context.Context
		level      slog.Level
		method     string
		path       string
		status     int
		d          time.Duration
		wantDirect bool
	}{
		{"a proxied GET with its request id", same, reqid.With(context.Background(), id), slog.LevelInfo, "GET", "/api/products/7", 200, 1500 * time.Microsecond, true},
		{"no request id", same, context.Background(), slog.LevelInfo, "POST", "/api/orders", 201, 3 * time.Millisecond, true},
		{"a warning, a negative duration", same, reqid.With(context.Background(), id), slog.LevelWarn, "GET", "/readyz", 503, -5, true},
		{"a level between the named ones", same, context.Background(), slog.LevelInfo + 2, "DELETE", "/api/x?y=1&z=<a>", 404, 0, true},
		{"attributes added by With", func(l *slog.Logger) *slog.Logger { return l.With("component", "edge", "shard", 3) }, context.Background(), slog.LevelInfo, "GET", "/", 200, time.Second, true},
		{"a path with a quote", same, context.Background(), slog.LevelInfo, "GET", `/a"b`, 400, 1, false},
		{"a path with a backslash", same, context.Background(), slog.LevelInfo, "GET", `/a\b`, 400, 1, false},
		{"a path with a control character", same, context.Background(), slog.LevelInfo, "GET", "/a\tb\x01", 400, 1, false},
		{"a path beyond ASCII", same, context.Background(), slog.LevelInfo, "GET", "/caf\u00e9/\u2028", 404, 1, false},
		{"a path that is not UTF-8", same, context.Background(), slog.LevelInfo, "GET", "/\xff\xfe", 400, 1, false},
		{"a request id that needs escaping", same, reqid.With(context.Background(), "a\"b"), slog.LevelInfo, "GET", "/", 200, 1, false},
		{"an attribute of another kind", func(l *slog.Logger) *slog.Logger { return l.With("ready", true) }, context.Background(), slog.LevelInfo, "GET", "/", 200, 1, false},
		{"an attribute that needs escaping", func(l *slog.Logger) *slog.Logger { return l.With("note", "a\nb") }, context.Background(), slog.LevelInfo, "GET", "/", 200, 1, false},
		{"a group", func(l *slog.Logger) *slog.Logger { return l.WithGroup("http") }, context.Background(), slog.LevelInfo, "GET", "/", 200, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, took := accessLine(t, tc.with, true, tc.ctx, tc.level, tc.method, tc.path, tc.status, tc.d)
			want, _ := accessLine(t, tc.with, false, tc.ctx, tc.level, tc.method, tc.path, tc.status, tc.d)
			if took != tc.wantDirect {
				t.Errorf("written without slog: %v, want %v", took, tc.wantDirect)
			}
			if got != want {
				t.Errorf("lines differ:\n got  %s\n want %s", got, want)
			}
		})
	}
}

func TestRequestWritesWarningsAtOnceAndNothingBelowTheLevel(t *testing.T) {
	var out bytes.Buffer
	log, closeLog := NewBuffered(&out, "info", "gateway")
	defer closeLog()
	ctx := reqid.With(context.Background(), "0123456789abcdef0123456789abcdef")
	Request(ctx, log, slog.LevelDebug, "GET", "/", 200, 1)
	Request(ctx, log, slog.LevelInfo, "GET", "/a", 200, 1)
	if out.Len() != 0 {
		t.Fatalf("an info line was written before a flush: %q", out.String())
	}
	Request(ctx, log, slog.LevelWarn, "GET", "/b", 503, 1)
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 2 || !bytes.Contains(lines[0], []byte(`"path":"/a"`)) || !bytes.Contains(lines[1], []byte(`"path":"/b","status":503`)) {
		t.Fatalf("after the warning, want the info line and the warning (not the debug line), got %q", out.String())
	}
}

func TestRequestOnAnUnbufferedLoggerGoesThroughSlog(t *testing.T) {
	var out bytes.Buffer
	log := New(&out, "info", "svc")
	if log.Handler().(requestIDHandler).direct(context.Background(), slog.LevelInfo, "GET", "/", 200, 1) {
		t.Fatal("the unbuffered logger took a line past slog (its writes are serialised by slog's handler only)")
	}
	Request(context.Background(), log, slog.LevelInfo, "GET", "/", 200, 1)
	if !bytes.Contains(out.Bytes(), []byte(`"msg":"request","service":"svc","method":"GET","path":"/","status":200,"duration":1}`)) {
		t.Fatalf("got %q", out.String())
	}
}
