package gateway

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"shop/internal/app"
	"shop/internal/auth"
	"shop/internal/reqid"
)

const secret = "gateway-test-secret-0123456789abcdef"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// echo is an upstream that answers with what it received.
type seen struct {
	Path, UserID, Email, RequestID, Body, IdempotencyKey string
}

func echoUpstream(t *testing.T, status int) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(reqid.Header, r.Header.Get(reqid.Header)) // as the services' middleware does
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(seen{r.URL.RequestURI(), r.Header.Get(UserIDHeader), r.Header.Get(UserEmailHeader), r.Header.Get(reqid.Header), string(b), r.Header.Get("Idempotency-Key")})
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func newGateway(t testing.TB, rps float64, burst int, users, products, orders []*url.URL, bs BreakerSettings) http.Handler {
	t.Helper()
	return serveGateway(t, gatewayOver(rps, burst, users, products, orders, bs))
}

// gatewayOver is a gateway over the given backends, logging nothing.
func gatewayOver(rps float64, burst int, users, products, orders []*url.URL, bs BreakerSettings) *Gateway {
	tr := NewTransport(2 * time.Second)
	return &Gateway{
		Keys: NewTokenCache(auth.NewKeys(secret, time.Hour), 1000), Limiter: NewLimiter(rps, burst), Log: quiet,
		Users: NewUpstream("user", users, tr, bs, nil, quiet), Product: NewUpstream("product", products, tr, bs, nil, quiet),
		Orders:          NewUpstream("order", orders, tr, bs, nil, quiet),
		RateLimited:     prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}),
		AuthFailures:    prometheus.NewCounter(prometheus.CounterOpts{Name: "y"}),
		UpstreamErrors:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "z"}, []string{"upstream", "reason"}),
		UpstreamTimeout: 2 * time.Second,
	}
}

// serveGateway serves g through the engine (see viaEngine).
func serveGateway(t testing.TB, g *Gateway) *testGateway {
	mux := http.NewServeMux()
	g.Routes(mux)
	return &testGateway{Handler: serveViaEngine(t, g, g.Canonical(mux)), g: g}
}

// testGateway is the gateway's handler with its settings reachable.
type testGateway struct {
	http.Handler
	g *Gateway
}

func token(t *testing.T, id int64) string {
	tok, _, err := auth.NewKeys(secret, time.Hour).Issue(id, fmt.Sprintf("u%d@example.com", id))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoutingAuthAndIdentityHeaders(t *testing.T) {
	up, _ := echoUpstream(t, 200)
	u := []*url.URL{mustURL(up.URL)}
	gw := newGateway(t, 1000, 1000, u, u, u, DefaultBreaker)
	cases := []struct {
		name, method, path, auth string
		status                   int
		userID                   string
	}{
		{"register is public", "POST", "/api/users/register", "", 200, ""},
		{"login is public", "POST", "/api/users/login", "", 200, ""},
		{"product list is public", "GET", "/api/products?q=mug", "", 200, ""},
		{"product detail is public", "GET", "/api/products/7", "", 200, ""},
		{"product writes need a token", "POST", "/api/products", "", 401, ""},
		{"me needs a token", "GET", "/api/users/me", "", 401, ""},
		{"orders need a token", "GET", "/api/orders", "", 401, ""},
		{"a bad token is refused", "GET", "/api/orders", "Bearer nope", 401, ""},
		{"a valid token passes with the user id", "GET", "/api/orders", "Bearer " + token(t, 42), 200, "42"},
		{"public routes also pass a valid identity", "GET", "/api/products/7", "Bearer " + token(t, 5), 200, "5"},
		{"unknown prefixes are 404", "GET", "/api/admin", "Bearer " + token(t, 42), 404, ""},
		{"internal endpoints are not routed", "POST", "/internal/stock/reserve", "Bearer " + token(t, 42), 404, ""},
		{"dot segments are 400", "GET", "/api/products/../orders", "", 400, ""},
		{"double slashes are 400", "GET", "/api//products", "", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://gw"+tc.path, strings.NewReader("{}"))
			r.Header.Set(UserIDHeader, "999") // a client's forgery never reaches the upstream
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				return
			}
			var s seen
			if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			if s.UserID != tc.userID {
				t.Errorf("upstream saw X-User-ID %q, want %q", s.UserID, tc.userID)
			}
			if s.RequestID == "" || s.RequestID != w.Header().Get(reqid.Header) {
				t.Errorf("request id upstream %q, response %q", s.RequestID, w.Header().Get(reqid.Header))
			}
			if ids := w.Header().Values(reqid.Header); len(ids) != 1 {
				t.Errorf("the response carries %d request id headers %q, want exactly 1", len(ids), ids)
			}
			if s.Path != strings.SplitN(tc.path, "#", 2)[0] {
				t.Errorf("upstream path %q, want %q", s.Path, tc.path)
			}
		})
	}
}

func TestIdempotencyKeyReachesTheOrderServiceUnchanged(t *testing.T) {
	up, _ := echoUpstream(t, 201)
	u := []*url.URL{mustURL(up.URL)}
	gw := newGateway(t, 1000, 1000, u, u, u, DefaultBreaker)
	r := httptest.NewRequest("POST", "http://gw/api/orders", strings.NewReader(`{"items":[]}`))
	r.Header.Set("Authorization", "Bearer "+token(t, 42))
	r.Header.Set("Idempotency-Key", "checkout-7f3a:2026-11-29")
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, r)
	var s seen
	if err := json.Unmarshal(w.Body.Bytes(), &s); w.Code != 201 || err != nil {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if s.IdempotencyKey != "checkout-7f3a:2026-11-29" {
		t.Fatalf("the order service saw Idempotency-Key %q", s.IdempotencyKey)
	}
}

func TestRateLimitAnswers429WithRetryAfterPerClient(t *testing.T) {
	up, _ := echoUpstream(t, 200)
	u := []*url.URL{mustURL(up.URL)}
	gw := newGateway(t, 1, 3, u, u, u, DefaultBreaker)
	get := func(remote, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "http://gw/api/products", nil)
		r.RemoteAddr = remote
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
		return w
	}
	for i := 0; i < 3; i++ {
		if w := get("10.0.0.1:1000", ""); w.Code != 200 {
			t.Fatalf("request %d within the burst: %d", i, w.Code)
		}
	}
	w := get("10.0.0.1:1001", "")
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the burst: %d Retry-After %q, want 429 and 1", w.Code, w.Header().Get("Retry-After"))
	}
	if w := get("10.0.0.2:1000", ""); w.Code != 200 {
		t.Errorf("another client is limited too: %d", w.Code)
	}
	tok := token(t, 9)
	for i := 0; i < 3; i++ {
		get("10.0.0.1:1000", tok)
	}
	if w := get("10.0.0.3:1000", tok); w.Code != 429 {
		t.Errorf("a user's bucket follows the user across addresses: %d", w.Code)
	}
}

func TestLimiterRefillsAndForgetsIdleClients(t *testing.T) {
	l := NewLimiter(10, 1)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("first request refused")
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("second request: %v wait %s, want refused for <=100ms", ok, wait)
	}
	now = now.Add(100 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after the refill")
	}
	l.Allow("b")
	now = now.Add(time.Hour)
	if n := l.Sweep(time.Minute); n != 0 {
		t.Fatalf("%d buckets left after sweeping idle clients", n)
	}
	if RetryAfter(1500*time.Millisecond) != "2" || RetryAfter(time.Millisecond) != "1" {
		t.Error("RetryAfter must round up to whole seconds, at least 1")
	}
}

func TestBreakerOpensOnFailingUpstreamAndFailsFast(t *testing.T) {
	up, hits := echoUpstream(t, 500)
	u := []*url.URL{mustURL(up.URL)}
	bs := BreakerSettings{OpenFor: 200 * time.Millisecond, MinRequests: 5, FailureRatio: 0.5, ConsecutiveFailures: 5, Window: time.Minute}
	gw := newGateway(t, 1e6, 1e6, u, u, u, bs)
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, httptest.NewRequest("GET", "http://gw/api/products", nil))
		return w
	}
	for i := 0; i < 5; i++ {
		if w := get(); w.Code != 500 {
			t.Fatalf("request %d: %d, want the upstream's 500", i, w.Code)
		}
	}
	before := hits.Load()
	w := get()
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("with the breaker open: %d, want 503 with Retry-After", w.Code)
	}
	if hits.Load() != before {
		t.Fatal("the open breaker still sent the request upstream")
	}
	time.Sleep(250 * time.Millisecond)
	get() // half-open: one probe goes through
	if hits.Load() != before+1 {
		t.Fatalf("half-open breaker sent %d probes, want 1", hits.Load()-before)
	}
}

func TestBreakerClosesAgainWhenTheUpstreamRecovers(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(503)
		}
	}))
	defer s.Close()
	tr := NewTransport(time.Second)
	up := NewUpstream("product", []*url.URL{mustURL(s.URL)}, tr, BreakerSettings{OpenFor: 100 * time.Millisecond, MinRequests: 3, FailureRatio: 0.5, ConsecutiveFailures: 3, Window: time.Minute}, nil, quiet)
	do := func() {
		r, _ := http.NewRequest("GET", "http://product/api/products", nil)
		if resp, err := up.RoundTrip(r); err == nil {
			resp.Body.Close()
		}
	}
	for i := 0; i < 3; i++ {
		do()
	}
	if up.State() != gobreaker.StateOpen {
		t.Fatalf("state %s after 3 failures, want open", up.State())
	}
	fail.Store(false)
	time.Sleep(150 * time.Millisecond)
	for i := 0; i < 3; i++ {
		do()
	}
	if up.State() != gobreaker.StateClosed {
		t.Fatalf("state %s after successful probes, want closed", up.State())
	}
}

func TestFailsOverToTheNextBackendWhenOneRefusesConnections(t *testing.T) {
	up, hits := echoUpstream(t, 200)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	u := []*url.URL{mustURL(dead), mustURL(up.URL)}
	gw := newGateway(t, 1e6, 1e6, u, u, u, DefaultBreaker)
	for i := 0; i < 10; i++ {
		r := httptest.NewRequest("POST", "http://gw/api/users/login", strings.NewReader(`{"email":"a@b.co"}`))
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
		var s seen
		_ = json.Unmarshal(w.Body.Bytes(), &s)
		if w.Code != 200 || s.Body != `{"email":"a@b.co"}` {
			t.Fatalf("request %d: %d body upstream %q", i, w.Code, s.Body)
		}
	}
	if hits.Load() != 10 {
		t.Fatalf("live backend got %d of 10", hits.Load())
	}
}

func TestUpstreamTimeoutIs504AndRefusedIs503(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(3 * time.Second) }))
	defer slow.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	gw := newGateway(t, 1e6, 1e6, []*url.URL{mustURL(dead)}, []*url.URL{mustURL(slow.URL)}, []*url.URL{mustURL(dead)}, DefaultBreaker)
	cases := []struct {
		method, path string
		status       int
	}{{"GET", "/api/products", 504}, {"POST", "/api/users/login", 503}}
	for _, tc := range cases {
		start := time.Now()
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, httptest.NewRequest(tc.method, "http://gw"+tc.path, nil))
		if w.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.path, w.Code, tc.status)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("%s took %s, longer than the upstream timeout", tc.path, d)
		}
	}
}

func TestClientIPCountsTrustedProxyHopsFromTheRight(t *testing.T) {
	cases := []struct {
		name   string
		hops   int
		remote string
		xff    []string // one X-Forwarded-For header line each
		want   string
	}{
		{"no header: the peer", 1, "1.2.3.4:5", nil, "1.2.3.4"},
		{"one hop: the entry the ingress appended", 1, "10.0.0.9:5", []string{"9.9.9.9, 8.8.8.8"}, "8.8.8.8"},
		{"one hop ignores what the client forged on the left", 1, "10.0.0.9:5", []string{"6.6.6.6, 1.1.1.1, 8.8.8.8"}, "8.8.8.8"},
		{"two hops (load balancer then ingress): the client before the balancer", 2, "10.0.0.9:5", []string{"6.6.6.6, 203.0.113.7, 10.1.2.3"}, "203.0.113.7"},
		{"two hops across two header lines", 2, "10.0.0.9:5", []string{"203.0.113.7", "10.1.2.3"}, "203.0.113.7"},
		{"zero hops: the TCP peer, whatever the header says", 0, "10.0.0.9:5", []string{"9.9.9.9, 8.8.8.8"}, "10.0.0.9"},
		{"fewer entries than hops (a proxy was bypassed): the peer", 3, "10.0.0.9:5", []string{"9.9.9.9, 8.8.8.8"}, "10.0.0.9"},
		{"an entry that is no address: the peer", 1, "10.0.0.9:5", []string{"garbage"}, "10.0.0.9"},
		{"IPv6 entries", 1, "[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 peer", 0, "[::1]:80", nil, "::1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tc.hops); got != tc.want {
				t.Errorf("ClientIP(%q, %q, hops %d) = %q, want %q", tc.remote, tc.xff, tc.hops, got, tc.want)
			}
		})
	}
}

func TestAnonymousClientsBehindTwoProxiesGetABucketEach(t *testing.T) {
	up, _ := echoUpstream(t, 200)
	u := []*url.URL{mustURL(up.URL)}
	gw := newGateway(t, 1, 2, u, u, u, DefaultBreaker).(*testGateway)
	gw.g.TrustedProxyHops = 2
	// Every request arrives from the same ingress pod, through the same balancer node.
	get := func(client string) int {
		r := httptest.NewRequest("GET", "http://gw/api/products", nil)
		r.RemoteAddr = "10.0.0.9:5000"
		r.Header.Set("X-Forwarded-For", client+", 10.1.2.3")
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
		return w.Code
	}
	for i := 0; i < 2; i++ {
		if c := get("203.0.113.7"); c != 200 {
			t.Fatalf("client A request %d within the burst: %d", i, c)
		}
	}
	if c := get("203.0.113.7"); c != 429 {
		t.Fatalf("client A over the burst: %d, want 429", c)
	}
	if c := get("198.51.100.2"); c != 200 {
		t.Fatalf("client B shares client A's bucket: %d, want 200", c)
	}
}

func FuzzGatewayNeverAnswers5xxToClientInput(f *testing.F) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer up.Close()
	u := []*url.URL{mustURL(up.URL)}
	// A breaker that never trips: each input is judged on its own, not on the
	// state earlier inputs left behind.
	never := BreakerSettings{OpenFor: time.Second, MinRequests: 1 << 31, FailureRatio: 2, ConsecutiveFailures: 1 << 31, Window: time.Minute}
	h := newGateway(f, 1e9, 1e9, u, u, u, never)
	for _, s := range [][3]string{
		{"GET", "/api/products/1", ""}, {"POST", "/api/orders", "Bearer x"}, {"GET", "/api/../x", ""},
		{"DELETE", "/api/users/me", "Bearer " + token(&testing.T{}, 1)}, {"GET", "/%2e%2e/api", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, method, target, authz string) {
		r, err := http.NewRequest(method, "http://gw/", strings.NewReader("{}"))
		if err != nil {
			return // not a request a server could receive
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r.URL = u
		r.RequestURI = target
		for i := 0; i < len(authz); i++ {
			if c := authz[i]; (c < 0x20 && c != '\t') || c == 0x7f {
				return // the HTTP server answers 400 to such a header before any handler runs
			}
		}
		r.Header.Set("Authorization", authz)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q answered %d: %s", method, target, w.Code, w.Body)
		}
	})
}

func TestTokenCacheHitsOnlyVerifiedTokensUntilTheyExpire(t *testing.T) {
	keys := auth.NewKeys(secret, time.Minute)
	c := NewTokenCache(keys, 64)
	tok, _, _ := keys.Issue(3, "c@example.com")
	for i := 0; i < 2; i++ {
		cl, err := c.Parse(tok)
		if err != nil || cl.UserID() != 3 {
			t.Fatalf("parse #%d: %v %v", i+1, cl, err)
		}
	}
	i := len(tok) - 10 // inside the signature; the last base64 character has unused bits
	flip := map[byte]byte{'A': 'B'}[tok[i]]
	if flip == 0 {
		flip = 'A'
	}
	if _, err := c.Parse(tok[:i] + string(flip) + tok[i+1:]); err == nil {
		t.Fatal("a tampered token was accepted")
	}
	// An entry past its expiry is not served: the token is verified again (and here fails).
	stale := &auth.Claims{}
	stale.Subject = "4"
	stale.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Second))
	sh := &c.shards[maphash.String(c.seed, "stale-token")%uint64(len(c.shards))]
	sh.m["stale-token"] = stale
	if cl, err := c.Parse("stale-token"); err == nil {
		t.Fatalf("an expired cached token was accepted: %+v", cl)
	}
	for i := 0; i < 500; i++ {
		tk, _, _ := keys.Issue(int64(i+1), "x@example.com")
		if _, err := c.Parse(tk); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > 64+32 {
		t.Fatalf("cache holds %d tokens, bound is about 64", n)
	}
}

func TestAProxiedResponseNamesTheGatewaysBuildThenTheUpstreams(t *testing.T) {
	up := httptest.NewServer(app.Version("product", "sha256:bb", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})))
	t.Cleanup(up.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := mustURL(down.URL)
	down.Close()
	cases := []struct {
		name     string
		products []*url.URL
		status   int
		want     []string
	}{
		{"upstream answers", []*url.URL{mustURL(up.URL)}, 200, []string{"gateway=sha256:aa", "product=sha256:bb"}},
		{"upstream unreachable: the gateway's own answer", []*url.URL{downURL}, 503, []string{"gateway=sha256:aa"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := newGateway(t, 1000, 1000, tc.products, tc.products, tc.products, DefaultBreaker)
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, httptest.NewRequest("GET", "http://gw/api/products/7", nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Values(app.VersionHeader); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("%s %q, want %q", app.VersionHeader, got, tc.want)
			}
		})
	}
}
