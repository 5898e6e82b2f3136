package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"shop/internal/logging"
	"shop/internal/reqid"
)

func TestLogRequestWritesOneAccessLineWithTheRequestID(t *testing.T) {
	tests := []struct {
		name   string
		level  string
		logAt  slog.Level
		want   bool
		status int
	}{
		{"an info line at level info", "info", slog.LevelInfo, true, 200},
		{"a warn line at level info", "info", slog.LevelWarn, true, 503},
		{"no info line at level warn", "warn", slog.LevelInfo, false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			log := logging.New(&out, tt.level, "gateway")
			ctx := reqid.With(context.Background(), "0123456789abcdef0123456789abcdef")
			LogRequest(ctx, log, tt.logAt, "GET", "/api/products/7", tt.status, 1500*time.Microsecond)
			if !tt.want {
				if out.Len() != 0 {
					t.Fatalf("logged %q, want nothing", out.String())
				}
				return
			}
			var line map[string]any
			if err := json.Unmarshal(out.Bytes(), &line); err != nil {
				t.Fatalf("not one JSON line: %q: %v", out.String(), err)
			}
			want := map[string]any{
				"level": tt.logAt.String(), "msg": "request", "service": "gateway", "method": "GET",
				"path": "/api/products/7", "status": float64(tt.status), "duration": float64(1500000),
				"request_id": "0123456789abcdef0123456789abcdef",
			}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("%s = %#v, want %#v (line %s)", k, line[k], v, out.String())
				}
			}
			if _, ok := line["time"]; !ok {
				t.Errorf("no time in %s", out.String())
			}
			if _, ok := line["source"]; ok {
				t.Errorf("a source position in %s", out.String())
			}
		})
	}
}

// BenchmarkLogRequest: one access line through the services' buffered logger,
// whose access lines are encoded without slog (logging.Request), and through
// an unbuffered one, through slog (go test -bench LogRequest -benchmem ./internal/app).
func BenchmarkLogRequest(b *testing.B) {
	ctx := reqid.With(context.Background(), "0123456789abcdef0123456789abcdef")
	buffered, closeLog := logging.NewBuffered(io.Discard, "info", "gateway")
	defer closeLog()
	for _, bc := range []struct {
		name string
		log  *slog.Logger
	}{{"buffered", buffered}, {"slog", logging.New(io.Discard, "info", "gateway")}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				LogRequest(ctx, bc.log, slog.LevelInfo, "GET", "/api/products/7", 200, 1500*time.Microsecond)
			}
		})
	}
}
