package app

import (
	"bytes"
	"context"
	"io"
	"net"
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
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			env := map[string]string{"HTTP_ADDR": addr, "SHUTDOWN_DRAIN": "0s"}
			for k, v := range tc.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(context.Background())
			var out, errOut bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, "test", func(k string) string { return env[k] }, &out, &errOut, func(*config.Loader) func(context.Context, *Env) (Service, error) {
					return func(context.Context, *Env) (Service, error) { return deadlineService{}, nil }
				}, tc.opts)
			}()
			defer func() { cancel(); <-done }()
			var body string
			for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
				resp, err := http.Get("http://" + addr + "/left")
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body = string(b)
					break
				}
				if time.Since(start) > 5*time.Second {
					t.Fatalf("server never answered: %v %s", err, errOut.String())
				}
			}
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
