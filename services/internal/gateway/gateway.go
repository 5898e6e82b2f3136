// Package gateway is the single entry point: it routes /api/users/*,
// /api/products/* and /api/orders/* to the services, verifies JWTs, limits
// each client's request rate, breaks circuits to failing upstreams and
// passes X-Request-ID on.
package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"shop/internal/auth"
	"shop/internal/httpx"
	"shop/internal/reqid"
)

// Headers the gateway sets for upstreams from a verified token; any copies
// sent by clients are removed.
const (
	UserIDHeader    = "X-User-ID"
	UserEmailHeader = "X-User-Email"
)

// Gateway is the gateway's HTTP handler set.
type Gateway struct {
	Keys    *TokenCache
	Limiter *Limiter
	Log     *slog.Logger
	Users   *Upstream
	Product *Upstream
	Orders  *Upstream
	// TrustedProxyHops is how many proxies in front of the gateway append to
	// X-Forwarded-For; anonymous clients are rate limited by the address that
	// many entries from the right (0: the TCP peer). See ClientIP.
	TrustedProxyHops int
	// UpstreamTimeout bounds each proxied exchange on the engine's fast path
	// (the net/http forwarder's transport has its own).
	UpstreamTimeout time.Duration
	// RateLimited counts requests refused with 429; AuthFailures those refused with 401;
	// UpstreamErrors proxy failures by upstream and reason.
	RateLimited    prometheus.Counter
	AuthFailures   prometheus.Counter
	UpstreamErrors *prometheus.CounterVec
}

// upstreams are the gateway's upstreams.
func (g *Gateway) upstreams() []*Upstream { return []*Upstream{g.Users, g.Product, g.Orders} }

// route is one of the gateway's proxied routes: its ServeMux pattern (also
// its metrics route label) and the upstream it goes to.
type route struct {
	pattern  string
	upstream func(*Gateway) *Upstream
}

// routes are the proxied routes, for the mux (Routes) and the engine's fast
// path (matchRoute) alike.
var routes = [...]route{
	{"/api/users/", func(g *Gateway) *Upstream { return g.Users }},
	{"/api/products", func(g *Gateway) *Upstream { return g.Product }},
	{"/api/products/", func(g *Gateway) *Upstream { return g.Product }},
	{"/api/orders", func(g *Gateway) *Upstream { return g.Orders }},
	{"/api/orders/", func(g *Gateway) *Upstream { return g.Orders }},
}

// matchRoute is the route the mux gives path p: a pattern ending in '/'
// matches its subtree, any other only itself (the patterns do not overlap).
func matchRoute(p string) (*route, bool) {
	for i := range routes {
		r := &routes[i]
		if r.pattern == p || (strings.HasSuffix(r.pattern, "/") && strings.HasPrefix(p, r.pattern)) {
			return r, true
		}
	}
	return nil, false
}

type ctxKey int

const stateKey ctxKey = 0

// Public reports whether method+path may be called without a token:
// register, login and product reads.
func Public(method, p string) bool {
	switch {
	case method == http.MethodPost && (p == "/api/users/register" || p == "/api/users/login"):
		return true
	case method == http.MethodGet || method == http.MethodHead:
		if p == "/api/products" || p == "/api/products/" {
			return true
		}
		if rest, ok := strings.CutPrefix(p, "/api/products/"); ok && rest != "" && !strings.Contains(rest, "/") {
			return true
		}
	}
	return false
}

// Routes registers the proxied prefixes.
func (g *Gateway) Routes(mux *http.ServeMux) {
	forwarders := map[*Upstream]*forwarder{}
	for _, r := range routes {
		u := r.upstream(g)
		if forwarders[u] == nil {
			forwarders[u] = g.proxy(u)
		}
		mux.Handle(r.pattern, g.guard(forwarders[u]))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, http.StatusNotFound, "not_found", "no route for "+r.URL.Path)
	})
}

// canonical rejects paths a backend could read differently from the gateway:
// dot segments, empty segments, encoded slashes, control bytes.
func canonical(r *http.Request) bool {
	p := r.URL.Path
	if p == "" || p[0] != '/' || strings.Contains(p, "//") {
		return false
	}
	if c := path.Clean(p); c != p && c+"/" != p {
		return false
	}
	if r.URL.RawPath != "" && strings.Contains(strings.ToLower(r.URL.RawPath), "%2f") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	return true
}

// Canonical answers 400 to non-canonical paths and passes the rest on. It
// must run before the ServeMux, which would redirect them instead.
func (g *Gateway) Canonical(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !canonical(r) {
			httpx.WriteError(w, http.StatusBadRequest, "bad_path", "the request path is not canonical")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientBody remembers a failure reading the client's request body, so a
// malformed body is answered 400 and not blamed on the upstream.
type clientBody struct {
	rc  io.ReadCloser
	err atomic.Pointer[error]
}

func (c *clientBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if err != nil && err != io.EOF {
		c.err.Store(&err)
	}
	return n, err
}

func (c *clientBody) Close() error { return c.rc.Close() }

// reqState is what guard learned about a request, for the proxy stages.
type reqState struct {
	claims *auth.Claims
	body   *clientBody
}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey).(*reqState)
	return st
}

// clientBodyFailed reports whether reading the client's body failed.
func clientBodyFailed(ctx context.Context) bool {
	st := stateOf(ctx)
	return st != nil && st.body != nil && st.body.err.Load() != nil
}

// refusal is an answer the gateway makes itself instead of proxying: status,
// an optional header (WWW-Authenticate, Retry-After) and the JSON error.
type refusal struct {
	status              int
	header, headerValue string
	code, msg           string
}

func (f *refusal) write(w http.ResponseWriter) {
	if f.header != "" {
		w.Header().Set(f.header, f.headerValue)
	}
	httpx.WriteError(w, f.status, f.code, f.msg)
}

// admit is guard's decision for a request: the verified token's claims (nil
// for an anonymous request), or the refusal (401, 429). authorization is the
// Authorization header; clientIP is called only for anonymous requests.
func (g *Gateway) admit(authorization, method, path string, clientIP func() string) (*auth.Claims, *refusal) {
	var claims *auth.Claims
	if authorization != "" {
		if tok, err := auth.BearerToken(authorization); err == nil {
			claims, _ = g.Keys.Parse(tok)
		}
	}
	if claims == nil && !Public(method, path) {
		g.AuthFailures.Inc()
		return nil, &refusal{http.StatusUnauthorized, "WWW-Authenticate", `Bearer realm="shop"`,
			"unauthorized", "a valid bearer token is required"}
	}
	key := ""
	if claims != nil {
		key = "u:" + claims.Subject
	} else {
		key = "ip:" + clientIP()
	}
	if ok, wait := g.Limiter.Allow(key); !ok {
		g.RateLimited.Inc()
		return nil, &refusal{http.StatusTooManyRequests, "Retry-After", RetryAfter(wait),
			"rate_limited", "too many requests; retry after the Retry-After seconds"}
	}
	return claims, nil
}

// guard authenticates and rate-limits before proxying.
func (g *Gateway) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, refused := g.admit(r.Header.Get("Authorization"), r.Method, r.URL.Path,
			func() string { return ClientIP(r, g.TrustedProxyHops) })
		if refused != nil {
			refused.write(w)
			return
		}
		st := &reqState{claims: claims}
		if r.Body != nil && r.Body != http.NoBody {
			st.body = &clientBody{rc: r.Body}
			r.Body = st.body
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey, st)))
	})
}

// ClientIP is the address the request came from, given that hops proxies
// in front of the gateway each append the address of their peer to
// X-Forwarded-For: the hops-th entry from the right. Entries further left
// were sent by the client and are never trusted. With hops 0, with fewer
// entries than hops (the request bypassed a proxy) or with an entry that is
// not an IP address, it is the TCP peer's address.
func ClientIP(r *http.Request, hops int) string {
	return clientIP(r.Header.Values("X-Forwarded-For"), r.RemoteAddr, hops)
}

// clientIP is ClientIP from the X-Forwarded-For values and the peer's host:port.
func clientIP(forwardedFor []string, remoteAddr string, hops int) string {
	if hops > 0 {
		var entries []string
		for _, v := range forwardedFor {
			entries = append(entries, strings.Split(v, ",")...)
		}
		if len(entries) >= hops {
			if ip := strings.TrimSpace(entries[len(entries)-hops]); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

var bufPool = &bytePool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bytePool struct{ p sync.Pool }

func (b *bytePool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bytePool) Put(x []byte) { b.p.Put(&x) }

// proxy is the handler that forwards to u: the lean forwarder (forward.go),
// with httputil.ReverseProxy kept for protocol upgrades.
func (g *Gateway) proxy(u *Upstream) *forwarder {
	return &forwarder{g: g, u: u, upgrades: g.reverseProxy(u), onError: g.proxyError(u)}
}

// reverseProxy forwards requests that switch protocols (Upgrade), which the
// lean forwarder leaves to httputil.ReverseProxy.
func (g *Gateway) reverseProxy(u *Upstream) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The upstream picks the backend; Scheme/Host are placeholders.
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = u.Name
			pr.Out.Host = ""
			pr.SetXForwarded()
			pr.Out.Header.Del(UserIDHeader)
			pr.Out.Header.Del(UserEmailHeader)
			if st := stateOf(pr.In.Context()); st != nil && st.claims != nil {
				c := st.claims
				pr.Out.Header[UserIDHeader] = []string{c.Subject}
				pr.Out.Header[UserEmailHeader] = []string{c.Email}
			}
			if id := reqid.From(pr.In.Context()); id != "" {
				pr.Out.Header[reqid.Header] = []string{id}
			}
		},
		// The gateway already answers with the request's ID (the same one it passed upstream): the
		// upstream's copy would make the header appear twice on the client's response.
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Del(reqid.Header)
			return nil
		},
		Transport:    u,
		BufferPool:   bufPool,
		ErrorLog:     slog.NewLogLogger(g.Log.Handler(), slog.LevelDebug),
		ErrorHandler: g.proxyError(u),
	}
}

// isConnectFailure reports whether err is a failure to open the connection to the upstream, so that
// no byte of the request reached it.
func isConnectFailure(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}

func (g *Gateway) proxyError(u *Upstream) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		switch {
		case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
			w.WriteHeader(499) // client closed the request
		case clientBodyFailed(r.Context()):
			httpx.WriteError(w, http.StatusBadRequest, "bad_body", "the request body could not be read: "+err.Error())
		default:
			g.upstreamFailure(r.Context(), u, err).write(w)
		}
	}
}

// upstreamFailure is the answer to a request u could not answer (err from
// its RoundTrip or Do), counted by reason.
func (g *Gateway) upstreamFailure(ctx context.Context, u *Upstream, err error) *refusal {
	switch {
	case errors.Is(err, ErrBreakerOpen):
		g.UpstreamErrors.WithLabelValues(u.Name, "breaker_open").Inc()
		return &refusal{http.StatusServiceUnavailable, "Retry-After", strconv.Itoa(max(1, int(DefaultBreaker.OpenFor.Seconds()))),
			"upstream_unavailable", u.Name + " service is unavailable; retry shortly"}
	case isConnectFailure(err):
		// No instance took the connection (refused, or no answer to the dial): on Kubernetes, a
		// Service without a ready endpoint, e.g. while the service's database is down. That is
		// unavailability (retry shortly), not a bad answer (502) nor a slow one (504).
		g.UpstreamErrors.WithLabelValues(u.Name, "connect").Inc()
		g.Log.WarnContext(ctx, "upstream unavailable", "upstream", u.Name, "err", err)
		return &refusal{http.StatusServiceUnavailable, "Retry-After", "1",
			"upstream_unavailable", u.Name + " service is unavailable; retry shortly"}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fasthttp.ErrTimeout) || isTimeout(err):
		g.UpstreamErrors.WithLabelValues(u.Name, "timeout").Inc()
		return &refusal{status: http.StatusGatewayTimeout, code: "upstream_timeout", msg: u.Name + " service did not answer in time"}
	default:
		g.UpstreamErrors.WithLabelValues(u.Name, "error").Inc()
		g.Log.WarnContext(ctx, "upstream error", "upstream", u.Name, "err", err)
		return &refusal{status: http.StatusBadGateway, code: "upstream_error", msg: u.Name + " service could not be reached"}
	}
}
