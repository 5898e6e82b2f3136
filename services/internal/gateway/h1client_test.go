package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the connections an upstream accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// upstreamOn starts an upstream serving h on its listener as wrap returns it.
func upstreamOn(t *testing.T, h http.HandlerFunc, wrap func(net.Listener) net.Listener) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Listener = wrap(s.Listener)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func upstreamWith(t *testing.T, h http.HandlerFunc) (*httptest.Server, *countingListener) {
	t.Helper()
	var cl *countingListener
	s := upstreamOn(t, h, func(l net.Listener) net.Listener { cl = &countingListener{Listener: l}; return cl })
	return s, cl
}

func get(t *testing.T, tr http.RoundTripper, method, url string, hdr http.Header) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func TestTransportKeepsConnectionsAliveAndHonoursTheAnswersFraming(t *testing.T) {
	cases := []struct {
		name      string
		method    string
		handler   http.HandlerFunc
		body      string
		wantConns int64 // after three requests
	}{
		{"content-length answers reuse one connection", "GET", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "hello")
		}, "hello", 1},
		{"chunked answers reuse one connection", "GET", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part2")
		}, "part1,part2", 1},
		{"HEAD answers have no body and reuse the connection", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "42")
		}, "", 1},
		{"Connection: close is honoured", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		}, "bye", 3},
		{"1xx answers are skipped", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "after hints")
		}, "after hints", 1},
		{"POST without a body sends Content-Length 0", "POST", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.Header.Get("Content-Length"))
		}, "0", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, cl := upstreamWith(t, tc.handler)
			tr := NewTransport(time.Second)
			for i := range 3 {
				resp, body, err := get(t, tr, tc.method, s.URL+"/x?a=1", nil)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if resp.StatusCode != 200 || body != tc.body {
					t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, body, tc.body)
				}
			}
			if got := cl.n.Load(); got != tc.wantConns {
				t.Errorf("upstream accepted %d connections, want %d", got, tc.wantConns)
			}
		})
	}
}

func TestTransportResendsAReplayableRequestWhenReusedConnectionsWereClosed(t *testing.T) {
	var hits atomic.Int64
	s, cl := upstreamWith(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	tr := NewTransport(time.Second)
	// Four idle connections in the pool, all then closed by the upstream (as in its graceful shutdown).
	var resps []*http.Response
	for range 4 {
		req, _ := http.NewRequest("GET", s.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, resp := range resps {
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	s.CloseClientConnections()
	for _, tc := range []struct {
		method string
		hdr    http.Header
	}{{"GET", nil}, {"DELETE", http.Header{"Idempotency-Key": {"k1"}}}, {"DELETE", nil}} {
		if _, body, err := get(t, tr, tc.method, s.URL, tc.hdr); err != nil || body != "ok" {
			t.Fatalf("%s %v after the upstream closed the idle connections: %q %v, want ok", tc.method, tc.hdr, body, err)
		}
		s.CloseClientConnections()
	}
	// 4 for the pool, then one new connection per request: no stale one was used twice.
	if cl.n.Load() != 7 {
		t.Errorf("upstream accepted %d connections, want 7", cl.n.Load())
	}
	if hits.Load() != 7 {
		t.Errorf("upstream handled %d requests, want 7 (none twice)", hits.Load())
	}
}

// resettingListener resets the first `drop` connections it accepts once the
// request has arrived, unanswered, as a kernel does with the connections still
// queued on a listener that closes.
type resettingListener struct {
	net.Listener
	drop atomic.Int64
}

func (l *resettingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.drop.Add(-1) < 0 {
			return c, err
		}
		_, _ = c.Read(make([]byte, 1))
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}
}

func TestTransportResendsAReplayableRequestWhenANewConnectionIsResetBeforeAnswering(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		hdr     http.Header
		resets  int64
		wantErr bool
	}{
		{name: "one reset", method: "GET", resets: 1},
		{name: "a reset on every resend but the last", method: "GET", resets: maxResends},
		{name: "a delete with an idempotency key", method: "DELETE", hdr: http.Header{"Idempotency-Key": {"k1"}}, resets: 1},
		{name: "more resets than resends", method: "GET", resets: maxResends + 1, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int64
			s := upstreamOn(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				_, _ = io.WriteString(w, "ok")
			}, func(l net.Listener) net.Listener {
				rl := &resettingListener{Listener: l}
				rl.drop.Store(tc.resets)
				return rl
			})
			_, body, err := get(t, NewTransport(time.Second), tc.method, s.URL, tc.hdr)
			if tc.wantErr {
				if err == nil || hits.Load() != 0 {
					t.Fatalf("after %d resets: %q %v (%d handled), want an error and nothing handled", tc.resets, body, err, hits.Load())
				}
				return
			}
			if err != nil || body != "ok" || hits.Load() != 1 {
				t.Fatalf("after %d resets: %q %v (%d handled), want ok handled once", tc.resets, body, err, hits.Load())
			}
		})
	}
}

func TestTransportGivesUpAtTheHeaderTimeoutAndWhenTheContextEnds(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s, _ := upstreamWith(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			_, _ = io.WriteString(w, "first part")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	tr := NewTransport(200 * time.Millisecond)

	start := time.Now()
	_, _, err := get(t, tr, "GET", s.URL+"/header", nil)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a late header: %v, want a timeout error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the header timeout of 200ms took %s", d)
	}

	// A canceled context ends the exchange while the body is read; the error is the context's.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/body", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	if !strings.HasPrefix("first part", string(buf[:n])) || n == 0 {
		t.Fatalf("first read %q", buf[:n])
	}
	cancel()
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("reading the body after the context ended succeeded")
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("reading the body did not stop when the context ended")
	}
	resp.Body.Close()

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", s.URL+"/header", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("a request with a canceled context: %v, want context.Canceled", err)
	}
}

func TestTransportWritesHeadersWithoutFramingTheClientCouldInject(t *testing.T) {
	got := make(chan http.Header, 1)
	s, _ := upstreamWith(t, func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() })
	tr := NewTransport(time.Second)
	resp, _, err := get(t, tr, "GET", s.URL, http.Header{"X-Email": {"a@b.co\r\nX-User-Id: 1"}, "User-Agent": {""}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	h := <-got
	if h.Get("X-User-Id") != "" || h.Get("X-Email") != "a@b.co  X-User-Id: 1" {
		t.Errorf("upstream saw X-User-Id %q, X-Email %q: a newline in a value must not start a header", h.Get("X-User-Id"), h.Get("X-Email"))
	}
	if ua, ok := h["User-Agent"]; ok {
		t.Errorf("an empty User-Agent was sent as %q; it must be left out", ua)
	}
}
