package app

import (
	"bytes"
	"context"
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
