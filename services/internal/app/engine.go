package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/httpserver"
	"shop/internal/httpx"
	"shop/internal/metrics"
	"shop/internal/reqid"
)

// Engine is implemented by a service that serves its listener with its own
// HTTP server instead of net/http's (the gateway: fasthttp for the requests it
// proxies). It must keep httpserver.Serve's contract: the timeouts of o, and
// when ctx ends o.OnShutdown, the drain (serving on, each answer closing its
// connection), then a graceful stop within o.ShutdownTimeout.
type Engine interface {
	Serve(ctx context.Context, ln net.Listener, c Chain, o httpserver.Options) error
}

// Chain is what an Engine gets from Run: the service's whole net/http
// handler chain, for every request the engine does not serve itself, and the
// shared pieces that chain is made of, so what it serves itself gets the same
// treatment (version header, request id, access log, metrics, fault injection).
type Chain struct {
	// Handler is the full chain: version header, panic recovery, request id,
	// access log, metrics, fault injection, the service's Wrap and its mux.
	Handler http.Handler
	// Version is this build's VersionHeader value, "<service>=<version>".
	Version string
	Log     *slog.Logger
	Metrics *metrics.HTTP
	// Fault reports whether to answer this request with an injected fault
	// (FAULT_ERROR_RATIO; see Faults); nil when fault injection is off.
	Fault func() bool
}

// NewChain wraps inner (the service's mux, behind its Wrap and the request
// deadline) in the middleware every service shares, outermost first: the
// version header, panic recovery, the request id, the access log, metrics,
// fault injection (a share faultRatio of requests, drawn with rnd).
func NewChain(name, version string, log *slog.Logger, reg prometheus.Registerer, faultRatio float64, rnd func() float64, inner http.Handler) Chain {
	m := metrics.NewHTTP(reg)
	c := Chain{
		Handler: Version(name, version, httpx.Recover(log, reqid.Middleware(AccessLog(log, m.Middleware(Faults(faultRatio, rnd, inner)))))),
		Version: name + "=" + version,
		Log:     log,
		Metrics: m,
	}
	if faultRatio > 0 {
		c.Fault = func() bool { return rnd() < faultRatio }
	}
	return c
}
