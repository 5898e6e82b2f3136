package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"shop/internal/auth"
	"shop/internal/reqid"
)

// forwarder is the gateway's proxy for every request that does not switch
// protocols. It forwards what httputil.ReverseProxy with the gateway's Rewrite
// forwarded (hop-by-hop headers removed, X-Forwarded-For/-Host/-Proto set
// from the client connection, the identity headers only from a verified
// token, the request id passed on, unparsable query parameters dropped, the
// response streamed back with the upstream's X-Request-ID removed), for less
// work per request: no clone of the request and its header, no client trace,
// no header copy that allocates per key, a pooled copy buffer. (1xx
// informational answers of the upstream are not relayed; the services send
// none.)
type forwarder struct {
	g        *Gateway
	u        *Upstream
	upgrades *httputil.ReverseProxy
	onError  func(http.ResponseWriter, *http.Request, error)
}

// dropped reports the request headers not forwarded: hop-by-hop headers (RFC
// 9110 7.6.1), like httputil does, and the client's forwarding and identity
// headers, which the gateway replaces by its own. (A switch: cheaper than a
// map lookup per header.)
func dropped(k string) bool {
	switch k {
	case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", hUserID, hUserEmail, hRequestID:
		return true
	}
	return hopByHop(k)
}

// hopByHop reports whether k (canonical) is a hop-by-hop header (RFC 9110
// 7.6.1), which a proxy never passes on, in either direction.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te",
		"Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// The canonical forms of the header names (keys of an http.Header).
const (
	hUserID    = "X-User-Id"
	hUserEmail = "X-User-Email"
	hRequestID = "X-Request-Id"
)

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header["Upgrade"] != nil {
		f.upgrades.ServeHTTP(w, r)
		return
	}
	out := new(http.Request)
	*out = *r // the same context, method, URL (Upstream.send copies it before setting the backend)
	out.Header = f.outHeader(r)
	out.Host, out.RequestURI, out.Close = "", "", false
	if q := cleanQuery(r.URL.RawQuery); q != r.URL.RawQuery {
		u := *r.URL
		u.RawQuery = q
		out.URL = &u
	}
	if r.ContentLength == 0 {
		out.Body = nil // lets the transport retry on a stale connection
	} else if r.Body != nil {
		// The transport closes what it is given; the server closes the client's body.
		out.Body = noCloseBody{r.Body}
	}
	resp, err := f.u.RoundTrip(out)
	if err != nil {
		f.onError(w, out, err)
		return
	}
	defer resp.Body.Close()

	removeHop(resp.Header)
	// The gateway already answers with the request's ID (the same one it passed upstream): the
	// upstream's copy would make the header appear twice on the client's response.
	delete(resp.Header, hRequestID)
	h := w.Header()
	for k, vv := range resp.Header {
		if prev, ok := h[k]; ok {
			h[k] = append(prev, vv...)
		} else {
			h[k] = vv
		}
	}
	if len(resp.Trailer) > 0 {
		keys := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)

	buf := bufPool.Get()
	err = copyBody(w, resp, buf)
	bufPool.Put(buf)
	if err != nil {
		// Like httputil.ReverseProxy: abort, so the client sees a truncated answer and not a complete one.
		f.g.Log.DebugContext(r.Context(), "copying the upstream's answer failed", "upstream", f.u.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
}

// outHeader is the header sent upstream.
func (f *forwarder) outHeader(r *http.Request) http.Header {
	in := r.Header
	h := make(http.Header, len(in)+6)
	for k, vv := range in {
		if passedOn(k, in["Connection"]) {
			h[k] = vv // shared, never modified: the transport only reads it
		}
	}
	// The values the gateway sets share one backing array (one allocation, not one each).
	vals := make([]string, 0, 8)
	set := func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	fw := forwarded{host: r.Host, tls: r.TLS != nil, priorFor: in["X-Forwarded-For"], te: in["Te"], id: reqid.From(r.Context())}
	fw.peer, _, _ = net.SplitHostPort(r.RemoteAddr)
	if st := stateOf(r.Context()); st != nil {
		fw.claims = st.claims
	}
	fw.set(set)
	if _, ok := h["User-Agent"]; !ok {
		set("User-Agent", "") // not Go's default client User-Agent
	}
	return h
}

// passedOn reports whether the client's header k (canonical) goes upstream:
// not one the gateway sets itself or a hop-by-hop one (dropped), nor one its
// Connection header (connection) names.
func passedOn(k string, connection []string) bool {
	return !dropped(k) && !namedBy(connection, k)
}

// hop reports whether header k (canonical) of a message stays on its hop: a
// hop-by-hop header, or one the message's Connection values (connection)
// name. The rule for answers on both paths (removeHop, copyAnswer).
func hop(k string, connection []string) bool {
	return hopByHop(k) || namedBy(connection, k)
}

// namedBy reports whether the Connection values name header k.
func namedBy(connection []string, k string) bool {
	return len(connection) > 0 && hasToken(connection, k)
}

// forwarded is what the gateway adds to a request it proxies, on both paths.
type forwarded struct {
	peer     string   // the TCP peer's address ("" when unknown: no X-Forwarded-For)
	priorFor []string // the client's X-Forwarded-For values
	host     string   // the Host the client asked for
	tls      bool
	te       []string // the client's TE values: "trailers" is passed on
	claims   *auth.Claims
	id       string // the request id
}

// set calls set with each header: X-Forwarded-For (the client's values,
// then the peer), -Host, -Proto, TE: trailers, the verified identity, the
// request id.
func (f forwarded) set(set func(k, v string)) {
	if f.peer != "" {
		xff := f.peer
		if len(f.priorFor) > 0 {
			xff = strings.Join(f.priorFor, ", ") + ", " + xff
		}
		set("X-Forwarded-For", xff)
	}
	if f.host != "" {
		set("X-Forwarded-Host", f.host)
	}
	if f.tls {
		set("X-Forwarded-Proto", "https")
	} else {
		set("X-Forwarded-Proto", "http")
	}
	if hasToken(f.te, "trailers") {
		set("Te", "trailers")
	}
	if f.claims != nil {
		set(hUserID, f.claims.Subject)
		set(hUserEmail, f.claims.Email)
	}
	if f.id != "" {
		set(hRequestID, f.id)
	}
}

// removeHop deletes hop-by-hop headers of a response, those its Connection header names included.
func removeHop(h http.Header) {
	connection := h["Connection"]
	for k := range h {
		if hop(k, connection) {
			delete(h, k)
		}
	}
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// copyBody streams the answer to the client; answers of unknown length and
// event streams are flushed after each read, like httputil.ReverseProxy does.
func copyBody(w http.ResponseWriter, resp *http.Response, buf []byte) error {
	flush := resp.ContentLength == -1 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	var rc *http.ResponseController
	if flush {
		rc = http.NewResponseController(w)
	}
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if flush {
				if err := rc.Flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// cleanQuery drops what url.ParseQuery cannot parse (semicolons, bad escapes), like httputil.ReverseProxy.
func cleanQuery(q string) string {
	for i := 0; i < len(q); {
		switch q[i] {
		case ';':
			v, _ := url.ParseQuery(q)
			return v.Encode()
		case '%':
			if i+2 >= len(q) || !ishex(q[i+1]) || !ishex(q[i+2]) {
				v, _ := url.ParseQuery(q)
				return v.Encode()
			}
			i += 3
		default:
			i++
		}
	}
	return q
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// noCloseBody keeps the transport from closing the client's request body.
type noCloseBody struct{ io.ReadCloser }

func (noCloseBody) Close() error { return nil }
