package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// h1Transport sends the gateway's replayable requests that carry no body
// (GET, HEAD, OPTIONS, TRACE, or any with an idempotency key: nearly all of
// its traffic) to the upstreams over pooled HTTP/1.1 keep-alive connections, on the calling
// goroutine: the request is written and the answer's header read by the
// handler itself, and the connection goes back to the pool when the handler
// has read the body to its end. http.Transport (which sends everything else:
// request bodies, protocol upgrades, requests that must not be sent twice) hands each request to a writer goroutine
// and each answer over from a reader goroutine per connection, which then
// reads ahead for the next answer: two goroutine switches and one read(2)
// that finds nothing per request, the largest share of the gateway's own CPU
// under load (docs/benchmarks.md).
//
// What it keeps of http.Transport's contract: the answer's header must arrive
// within headerTimeout; the request's context cancels the exchange at any
// point (the error is the context's); a dial failure is the dialer's
// *net.OpError (Upstream fails over on it); when a reused connection turns
// out to be closed by the upstream before answering (its idle timeout, its
// graceful shutdown), the pooled connections to that upstream are dropped and
// the request is sent again over a new connection (it is replayable), as it is
// when a new connection is closed before answering (accepted by the kernel as
// the upstream closed its listener), at most maxResends times; (http.Transport
// notices such closes early with its read-ahead, which is why requests that
// must not be sent twice stay with it); 1xx answers are skipped; "Connection: close" and
// answers delimited by the end of the connection are honoured.
type h1Transport struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	headerTimeout time.Duration
	idleTimeout   time.Duration
	maxIdle       int // per address
	fallback      http.RoundTripper

	mu   sync.Mutex
	idle map[string][]*h1Conn
}

type h1Conn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	addr     string
	idleFrom time.Time
}

// errStaleConn: a reused connection closed before any answer arrived.
var errStaleConn = errors.New("keep-alive connection closed by the upstream before answering")

var aLongTimeAgo = time.Unix(1, 0)

func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if (req.Body != nil && req.Body != http.NoBody) || req.URL.Scheme != "http" || req.Header["Upgrade"] != nil || !replayable(req) {
		return t.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "80")
	}
	ctx := req.Context()
	fresh := false
	for attempt := 0; ; attempt++ {
		c, reused, err := t.conn(ctx, addr, fresh)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(ctx, c, req)
		if err == nil {
			return resp, nil
		}
		if errors.Is(err, errStaleConn) && attempt < maxResends {
			if reused {
				// The upstream closed its keep-alive connections (idle timeout, shutdown): the
				// other idle ones to it are most likely closed too.
				t.dropIdle(addr)
			}
			// A new connection closed before answering was accepted by the kernel but never
			// served (an upstream closing its listener in its graceful shutdown): the request
			// is replayable, so it goes again over a new connection, whose dial is refused
			// if the listener is gone (and Upstream fails over on a refused dial).
			fresh = true
			continue
		}
		if errors.Is(err, errStaleConn) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

// maxResends bounds how often one request is sent again after its connection
// closed before answering.
const maxResends = 3

func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header["Idempotency-Key"] != nil || req.Header["X-Idempotency-Key"] != nil
}

// conn is an idle connection to addr (reused true) or, when there is none or
// fresh is set, a new one.
func (t *h1Transport) conn(ctx context.Context, addr string, fresh bool) (*h1Conn, bool, error) {
	now := time.Now()
	t.mu.Lock()
	for !fresh {
		list := t.idle[addr]
		if len(list) == 0 {
			break
		}
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[addr] = list[:len(list)-1]
		if now.Sub(c.idleFrom) < t.idleTimeout {
			t.mu.Unlock()
			return c, true, nil
		}
		_ = c.nc.Close()
	}
	t.mu.Unlock()
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &h1Conn{nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096), addr: addr}, false, nil
}

func (t *h1Transport) put(c *h1Conn) {
	c.idleFrom = time.Now()
	t.mu.Lock()
	if len(t.idle[c.addr]) < t.maxIdle {
		t.idle[c.addr] = append(t.idle[c.addr], c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	_ = c.nc.Close()
}

// dropIdle closes the idle connections to addr.
func (t *h1Transport) dropIdle(addr string) {
	t.mu.Lock()
	list := t.idle[addr]
	delete(t.idle, addr)
	t.mu.Unlock()
	for _, c := range list {
		_ = c.nc.Close()
	}
}

// CloseIdleConnections closes the pooled connections (and the fallback's).
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	for addr, list := range t.idle {
		for _, c := range list {
			_ = c.nc.Close()
		}
		delete(t.idle, addr)
	}
	t.mu.Unlock()
	if ci, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// exchange writes req on c and reads the answer's header; the body reads from c.
func (t *h1Transport) exchange(ctx context.Context, c *h1Conn, req *http.Request) (*http.Response, error) {
	deadline := time.Now().Add(t.headerTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = c.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	writeRequest(c.bw, req)
	if err := c.bw.Flush(); err != nil {
		return fail(errStaleConn) // nothing was answered: the reused connection was closed
	}
	var resp *http.Response
	for {
		if _, err := c.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isConnReset(err) {
				return fail(errStaleConn)
			}
			return fail(err)
		}
		var err error
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		_ = resp.Body.Close() // 1xx: no body; the real answer follows
	}
	_ = c.nc.SetDeadline(time.Time{})
	b := &h1Body{t: t, c: c, rc: resp.Body, stop: stop, reuse: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.release(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// writeRequest writes req's request line and header (no body). Header values
// cannot break the framing: CR and LF become spaces, as in http.Header.Write.
func writeRequest(w *bufio.Writer, req *http.Request) {
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vv := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" || k == "Trailer" {
			continue
		}
		for _, v := range vv {
			if k == "User-Agent" && v == "" {
				continue
			}
			w.WriteString(k)
			w.WriteString(": ")
			if strings.ContainsAny(v, "\r\n") {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			w.WriteString(strings.TrimSpace(v))
			w.WriteString("\r\n")
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		w.WriteString("User-Agent: Go-http-client/1.1\r\n")
	}
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		w.WriteString("Content-Length: 0\r\n")
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
}

// h1Body is an answer's body: read to its end, its connection goes back to
// the pool; closed earlier, the connection is closed.
type h1Body struct {
	t     *h1Transport
	c     *h1Conn
	rc    io.ReadCloser
	stop  func() bool
	reuse bool
	mu    sync.Mutex
	done  bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.release(true)
	} else if err != nil {
		b.release(false)
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.release(false)
	return nil
}

// release gives the connection back (at the body's end, when reusable) or closes it, once.
func (b *h1Body) release(atEOF bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	// stop is false when the context's cancellation already poisoned the connection's deadline.
	if b.stop() && atEOF && b.reuse {
		b.t.put(b.c)
		return
	}
	_ = b.c.nc.Close()
}
