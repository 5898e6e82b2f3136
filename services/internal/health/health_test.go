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
	fail := func(context.Context) error { return errors.New("connection refused") }
	pass := func(context.Context) error { return nil }
	cases := []struct {
		name       string
		checks     map[string]func(context.Context) error
		degradable map[string]func(context.Context) error
		shutdown   bool
		status     int
		failed     []string
		state      string
	}{
		{"no checks", nil, nil, false, 200, nil, "ok"},
		{"all pass", map[string]func(context.Context) error{"mysql": pass}, map[string]func(context.Context) error{"redis": pass}, false, 200, nil, "ok"},
		{"a required one fails", map[string]func(context.Context) error{"mysql": pass, "schema": fail}, nil, false, 503, []string{"schema"}, "unavailable"},
		{"a degradable one fails", map[string]func(context.Context) error{"mysql": pass}, map[string]func(context.Context) error{"redis": fail}, false, 200, []string{"redis"}, "degraded"},
		{"both kinds fail", map[string]func(context.Context) error{"mysql": fail}, map[string]func(context.Context) error{"redis": fail}, false, 503, []string{"mysql", "redis"}, "unavailable"},
		{"a hung check times out", map[string]func(context.Context) error{
			"slow": func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		}, nil, false, 503, []string{"slow"}, "unavailable"},
		{"shutting down", map[string]func(context.Context) error{"mysql": pass}, nil, true, 503, nil, "shutting down"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			for n, f := range tc.checks {
				c.Add(n, f)
			}
			for n, f := range tc.degradable {
				c.AddDegradable(n, f)
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
			if res.Status != tc.state {
				t.Errorf("status %q, want %q", res.Status, tc.state)
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
