package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"shop/internal/config"
)

type nopService struct{}

func (nopService) Routes(*http.ServeMux) {}
func (nopService) Close()                {}

func TestAConfigErrorExits1WithOneLineNamingTheVariable(t *testing.T) {
	build := func(l *config.Loader) func(context.Context, *Env) (Service, error) {
		l.Required("MYSQL_HOST")
		return func(context.Context, *Env) (Service, error) { return nopService{}, nil }
	}
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "MYSQL_HOST: is required"},
		{map[string]string{"MYSQL_HOST": "db", "SHUTDOWN_TIMEOUT": "forever"}, "SHUTDOWN_TIMEOUT"},
		{map[string]string{"MYSQL_HOST": "db", "LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"MYSQL_HOST": "db", "HTTP_ADDR": "nowhere"}, "HTTP_ADDR"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), "test", func(k string) string { return tc.env[k] }, &out, &errOut, build, Options{})
		line := errOut.String()
		if code != 1 || !strings.Contains(line, tc.want) || strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "test: ") {
			t.Errorf("env %v: exit %d, stderr %q; want 1 and one line naming %s", tc.env, code, line, tc.want)
		}
	}
}

func TestRunServesCommonEndpointsAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	env := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "SHUTDOWN_DRAIN": "0s"}
	done := make(chan int, 1)
	built := make(chan struct{})
	go func() {
		done <- Run(ctx, "test", func(k string) string { return env[k] }, &out, &errOut, func(*config.Loader) func(context.Context, *Env) (Service, error) {
			return func(context.Context, *Env) (Service, error) { close(built); return nopService{}, nil }
		}, Options{})
	}()
	<-built
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after a clean stop: %s %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), `"msg":"stopped"`) {
		t.Errorf("no JSON stop log: %s", out.String())
	}
}

func TestEveryCallsAfterEachIntervalAndStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, 5*time.Millisecond, func(context.Context) { calls <- struct{}{} })
	}()
	select {
	case <-calls:
	case <-time.After(2 * time.Second):
		t.Fatal("fn was never called")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
}

// deadlineService answers GET /left with how long its request context has left ("none" without a deadline).
type deadlineService struct{}

func (deadlineService) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /left", func(w http.ResponseWriter, r *http.Request) {
		dl, ok := r.Context().Deadline()
		if !ok {
			_, _ = w.Write([]byte("none"))
			return
		}
		_, _ = w.Write([]byte(time.Until(dl).String()))
	})
}
func (deadlineService) Close() {}

func TestRequestTimeoutBoundsEveryBackendRequestButNotTheGateways(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		opts    Options
		atLeast time.Duration // 0: no deadline
		atMost  time.Duration
	}{
		{"default", map[string]string{}, Options{}, 7 * time.Second, config.DefaultRequestTimeout},
		{"REQUEST_TIMEOUT=1500ms", map[string]string{"REQUEST_TIMEOUT": "1500ms"}, Options{}, time.Second, 1500 * time.Millisecond},
		{"the gateway opts out", map[string]string{"REQUEST_TIMEOUT": "1500ms"}, Options{NoRequestTimeout: true}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, body := startApp(t, "test", tc.env, deadlineService{}, tc.opts).get("/left")
			if tc.atLeast == 0 {
				if body != "none" {
					t.Fatalf("request had a deadline %s left, want none", body)
				}
				return
			}
			left, err := time.ParseDuration(body)
			if err != nil || left < tc.atLeast || left > tc.atMost {
				t.Fatalf("request deadline %q away, want %s..%s", body, tc.atLeast, tc.atMost)
			}
		})
	}
}

func TestABadRequestTimeoutExits1NamingIt(t *testing.T) {
	var out, errOut bytes.Buffer
	env := map[string]string{"REQUEST_TIMEOUT": "8"}
	code := Run(context.Background(), "test", func(k string) string { return env[k] }, &out, &errOut, func(*config.Loader) func(context.Context, *Env) (Service, error) {
		return func(context.Context, *Env) (Service, error) { return nopService{}, nil }
	}, Options{})
	if code != 1 || !strings.Contains(errOut.String(), "REQUEST_TIMEOUT: must be a Go duration") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

// panicService panics on GET /boom and answers 204 on GET /ok.
type panicService struct{}

func (panicService) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
}
func (panicService) Close() {}

func TestEveryResponseNamesTheBuildAndHealthzReportsIt(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		name    string
		env     map[string]string
		version string
	}{
		{"SERVICE_VERSION set by the program (the image digest)", map[string]string{"SERVICE_VERSION": digest}, digest},
		{"unset: dev", map[string]string{}, config.DefaultVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			get := startApp(t, "product", tc.env, panicService{}, Options{}).get
			for _, p := range []struct {
				path   string
				status int
			}{{"/healthz", 200}, {"/readyz", 200}, {"/metrics", 200}, {"/ok", 204}, {"/nowhere", 404}, {"/boom", 500}} {
				resp, _ := get(p.path)
				if resp.StatusCode != p.status {
					t.Errorf("%s: status %d, want %d", p.path, resp.StatusCode, p.status)
				}
				if got := resp.Header.Values(VersionHeader); len(got) != 1 || got[0] != "product="+tc.version {
					t.Errorf("%s: %s %q, want one value %q", p.path, VersionHeader, got, "product="+tc.version)
				}
			}
			_, body := get("/healthz")
			var h struct{ Status, Version string }
			if err := json.Unmarshal([]byte(body), &h); err != nil || h.Status != "ok" || h.Version != tc.version {
				t.Errorf("/healthz body %s: want status ok and version %q (%v)", body, tc.version, err)
			}
		})
	}
}

func TestABadServiceVersionExits1NamingIt(t *testing.T) {
	cases := []string{"has space", "line\nbreak", "x=y", strings.Repeat("a", 129)}
	for _, v := range cases {
		var out, errOut bytes.Buffer
		env := map[string]string{"SERVICE_VERSION": v}
		code := Run(context.Background(), "test", func(k string) string { return env[k] }, &out, &errOut, func(*config.Loader) func(context.Context, *Env) (Service, error) {
			return func(context.Context, *Env) (Service, error) { return nopService{}, nil }
		}, Options{})
		if code != 1 || !strings.Contains(errOut.String(), "SERVICE_VERSION: must be 1 to 128 characters") {
			t.Errorf("SERVICE_VERSION=%q: exit %d, stderr %q", v, code, errOut.String())
		}
	}
}
