package gateway

import (
	"context"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/app"
	"shop/internal/auth"
	"shop/internal/config"
)

// Config is the gateway's own configuration.
type Config struct {
	JWTSecret                        string
	UserURLs, ProductURLs, OrderURLs []*url.URL
	RateLimitRPS                     float64
	RateLimitBurst                   int
	UpstreamTimeout                  time.Duration
	TrustedProxyHops                 int
	// GOGCSet: GOGC is in the environment; otherwise Build sets the GC target to GatewayGOGC.
	GOGCSet bool
}

// GatewayGOGC is the gateway's GC target when GOGC is not set: its live heap
// is a few MiB and each proxied request allocates about 12 KiB, so the
// default of 100 runs a collection every few hundred requests; 400 runs a
// quarter as many. The heap stays bounded by GOMEMLIMIT, which the
// deployment sets from the container's memory limit.
const GatewayGOGC = 400

// LoadConfig reads JWT_SECRET, USER_URL, PRODUCT_URL, ORDER_URL (each one
// base URL, or several separated by commas to balance over), RATE_LIMIT_RPS,
// RATE_LIMIT_BURST, UPSTREAM_TIMEOUT and TRUSTED_PROXY_HOPS.
func LoadConfig(l *config.Loader) Config {
	return Config{
		JWTSecret:       l.Secret("JWT_SECRET", auth.MinSecretLen),
		UserURLs:        l.URLs("USER_URL"),
		ProductURLs:     l.URLs("PRODUCT_URL"),
		OrderURLs:       l.URLs("ORDER_URL"),
		RateLimitRPS:    l.Float("RATE_LIMIT_RPS", 50, 0.01, 1e7),
		RateLimitBurst:  l.Int("RATE_LIMIT_BURST", 100, 1, 10_000_000),
		UpstreamTimeout: l.Duration("UPSTREAM_TIMEOUT", 10*time.Second, 100*time.Millisecond, 5*time.Minute),
		// One proxy (the ingress controller) appends to X-Forwarded-For by default.
		TrustedProxyHops: l.Int("TRUSTED_PROXY_HOPS", 1, 0, 10),
		GOGCSet:          l.String("GOGC", "") != "",
	}
}

type service struct {
	g  *Gateway
	tr http.RoundTripper
}

func (s *service) Routes(mux *http.ServeMux) { s.g.Routes(mux) }

// Close closes the idle upstream connections (after the server has stopped).
func (s *service) Close() {
	for _, u := range s.g.upstreams() {
		u.closeIdleFast()
	}
	if ci, ok := s.tr.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Wrap rejects non-canonical paths before the ServeMux would redirect them.
func (s *service) Wrap(mux http.Handler) http.Handler { return s.g.Canonical(mux) }

// Options are the gateway's server options: writes may take the upstream timeout and then some.
func Options(getenv func(string) string) app.Options {
	l := config.New(getenv)
	t := l.Duration("UPSTREAM_TIMEOUT", 10*time.Second, 100*time.Millisecond, 5*time.Minute)
	// Its upstream timeout bounds each request: no REQUEST_TIMEOUT of its own.
	return app.Options{WriteTimeout: t + 5*time.Second, NoRequestTimeout: true}
}

// Build is the gateway for app.Main.
func Build(l *config.Loader) func(context.Context, *app.Env) (app.Service, error) {
	c := LoadConfig(l)
	return func(ctx context.Context, env *app.Env) (app.Service, error) {
		if !c.GOGCSet {
			debug.SetGCPercent(GatewayGOGC)
		}
		state := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_circuit_state", Help: "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.",
		}, []string{"upstream"})
		limited := prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_rate_limited_total", Help: "Requests refused with 429."})
		authFail := prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_auth_failures_total", Help: "Requests refused with 401 (missing or invalid token)."})
		upErrs := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_errors_total", Help: "Proxy failures by upstream and reason (breaker_open|connect|timeout|error).",
		}, []string{"upstream", "reason"})
		env.Reg.MustRegister(state, limited, authFail, upErrs)

		tr := NewTransport(c.UpstreamTimeout)
		lim := NewLimiter(c.RateLimitRPS, c.RateLimitBurst)
		env.Workers.Go("rate-limit-sweeper", func(ctx context.Context) {
			app.Every(ctx, time.Minute, func(context.Context) { lim.Sweep(10 * time.Minute) })
		})
		g := &Gateway{
			Keys: NewTokenCache(auth.NewKeys(c.JWTSecret, time.Hour), 100_000), Limiter: lim, Log: env.Log,
			TrustedProxyHops: c.TrustedProxyHops,
			UpstreamTimeout:  c.UpstreamTimeout,
			Users:            NewUpstream("user", c.UserURLs, tr, DefaultBreaker, state, env.Log),
			Product:          NewUpstream("product", c.ProductURLs, tr, DefaultBreaker, state, env.Log),
			Orders:           NewUpstream("order", c.OrderURLs, tr, DefaultBreaker, state, env.Log),
			RateLimited:      limited,
			AuthFailures:     authFail,
			UpstreamErrors:   upErrs,
		}
		return &service{g: g, tr: tr}, nil
	}
}
