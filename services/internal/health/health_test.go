package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

func TestReadyzReportsEachCheckAndShutdown(t *testing.T) {
	cases := []struct {
		name     string
		checks   map[string]func(context.Context) error
		shutdown bool
		status   int
		failed   []string
	}{
		{"no checks", nil, false, 200, nil},
		{"all pass", map[string]func(context.Context) error{"mysql": func(context.Context) error { return nil }}, false, 200, nil},
		{"one fails", map[string]func(context.Context) error{
			"mysql": func(context.Context) error { return nil },
			"redis": func(context.Context) error { return errors.New("connection refused") },
		}, false, 503, []string{"redis"}},
		{"a hung check times out", map[string]func(context.Context) error{
			"slow": func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		}, false, 503, []string{"slow"}},
		{"shutting down", map[string]func(context.Context) error{"mysql": func(context.Context) error { return nil }}, true, 503, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			for n, f := range tc.checks {
				c.Add(n, f)
			}
			if tc.shutdown {
				c.ShuttingDown()
			}
			w := httptest.NewRecorder()
			start := time.Now()
			c.Readyz(w, httptest.NewRequest("GET", "/readyz", nil))
			if d := time.Since(start); d > CheckTimeout+500*time.Millisecond {
				t.Errorf("readyz took %s", d)
			}
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			var res Result
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.failed {
				if res.Checks[f] == "ok" || res.Checks[f] == "" {
					t.Errorf("check %s reported %q", f, res.Checks[f])
				}
			}
		})
	}
}

func TestHealthzReportsTheVersion(t *testing.T) {
	for _, v := range []string{"sha256:0123abcd", "dev"} {
		w := httptest.NewRecorder()
		Healthz(v)(w, httptest.NewRequest("GET", "/healthz", nil))
		var res Result
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		if w.Code != 200 || res.Status != "ok" || res.Version != v {
			t.Errorf("version %q: %d %+v", v, w.Code, res)
		}
	}
}
