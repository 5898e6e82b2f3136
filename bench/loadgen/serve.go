package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// runServe is the steady upstream (see the package comment): the same
// answer to every GET, from memory, with keep-alive and no logging.
func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "", "listen address, host:port on 127.0.0.1")
	bodyFile := fs.String("body", "", "file whose bytes are the answer's body")
	ctype := fs.String("content-type", "application/json", "the answer's Content-Type")
	_ = fs.Parse(args)
	if *addr == "" || *bodyFile == "" {
		return errors.New("serve: -addr and -body are required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("serve: -addr %q must be a loopback host:port (127.0.0.1:PORT)", *addr)
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return fmt.Errorf("serve: -body: %w", err)
	}
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		w.Header()["Content-Type"] = []string{*ctype}
		w.Header()["Content-Length"] = []string{length}
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}
