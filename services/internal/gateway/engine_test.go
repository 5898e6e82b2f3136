package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"github.com/valyala/fasthttp/fasthttputil"

	"shop/internal/app"
	"shop/internal/httpserver"
	"shop/internal/ittest"
	"shop/internal/logging"
	"shop/internal/reqid"
)

// testVersion is the build the test gateway names in its answers.
const testVersion = "sha256:aa"

// viaEngine is the gateway's engine serving g, with inner (the gateway's
// Canonical around its mux) in the services' shared chain, as app.Run serves
// it; its ServeHTTP sends each request over an in-memory connection whose
// local address is the request's RemoteAddr, so every test of the gateway
// goes through the engine the binary runs: the fast path or the net/http
// chain behind it.
type viaEngine struct {
	ln    *fasthttputil.InmemoryListener
	chain app.Chain
	reg   *prometheus.Registry
	// fault, when set, is the chain's fault injection.
	fault func() bool
}

func serveViaEngine(t testing.TB, g *Gateway, inner http.Handler) *viaEngine {
	t.Helper()
	reg := prometheus.NewRegistry()
	v := &viaEngine{ln: fasthttputil.NewInmemoryListener(), reg: reg,
		chain: app.NewChain("gateway", testVersion, g.Log, reg, 0, nil, inner)}
	v.chain.Fault = func() bool { return v.fault != nil && v.fault() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newEngine(g, v.chain).serve(ctx, v.ln, httpserver.Options{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine stopped with %v", err)
		}
	})
	return v
}

// ServeHTTP answers what the engine answered. A failure of the in-memory
// connection itself is answered 599 with the error, for the test to report
// (ServeHTTP may run in a subtest the engine's t is not).
func (v *viaEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	local, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil {
		local = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	}
	conn, err := v.ln.DialWithLocalAddr(local)
	if err != nil {
		http.Error(w, "dial the engine: "+err.Error(), 599)
		return
	}
	defer conn.Close()
	// A write error is not the end: the server may answer (413) and close before reading all of it.
	sendErr := sendRequest(conn, r)
	resp, err := http.ReadResponse(bufio.NewReader(conn), r)
	if err != nil {
		http.Error(w, fmt.Sprintf("no answer to %s %s: %v (sending: %v)", r.Method, r.RequestURI, err, sendErr), 599)
		return
	}
	defer resp.Body.Close()
	for k, vv := range resp.Header {
		w.Header()[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// sendRequest writes r as a client would send it: the request line with
// r's target as it is (RequestURI in origin-form, or the URL's), Host, the header, the body
// with its length.
func sendRequest(w io.Writer, r *http.Request) error {
	target := r.RequestURI
	if u, err := url.Parse(target); target == "" || (err == nil && u.IsAbs()) {
		target = r.URL.RequestURI() // origin-form, as a client sends to a server (httptest.NewRequest keeps the absolute URL)
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		body = b
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, target, r.Host)
	if err := r.Header.Write(bw); err != nil {
		return err
	}
	if len(body) > 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		fmt.Fprintf(bw, "Content-Length: %s\r\n", strconv.Itoa(len(body)))
	}
	bw.WriteString("Connection: close\r\n\r\n")
	bw.Write(body)
	return bw.Flush()
}

func TestTheEngineServesPlainGETsToProxiedRoutesItselfAndTheRestThroughNetHTTP(t *testing.T) {
	cases := []struct {
		name, request string
		fast          bool
	}{
		{"a product read", "GET /api/products/7 HTTP/1.1\r\nHost: gw\r\n\r\n", true},
		{"the product list with a query", "GET /api/products?q=mug&page=2 HTTP/1.1\r\nHost: gw\r\n\r\n", true},
		{"orders", "GET /api/orders HTTP/1.1\r\nHost: gw\r\n\r\n", true},
		{"an order", "GET /api/orders/12 HTTP/1.1\r\nHost: gw\r\n\r\n", true},
		{"the user", "GET /api/users/me HTTP/1.1\r\nHost: gw\r\n\r\n", true},
		{"a POST", "POST /api/orders HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n{}", false},
		{"a GET with a body", "GET /api/products HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n{}", false},
		{"a chunked GET with a body", "GET /api/products HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", false},
		{"a HEAD", "HEAD /api/products/7 HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"a protocol switch", "GET /api/orders HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
		{"a dot segment", "GET /api/products/../orders HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"a dot in a segment", "GET /api/products/a.json HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"an escape", "GET /api/products/%37 HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"an empty segment", "GET /api//products HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"the absolute form", "GET http://gw/api/products HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"the users prefix without its slash (the mux redirects)", "GET /api/users HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"a prefix that only starts alike", "GET /api/productsx HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"health", "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n", false},
		{"metrics", "GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			if err := ctx.Request.Read(bufio.NewReader(strings.NewReader(tc.request))); err != nil {
				t.Fatalf("read %q: %v", tc.request, err)
			}
			if _, _, _, fast := fastRequest(&ctx); fast != tc.fast {
				t.Errorf("served by the fast path: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// recorded is what an upstream received.
type recorded struct {
	Host, RequestURI string
	Header           http.Header
}

func recordingUpstream(t *testing.T) (*httptest.Server, chan recorded) {
	got := make(chan recorded, 10)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- recorded{r.Host, r.RequestURI, r.Header.Clone()}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set(reqid.Header, "upstream-copy")
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Add(app.VersionHeader, "product=sha256:bb")
		h.Set("Cache-Control", "max-age=60")
		h.Add("Set-Cookie", "a=1; Path=/")
		h.Add("Set-Cookie", "b=2; Path=/")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"id":7}`)
	}))
	t.Cleanup(up.Close)
	return up, got
}

func TestTheFastPathForwardsAndAnswersAsTheNetHTTPForwarderDoes(t *testing.T) {
	up, got := recordingUpstream(t)
	u := []*url.URL{mustURL(up.URL)}
	gw := newGateway(t, 1000, 1000, u, u, u, DefaultBreaker).(*testGateway)
	engine := gw.Handler.(*viaEngine)
	// One token for both requests: two issued a second apart differ (iat, exp).
	tok := token(t, 5)
	request := func() *http.Request {
		r := httptest.NewRequest("GET", "http://shop.example/api/products/7?b=1;c=2&d=%zz&e=3", nil)
		r.RemoteAddr = "198.51.100.7:40000"
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set(reqid.Header, "req-1")
		r.Header.Set(UserIDHeader, "999")
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
		r.Header.Set("Forwarded", "for=203.0.113.1")
		r.Header.Set("Te", "trailers, deflate")
		r.Header.Set("Connection", "X-Secret")
		r.Header.Set("X-Secret", "s")
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Cookie", "session=abc")
		return r
	}
	type answer struct {
		status int
		header http.Header
		body   string
		up     recorded
	}
	serve := func(h http.Handler) answer {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request())
		a := answer{status: w.Code, header: w.Header(), body: w.Body.String()}
		select {
		case a.up = <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("the upstream got no request")
		}
		return a
	}
	fast := serve(engine)                // through the engine: the fast path
	chain := serve(engine.chain.Handler) // the net/http chain alone
	if fast.status != 200 || chain.status != 200 || fast.body != chain.body {
		t.Fatalf("fast path %d %q, net/http chain %d %q", fast.status, fast.body, chain.status, chain.body)
	}
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id", "X-User-Id",
		"X-User-Email", "X-Secret", "Connection", "Forwarded", "Te", "User-Agent", "Accept", "Cookie", "Authorization"} {
		if f, c := fast.up.Header.Values(k), chain.up.Header.Values(k); strings.Join(f, "|") != strings.Join(c, "|") {
			t.Errorf("upstream's %s: fast path %q, net/http chain %q", k, f, c)
		}
	}
	if fast.up.Header.Get("X-Forwarded-For") != "203.0.113.1, 198.51.100.7" || fast.up.Header.Get("X-User-Id") != "5" {
		t.Errorf("upstream's X-Forwarded-For %q, X-User-Id %q", fast.up.Header.Get("X-Forwarded-For"), fast.up.Header.Get("X-User-Id"))
	}
	if fast.up.Host != chain.up.Host || fast.up.RequestURI != chain.up.RequestURI {
		t.Errorf("upstream's Host and target: fast path %q %q, net/http chain %q %q", fast.up.Host, fast.up.RequestURI, chain.up.Host, chain.up.RequestURI)
	}
	for _, k := range []string{app.VersionHeader, reqid.Header, "Content-Type", "Cache-Control", "Set-Cookie", "X-Hop", "Keep-Alive", "Connection"} {
		f, c := fast.header.Values(k), chain.header.Values(k)
		if k == "Connection" {
			f = nil // the test's client asked to close its connection: the engine confirms it
		}
		if strings.Join(f, "|") != strings.Join(c, "|") {
			t.Errorf("answer's %s: fast path %q, net/http chain %q", k, f, c)
		}
	}
	if v := fast.header.Values(app.VersionHeader); strings.Join(v, ",") != "gateway="+testVersion+",product=sha256:bb" {
		t.Errorf("answer's %s %q", app.VersionHeader, v)
	}
}

// counted is the value of http_requests_total{route, method, code} in reg.
func counted(t *testing.T, reg *prometheus.Registry, route, method, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["route"] == route && l["method"] == method && l["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestTheFastPathIsCountedAndLoggedAsTheChainCountsAndLogs(t *testing.T) {
	up, _ := echoUpstream(t, 200)
	u := []*url.URL{mustURL(up.URL)}
	g := gatewayOver(1000, 1000, u, u, u, DefaultBreaker)
	logs := &ittest.LockedBuffer{}
	g.Log = logging.New(logs, "info", "gateway")
	gw := serveGateway(t, g)
	v := gw.Handler.(*viaEngine)
	for _, path := range []string{"/api/products/7", "/api/orders"} {
		r := httptest.NewRequest("GET", "http://gw"+path, nil)
		r.Header.Set(reqid.Header, "req-42")
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
	}
	if n := counted(t, v.reg, "/api/products/", "GET", "200"); n != 1 {
		t.Errorf(`http_requests_total{route="/api/products/",method="GET",code="200"} = %v, want 1`, n)
	}
	if n := counted(t, v.reg, "/api/orders", "GET", "401"); n != 1 {
		t.Errorf(`http_requests_total{route="/api/orders",method="GET",code="401"} = %v, want 1`, n)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d access log lines, want 2:\n%s", len(lines), logs)
	}
	for i, want := range []struct {
		path   string
		status float64
	}{{"/api/products/7", 200}, {"/api/orders", 401}} {
		l := lines[i]
		if l["path"] != want.path || l["status"] != want.status || l["method"] != "GET" || l["request_id"] != "req-42" || l["service"] != "gateway" || l["duration"] == nil {
			t.Errorf("access log line %v, want path %s status %v with the request id", l, want.path, want.status)
		}
	}
}

func TestFaultInjectionAnswersTheFastPathWith500sCountedAsUnmatched(t *testing.T) {
	up, hits := echoUpstream(t, 200)
	u := []*url.URL{mustURL(up.URL)}
	gw := newGateway(t, 1000, 1000, u, u, u, DefaultBreaker).(*testGateway)
	v := gw.Handler.(*viaEngine)
	v.fault = func() bool { return true }
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, httptest.NewRequest("GET", "http://gw/api/products/7", nil))
	if w.Code != 500 || w.Header().Get(app.FaultHeader) != "true" || !strings.Contains(w.Body.String(), `"code":"injected_fault"`) {
		t.Fatalf("answer %d %v %s, want an injected 500", w.Code, w.Header(), w.Body)
	}
	if hits.Load() != 0 {
		t.Errorf("the upstream got %d requests, want none", hits.Load())
	}
	if n := counted(t, v.reg, "unmatched", "GET", "500"); n != 1 {
		t.Errorf(`http_requests_total{route="unmatched",code="500"} = %v, want 1`, n)
	}
}

func TestOversizedRequestsAre413And431InTheServicesJSON(t *testing.T) {
	up, hits := echoUpstream(t, 200)
	u := []*url.URL{mustURL(up.URL)}
	gw := newGateway(t, 1000, 1000, u, u, u, DefaultBreaker)
	big := httptest.NewRequest("POST", "http://gw/api/users/register", strings.NewReader(strings.Repeat("x", MaxRequestBody+1)))
	long := httptest.NewRequest("GET", "http://gw/api/products/7", nil)
	long.Header.Set("X-Padding", strings.Repeat("p", MaxHeaderBytes))
	for _, tc := range []struct {
		name   string
		r      *http.Request
		status int
		code   string
	}{{"a body over MaxRequestBody", big, 413, "too_large"}, {"a header over MaxHeaderBytes", long, 431, "header_too_large"}} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, tc.r)
			if w.Code != tc.status || w.Header().Get("Content-Type") != "application/json" || !strings.Contains(w.Body.String(), `"code":"`+tc.code+`"`) {
				t.Fatalf("answer %d %q %s, want %d %s", w.Code, w.Header().Get("Content-Type"), w.Body, tc.status, tc.code)
			}
		})
	}
	if hits.Load() != 0 {
		t.Errorf("the upstream got %d requests, want none", hits.Load())
	}
}

// engineOnTCP serves, on a loopback port with o, a gateway whose three
// upstreams are upstream: cancel starts its shutdown, served gets what
// serve returned.
func engineOnTCP(t *testing.T, upstream string, o httpserver.Options) (addr string, cancel context.CancelFunc, served <-chan error) {
	t.Helper()
	u := []*url.URL{mustURL(upstream)}
	g := gatewayOver(1000, 1000, u, u, u, DefaultBreaker)
	mux := http.NewServeMux()
	g.Routes(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- newEngine(g, app.NewChain("gateway", testVersion, quiet, prometheus.NewRegistry(), 0, nil, g.Canonical(mux))).serve(ctx, ln, o)
	}()
	return ln.Addr().String(), cancel, done
}

func TestShutdownDrainsWithConnectionCloseThenFinishesInFlightRequests(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/products/slow" {
			close(arrived)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	var shuttingDown atomic.Bool
	addr, cancel, served := engineOnTCP(t, up.URL, httpserver.Options{Drain: 2 * time.Second, ShutdownTimeout: 10 * time.Second,
		OnShutdown: func() { shuttingDown.Store(true) }})
	defer cancel()
	base := "http://" + addr
	get := func(path string) (*http.Response, string, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	if resp, body, err := get("/api/products/1"); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("before the shutdown: %v %v %q", resp, err, body)
	}
	inFlight := make(chan string, 1)
	go func() {
		resp, body, err := get("/api/products/slow")
		if err != nil {
			inFlight <- err.Error()
			return
		}
		inFlight <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow request never reached the upstream")
	}
	cancel()
	for deadline := time.Now().Add(2 * time.Second); !shuttingDown.Load(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("OnShutdown was not called within 2 s")
		}
	}
	resp, body, err := get("/api/products/1")
	if err != nil || resp.StatusCode != 200 || !resp.Close {
		t.Errorf("during the drain: %v %v %q, want 200 with Connection: close", resp, err, body)
	}
	select {
	case err := <-served:
		t.Fatalf("the server stopped with a request in flight: %v", err)
	default:
	}
	close(release)
	if got := <-inFlight; got != "200 ok" {
		t.Errorf("the in-flight request got %q, want 200 ok", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop within 10 s of the drain")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("new connections are still accepted after the shutdown")
	}
}

func TestAPanicOnTheFastPathIsALogged500AndTheEngineServesOn(t *testing.T) {
	up, _ := echoUpstream(t, 200)
	u := []*url.URL{mustURL(up.URL)}
	g := gatewayOver(1000, 1000, u, u, u, DefaultBreaker)
	g.Limiter = nil // admit dereferences it: every proxied request panics
	logs := &ittest.LockedBuffer{}
	g.Log = logging.New(logs, "info", "gateway")
	gw := serveGateway(t, g)
	for i := range 2 {
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, httptest.NewRequest("GET", "http://gw/api/products/7", nil))
		if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal"`) || w.Header().Get(reqid.Header) == "" ||
			w.Header().Get(app.VersionHeader) != "gateway="+testVersion {
			t.Fatalf("request %d: %d %v %s, want the gateway's 500", i+1, w.Code, w.Header(), w.Body)
		}
	}
	if n := strings.Count(logs.String(), `"msg":"handler panic"`); n != 2 {
		t.Errorf("%d panics logged, want 2:\n%s", n, logs)
	}
}

func TestTheEngineAnswers408ToAHeaderOrBodyNotReceivedInTime(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":1}`)
	}))
	t.Cleanup(up.Close)
	addr, cancel, served := engineOnTCP(t, up.URL,
		httpserver.Options{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond, ShutdownTimeout: 5 * time.Second})
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("engine stopped with %v", err)
		}
	})
	tests := []struct {
		name string
		sent string
		// status is the answer's status line; at least is how long the engine must have waited.
		status  string
		atLeast time.Duration
	}{
		{"a GET whose header is complete is served", "GET /api/products/1 HTTP/1.1\r\nHost: gw\r\n\r\n", "HTTP/1.1 200 OK", 0},
		{"a header never finished gets 408 after the header timeout", "GET /api/products/1 HTTP/1.1\r\nHost: gw\r\n", "HTTP/1.1 408 Request Timeout", 300 * time.Millisecond},
		{"a body never finished gets 408 after the read timeout", "POST /api/orders HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"items\":", "HTTP/1.1 408 Request Timeout", 600 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if _, err := io.WriteString(c, tt.sent); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			took := time.Since(start)
			if err != nil {
				t.Fatalf("no answer after %v: %v", took, err)
			}
			if got := strings.TrimSpace(line); got != tt.status || took < tt.atLeast {
				t.Fatalf("answered %q after %v, want %q after at least %v", got, took, tt.status, tt.atLeast)
			}
		})
	}
}

func TestTheNetHTTPChainKeepsItsRequestStringsWhenFasthttpReusesTheRequest(t *testing.T) {
	var kept map[string]string
	slow := fasthttpadaptor.NewFastHTTPHandler(detached(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What a handler may keep beyond the request: a token cache's key, a limiter's key, labels.
		kept = map[string]string{"method": r.Method, "host": r.Host, "uri": r.RequestURI, "path": r.URL.Path,
			"query": r.URL.RawQuery, "authorization": r.Header.Get("Authorization"), "forwarded": r.Header.Get("X-Forwarded-For")}
	})))
	var req fasthttp.Request
	req.Header.SetMethod(http.MethodPost)
	req.SetRequestURI("/api/orders/abcd?page=1")
	req.Header.SetHost("gw-one.example")
	req.Header.Set("Authorization", "Bearer aaaaaaaaaaaaaaaaaaaaaaaa")
	req.Header.Set("X-Forwarded-For", "192.0.2.10")
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}, nil)
	slow(&ctx)
	want := map[string]string{"method": "POST", "host": "gw-one.example", "uri": "/api/orders/abcd?page=1", "path": "/api/orders/abcd",
		"query": "page=1", "authorization": "Bearer aaaaaaaaaaaaaaaaaaaaaaaa", "forwarded": "192.0.2.10"}
	// The server's next request on this context overwrites the same buffers in place.
	ctx.Request.Header.SetMethod(http.MethodPut)
	ctx.Request.SetRequestURI("/api/users/wxyz?page=9")
	ctx.Request.Header.SetHost("gw-two.example")
	ctx.Request.Header.Set("Authorization", "Bearer bbbbbbbbbbbbbbbbbbbbbbbb")
	ctx.Request.Header.Set("X-Forwarded-For", "198.51.100.7")
	_ = ctx.Request.URI() // parses the new URI into the reused buffers
	for k, v := range want {
		if kept[k] != v {
			t.Errorf("%s kept by the handler is %q after the context's reuse, want %q", k, kept[k], v)
		}
	}
}
