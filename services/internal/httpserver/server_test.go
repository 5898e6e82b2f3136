package httpserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestShutdownWaitsForInFlightRequestsAndRefusesNewOnes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	release := make(chan struct{})
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var shutdownCalled atomic.Bool
	o := Options{ShutdownTimeout: 5 * time.Second, Drain: 100 * time.Millisecond, OnShutdown: func() { shutdownCalled.Store(true) }}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, New(h, log, o), log, o) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	time.Sleep(300 * time.Millisecond) // past the drain: the listener is closed
	if !shutdownCalled.Load() {
		t.Error("OnShutdown was not called")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("new connections are still accepted after the drain")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(release)
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestShutdownGivesUpAfterTheTimeout(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { close(started); time.Sleep(5 * time.Second) })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	o := Options{ShutdownTimeout: 300 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, New(h, log, o), log, o) }()
	go func() { _, _ = http.Get("http://" + ln.Addr().String()) }()
	<-started
	cancel()
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("Serve reported a clean stop although a request was cut off")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
}

func TestAnswersDuringTheDrainCloseTheirConnection(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	drainStarted := make(chan struct{})
	o := Options{ShutdownTimeout: 5 * time.Second, Drain: time.Second, OnShutdown: func() { close(drainStarted) }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, New(h, log, o), log, o) }()
	url := "http://" + ln.Addr().String()
	cases := []struct {
		when      string
		wantClose bool
	}{{"before shutdown", false}, {"during the drain", true}}
	for _, tc := range cases {
		if tc.wantClose {
			cancel()
			<-drainStarted // keep-alives are off before OnShutdown runs
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", tc.when, err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Close != tc.wantClose {
			t.Errorf("%s: the answer closes its connection: %v, want %v", tc.when, resp.Close, tc.wantClose)
		}
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
