package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"
)

// ErrBreakerOpen is returned while an upstream's circuit breaker is open.
var ErrBreakerOpen = errors.New("circuit breaker open")

// Upstream is one service behind the gateway: one or more backends (round
// robin, failing over on connection errors) and a circuit breaker.
type Upstream struct {
	Name     string
	backends []*url.URL
	next     atomic.Uint64
	tr       http.RoundTripper
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	// fast are the fasthttp clients of the backends (same order), for the
	// requests the gateway's engine proxies itself (fastpath.go).
	fast []*fasthttp.HostClient
}

// BreakerSettings tune every upstream's breaker.
type BreakerSettings struct {
	// OpenFor is how long the breaker stays open before probing again.
	OpenFor time.Duration
	// MinRequests and FailureRatio: trip when at least MinRequests were seen
	// in the window and this share of them failed...
	MinRequests  uint32
	FailureRatio float64
	// ...or after ConsecutiveFailures failures in a row.
	ConsecutiveFailures uint32
	// Window is the closed-state counting window.
	Window time.Duration
}

// DefaultBreaker is the breaker the gateway uses.
var DefaultBreaker = BreakerSettings{OpenFor: 3 * time.Second, MinRequests: 20, FailureRatio: 0.5, ConsecutiveFailures: 10, Window: 10 * time.Second}

// NewUpstream returns an upstream over backends sharing transport tr.
func NewUpstream(name string, backends []*url.URL, tr http.RoundTripper, bs BreakerSettings, state *prometheus.GaugeVec, log *slog.Logger) *Upstream {
	u := &Upstream{Name: name, backends: backends, tr: tr}
	u.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 3,
		Interval:    bs.Window,
		Timeout:     bs.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= bs.ConsecutiveFailures ||
				(c.Requests >= bs.MinRequests && float64(c.TotalFailures) >= bs.FailureRatio*float64(c.Requests))
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Warn("circuit breaker state change", "upstream", name, "from", from.String(), "to", to.String())
			if state != nil {
				state.WithLabelValues(name).Set(float64(to))
			}
		},
	})
	if state != nil {
		state.WithLabelValues(name).Set(0)
	}
	return u
}

// State is the breaker state (closed, half-open, open).
func (u *Upstream) State() gobreaker.State { return u.cb.State() }

// errUpstreamStatus marks a 5xx answer as a failure for the breaker.
var errUpstreamStatus = errors.New("upstream answered 5xx")

// RoundTrip sends req to a backend through the breaker. Failed dials
// (nothing was sent) try again, on the next backend if there is one
// (eachDial), so a backend that is shutting down or gone costs no request.
func (u *Upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	done, err := u.cb.Allow()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, ErrBreakerOpen
	}
	resp, err := u.send(req)
	if err != nil && (errors.Is(req.Context().Err(), context.Canceled) || clientBodyFailed(req.Context())) {
		done(nil) // the client left or sent a broken body; says nothing about the upstream
	} else if err != nil {
		done(err)
	} else {
		done(statusFailure(resp.StatusCode))
	}
	return resp, err
}

// statusFailure is what an answer with status tells the breaker: a 5xx (but
// 501) is a failure.
func statusFailure(status int) error {
	if status >= 500 && status != http.StatusNotImplemented {
		return errUpstreamStatus
	}
	return nil
}

func (u *Upstream) send(req *http.Request) (*http.Response, error) {
	body := req.Body
	var tb *trackedBody
	if body != nil && body != http.NoBody {
		tb = &trackedBody{rc: body}
		defer body.Close()
	}
	var resp *http.Response
	err := u.eachDial(func() bool { return (tb != nil && tb.n.Load() > 0) || req.Context().Err() != nil }, func(i int) error {
		b := u.backends[i]
		out := *req
		if tb != nil {
			out.Body, out.GetBody = tb, tb.again
		}
		ou := *req.URL
		ou.Scheme, ou.Host = b.Scheme, b.Host
		out.URL = &ou
		out.Host = ""
		var err error
		resp, err = u.tr.RoundTrip(&out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// errNoBackend: an upstream configured without a backend (the config
// loader refuses that; this keeps eachDial total).
var errNoBackend = errors.New("the upstream has no backend")

// dialTries is how many connections one request may try to open, over its
// upstream's backends in turn, before it fails as unavailable. A failed dial
// sent nothing, so trying again is safe for any method. Behind a Kubernetes
// Service (one backend, its ClusterIP) the next connection may reach another
// pod: kube-proxy picks an endpoint per connection, and its rules lag behind
// the endpoints (a pod that stopped listening, a Service whose first pod just
// became ready) by up to one sync.
const dialTries = 3

// redialPause is the wait before a backend is dialled again in the same
// request (twice as long the round after).
const redialPause = 25 * time.Millisecond

// eachDial calls try with the index of a backend, from the next one in round
// robin, until try returns nil or an error other than a failed dial, or stop
// reports that the request must not be sent again; at most max(dialTries,
// backends) times, pausing before a backend is dialled again. It returns
// try's last error.
func (u *Upstream) eachDial(stop func() bool, try func(i int) error) error {
	n := uint64(len(u.backends))
	if n == 0 {
		return errNoBackend
	}
	start := u.next.Add(1)
	var err error
	for t := range max(uint64(dialTries), n) {
		if round := t / n; round > 0 && t%n == 0 {
			time.Sleep(redialPause << (round - 1))
		}
		if err = try(int((start + t) % n)); err == nil || !isDialError(err) || stop() {
			return err
		}
	}
	return err
}

func isDialError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// trackedBody counts what the transport read, so a request is only resent
// when not a byte of its body has left; closing is left to send.
type trackedBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (t *trackedBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.n.Add(int64(n))
	return n, err
}

func (t *trackedBody) Close() error { return nil }

func (t *trackedBody) again() (io.ReadCloser, error) {
	if t.n.Load() > 0 {
		return nil, errors.New("request body already partly sent")
	}
	return t, nil
}

// NewTransport is the keep-alive pool shared by all upstreams: requests
// without a body go over h1Transport, the others over http.Transport.
func NewTransport(timeout time.Duration) http.RoundTripper {
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	return &h1Transport{
		dial:          dialer.DialContext,
		headerTimeout: timeout,
		idleTimeout:   90 * time.Second,
		maxIdle:       512,
		idle:          map[string][]*h1Conn{},
		fallback: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			MaxIdleConns:          2048,
			MaxIdleConnsPerHost:   512,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: timeout,
			DisableCompression:    true,
			ForceAttemptHTTP2:     false,
		},
	}
}

// MaxFastAnswer bounds an answer the fast path reads from an upstream (it
// reads answers whole before passing them on): larger ones are a 502.
const MaxFastAnswer = 32 << 20

// connectTimeout bounds opening a connection to a backend.
const connectTimeout = 2 * time.Second

// initFast makes the fasthttp client of each backend: keep-alive pool
// (LIFO, idle connections closed after 90 s), the connection attempts of
// NewTransport, no default User-Agent, paths sent as they are (the engine
// only takes canonical ones). A request fasthttp may replay (GET) is resent,
// at most twice, when its connection failed before the answer: a reused
// connection the backend closed, or a new one reset while the backend
// stopped; never after a timeout. Before it is resent the backend's idle
// connections are closed, as h1Transport does: when one was closed under a
// request the backend is likely stopping and has closed the others too, so
// the retry opens a new connection, and if the backend no longer accepts
// any, Do fails over to the next backend.
func (u *Upstream) initFast() {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	u.fast = make([]*fasthttp.HostClient, len(u.backends))
	for i, b := range u.backends {
		addr := b.Host
		if b.Port() == "" {
			port := "80"
			if b.Scheme == "https" {
				port = "443"
			}
			addr = net.JoinHostPort(b.Hostname(), port)
		}
		hc := &fasthttp.HostClient{
			Addr:                      addr,
			IsTLS:                     b.Scheme == "https",
			Dial:                      func(addr string) (net.Conn, error) { return dialer.Dial("tcp", addr) },
			MaxConns:                  4096,
			MaxConnWaitTimeout:        connectTimeout,
			MaxIdleConnDuration:       90 * time.Second,
			ConnPoolStrategy:          fasthttp.LIFO,
			MaxIdemponentCallAttempts: 3,
			MaxResponseBodySize:       MaxFastAnswer,
			NoDefaultUserAgentHeader:  true,
			DisablePathNormalizing:    true,
		}
		hc.RetryIfErr = func(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
			if errors.Is(err, fasthttp.ErrTimeout) || isTimeout(err) {
				return false, false
			}
			hc.CloseIdleConnections()
			return false, true
		}
		u.fast[i] = hc
	}
}

// Do sends req to a backend through the breaker and reads the answer into
// resp within timeout, like RoundTrip: failed dials try again (eachDial);
// 5xx answers (but 501) count as failures.
func (u *Upstream) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	done, err := u.cb.Allow()
	if err != nil {
		return ErrBreakerOpen
	}
	deadline := time.Now().Add(timeout)
	err = u.eachDial(func() bool { return !time.Now().Before(deadline) }, func(i int) error {
		hc := u.fast[i]
		req.Header.SetHost(hc.Addr)
		return hc.DoDeadline(req, resp, deadline)
	})
	if err != nil {
		done(err)
	} else {
		done(statusFailure(resp.StatusCode()))
	}
	return err
}

// closeIdleFast closes the fast path's idle connections.
func (u *Upstream) closeIdleFast() {
	for _, hc := range u.fast {
		hc.CloseIdleConnections()
	}
}
