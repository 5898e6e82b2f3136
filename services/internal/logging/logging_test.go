package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"shop/internal/reqid"
)

func TestRecordsCarryServiceAndRequestIDAsJSON(t *testing.T) {
	cases := []struct {
		name, level string
		ctx         context.Context
		logDebug    bool
		wantID      string
	}{
		{"with a request id", "info", reqid.With(context.Background(), "req-1"), false, "req-1"},
		{"without one", "info", context.Background(), false, ""},
		{"debug filtered at info", "info", context.Background(), true, ""},
		{"bad level falls back to info", "loud", context.Background(), false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, tc.level, "svc").With("k", "v")
			if tc.logDebug {
				log.DebugContext(tc.ctx, "hidden")
				if buf.Len() != 0 {
					t.Fatalf("debug record written at %s: %s", tc.level, buf.String())
				}
				return
			}
			log.InfoContext(tc.ctx, "hello")
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not JSON: %q", buf.String())
			}
			if rec["service"] != "svc" || rec["msg"] != "hello" || rec["k"] != "v" {
				t.Errorf("record %v", rec)
			}
			if id, _ := rec["request_id"].(string); id != tc.wantID {
				t.Errorf("request_id %q, want %q", id, tc.wantID)
			}
		})
	}
}
