// Package httpserver runs an http.Server with timeouts and a graceful stop:
// when ctx ends, readiness turns 503, the server keeps serving for the drain
// period, then stops accepting, lets in-flight requests finish and returns.
package httpserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Options are the server's timeouts and shutdown behaviour.
type Options struct {
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 30s
	WriteTimeout      time.Duration // default 30s
	IdleTimeout       time.Duration // default 120s
	ShutdownTimeout   time.Duration // total grace period after ctx ends
	Drain             time.Duration // part of it spent still serving with readiness 503
	// OnShutdown runs first when ctx ends (e.g. make /readyz answer 503).
	OnShutdown func()
}

// WithDefaults fills the zero durations with the defaults above.
func (o Options) WithDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, 5*time.Second)
	def(&o.ReadTimeout, 30*time.Second)
	def(&o.WriteTimeout, 30*time.Second)
	def(&o.IdleTimeout, 120*time.Second)
	def(&o.ShutdownTimeout, 20*time.Second)
	return o
}

// New returns an http.Server for h with the option timeouts.
func New(h http.Handler, log *slog.Logger, o Options) *http.Server {
	o = o.WithDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Server is what Serve runs: an *http.Server, or another engine behind the
// same four methods (the gateway's fasthttp engine).
type Server interface {
	// Serve serves ln until Shutdown or Close; after Shutdown it returns nil or http.ErrServerClosed.
	Serve(ln net.Listener) error
	// SetKeepAlivesEnabled(false): every answer from now on closes its connection.
	SetKeepAlivesEnabled(on bool)
	// Shutdown stops accepting, closes idle connections and waits for in-flight requests until ctx ends.
	Shutdown(ctx context.Context) error
	// Close stops at once, after a Shutdown that timed out.
	Close() error
}

var _ Server = (*http.Server)(nil)

// Serve serves on ln until ctx ends, then shuts down gracefully. It returns
// nil after a clean shutdown, or the error that stopped the server.
func Serve(ctx context.Context, ln net.Listener, srv Server, log *slog.Logger, o Options) error {
	o = o.WithDefaults()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	start := time.Now()
	log.Info("shutting down", "drain", o.Drain.String(), "timeout", o.ShutdownTimeout.String())
	// From now on every answer closes its connection, so a peer that still sends here (a proxy whose
	// view of the endpoints lags) opens its next connection elsewhere during the drain, instead of
	// finding its idle keep-alive connection closed under a request when the server shuts down (a
	// proxy cannot replay a POST on another connection, so that request would fail).
	srv.SetKeepAlivesEnabled(false)
	if o.OnShutdown != nil {
		o.OnShutdown()
	}
	if o.Drain > 0 {
		time.Sleep(o.Drain)
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout-time.Since(start))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return errors.Join(errors.New("in-flight requests did not finish within the shutdown timeout"), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped", "took", time.Since(start).String())
	return nil
}
