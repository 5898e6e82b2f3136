package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"shop/internal/config"
	"shop/internal/ittest"
)

// runningApp is Run serving svc on a free 127.0.0.1 port, stopped when the test ends.
type runningApp struct {
	t        *testing.T
	addr     string
	out, err *ittest.LockedBuffer
}

// startApp runs the app named name with env (plus HTTP_ADDR on a free port and SHUTDOWN_DRAIN=0s).
func startApp(t *testing.T, name string, env map[string]string, svc Service, opts Options) *runningApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &runningApp{t: t, addr: ln.Addr().String(), out: &ittest.LockedBuffer{}, err: &ittest.LockedBuffer{}}
	ln.Close()
	all := map[string]string{"HTTP_ADDR": a.addr, "SHUTDOWN_DRAIN": "0s"}
	for k, v := range env {
		all[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, name, func(k string) string { return all[k] }, a.out, a.err, func(*config.Loader) func(context.Context, *Env) (Service, error) {
			return func(context.Context, *Env) (Service, error) { return svc, nil }
		}, opts)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

// get answers GET path once the server listens (at most 5 s), with the response body read.
func (a *runningApp) get(path string) (*http.Response, string) {
	a.t.Helper()
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + a.addr + path)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(b)
		}
		if time.Since(start) > 5*time.Second {
			a.t.Fatalf("server never answered %s: %v %s", path, err, a.err.String())
		}
	}
}
