// Package app is the life cycle every service's main shares: read and check
// the configuration, build the service, serve HTTP with the common endpoints
// and middleware, run background workers, and stop gracefully on SIGTERM.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"shop/internal/config"
	"shop/internal/health"
	"shop/internal/httpserver"
	"shop/internal/logging"
	"shop/internal/metrics"
)

// Env is what a service gets to build itself.
type Env struct {
	Name    string
	Log     *slog.Logger
	Reg     prometheus.Registerer
	Ready   *health.Checker
	Common  config.Common
	Workers *Workers
}

// Service is a built service.
type Service interface {
	// Routes registers the service's handlers.
	Routes(mux *http.ServeMux)
	// Close releases connections after the server and workers stopped.
	Close()
}

// Wrapper is implemented by a service that must see requests before the
// ServeMux does (which cleans paths and redirects); it must pass the same
// *http.Request on to the mux.
type Wrapper interface {
	Wrap(mux http.Handler) http.Handler
}

// Build reads the service's own variables through l (errors are collected by
// l) and returns the constructor that runs once the whole config is valid.
type Build func(l *config.Loader) func(ctx context.Context, env *Env) (Service, error)

// Options tune the HTTP server for one service.
type Options struct {
	// WriteTimeout overrides the 30s default (the gateway needs more than its upstream timeout).
	WriteTimeout time.Duration
	// NoRequestTimeout skips REQUEST_TIMEOUT: for the gateway, whose
	// UPSTREAM_TIMEOUT bounds each request it proxies.
	NoRequestTimeout bool
}

// Main runs service name and returns the process exit code.
func Main(name string, build Build, o Options) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return Run(ctx, name, os.Getenv, os.Stdout, os.Stderr, build, o)
}

// Run is Main with its inputs explicit: it returns when ctx ends and the
// service has stopped, or at once with 1 on a configuration error.
func Run(ctx context.Context, name string, getenv func(string) string, stdout, stderr io.Writer, build Build, o Options) int {
	l := config.New(getenv)
	common := l.LoadCommon()
	var requestTimeout time.Duration
	if !o.NoRequestTimeout {
		requestTimeout = l.RequestTimeout()
	}
	// Fault injection (off by default): a drill of the canary analysis, see Faults.
	faultRatio := l.Float("FAULT_ERROR_RATIO", 0, 0, 1)
	construct := build(l)
	if err := l.Err(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	// Buffered: the access log of a busy service is written in batches, warnings and errors at once.
	log, closeLog := logging.NewBuffered(stdout, common.LogLevel, name)
	defer func() { _ = closeLog() }()
	reg := metrics.NewRegistry()
	env := &Env{Name: name, Log: log, Reg: reg, Ready: health.New(), Common: common, Workers: &Workers{log: log}}

	bgCtx, cancelBg := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBg()
	svc, err := construct(bgCtx, env)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", health.Healthz(common.Version))
	mux.HandleFunc("GET /readyz", env.Ready.Readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	svc.Routes(mux)
	var inner http.Handler = mux
	if w, ok := svc.(Wrapper); ok {
		inner = w.Wrap(mux)
	}
	if requestTimeout > 0 {
		inner = Deadline(requestTimeout, inner)
	}
	if faultRatio > 0 {
		log.Warn("fault injection is on: answering 500 to a share of requests", "FAULT_ERROR_RATIO", faultRatio)
	}
	chain := NewChain(name, common.Version, log, reg, faultRatio, faultRand, inner)

	ln, err := net.Listen("tcp", common.HTTPAddr)
	if err != nil {
		log.Error("listen failed", "addr", common.HTTPAddr, "err", err)
		svc.Close()
		return 1
	}
	writeTimeout := o.WriteTimeout
	if requestTimeout > 0 {
		// A handler that used all of its budget still gets to write its answer.
		writeTimeout = max(writeTimeout, 30*time.Second, requestTimeout+5*time.Second)
	}
	so := httpserver.Options{
		WriteTimeout:    writeTimeout,
		ShutdownTimeout: common.ShutdownTimeout,
		Drain:           common.ShutdownDrain,
		OnShutdown:      env.Ready.ShuttingDown,
	}
	log.Info("starting", "version", common.Version)
	env.Workers.start(bgCtx)
	var serveErr error
	if e, ok := svc.(Engine); ok {
		serveErr = e.Serve(ctx, ln, chain, so)
	} else {
		serveErr = httpserver.Serve(ctx, ln, httpserver.New(chain.Handler, log, so), log, so)
	}
	cancelBg()
	env.Workers.wait()
	svc.Close()
	if serveErr != nil {
		log.Error("server stopped with an error", "err", serveErr)
		return 1
	}
	return 0
}

// VersionHeader names the build that answered: every response of every
// service carries one "<service>=<version>" value of its own. The gateway adds
// its value before proxying and the upstream's comes after it, so a response
// through the gateway names both builds (gateway first).
const VersionHeader = "X-Service-Version"

// Version adds "<name>=<version>" to VersionHeader of every response, panics
// and errors included.
func Version(name, version string, next http.Handler) http.Handler {
	value := name + "=" + version
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add(VersionHeader, value)
		next.ServeHTTP(w, r)
	})
}

// Deadline bounds every request's context to d (REQUEST_TIMEOUT): the
// handler and every call it makes give up by then, so the service answers
// before the gateway in front of it stops waiting.
func Deadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// AccessLog logs each request at info (probes and metrics scrapes at debug).
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &metrics.StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		LogRequest(r.Context(), log, level, r.Method, r.URL.Path, rec.Status(), time.Since(start))
	})
}

// LogRequest writes one request's access log line (method, path, status,
// duration; the request id comes from ctx), for AccessLog and for a server
// that does not go through it (the gateway's fast path).
//
// logging.Request writes it: without a source position (Logger.LogAttrs
// would look up its caller's program counter on every request, 2 % of the
// gateway's CPU under bench/gateway.sh), and on the services' buffered
// logger encoded without slog's record machinery.
func LogRequest(ctx context.Context, log *slog.Logger, level slog.Level, method, path string, status int, d time.Duration) {
	logging.Request(ctx, log, level, method, path, status, d)
}

// Workers are the service's background loops; they stop after the HTTP server.
type Workers struct {
	log *slog.Logger
	mu  sync.Mutex
	fns []namedWorker
	wg  sync.WaitGroup
}

type namedWorker struct {
	name string
	fn   func(context.Context)
}

// Go registers a loop that runs until its context ends.
func (w *Workers) Go(name string, fn func(context.Context)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fns = append(w.fns, namedWorker{name, fn})
}

func (w *Workers) start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, nw := range w.fns {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			nw.fn(ctx)
			w.log.Debug("worker stopped", "worker", nw.name)
		}()
	}
}

func (w *Workers) wait() { w.wg.Wait() }

// Every calls fn once per interval, after the first interval has passed, until ctx ends.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// Retry calls fn until it succeeds or ctx ends, backing off from 200ms to 5s.
func Retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error) error {
	delay := 200 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		log.Warn(what+" failed; retrying", "err", err, "in", delay.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}
