package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"shop/internal/app"
	"shop/internal/auth"
	"shop/internal/httpx"
	"shop/internal/reqid"
)

// The fast path: the requests the gateway's engine (engine.go) proxies
// itself, without net/http: GETs without a body or protocol switch, to a
// canonical path of plain characters under a proxied prefix: nearly all of
// the shop's traffic. It does what the net/http chain does for them, in the
// same order, with the same shared pieces: the version header, the request
// id, fault injection, authentication and the per-client rate limit (admit),
// the upstream's breaker and fail-over (Upstream.Do), the answers to
// failures (upstreamFailure), metrics (route label = the ServeMux pattern),
// the access log, and a 500 on a panic. It differs in one way: it reads the
// upstream's answer whole (at most MaxFastAnswer) before passing it on,
// where the net/http forwarder streams it (the services answer JSON of a
// few KiB; nothing they serve is streamed). Every other request goes through
// the net/http chain.

// plainPath reports whether p is a path the fast path may take as it is:
// only letters, digits, '/', '-', '_' and '~', no empty segment. Such a
// path is canonical (see canonical) and reads the same decoded or not;
// anything else (dots, escapes, other characters) goes to the net/http
// chain, which checks it.
func plainPath(p string) bool {
	if p == "" || p[0] != '/' || strings.Contains(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '/', c == '-', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// fastRequest splits the request line's target of a request the fast path
// takes into its path and query, and finds its route (matchRoute); ok is false for every
// request the net/http chain must serve.
func fastRequest(ctx *fasthttp.RequestCtx) (path, query string, r *route, ok bool) {
	h := &ctx.Request.Header
	// ContentLength: 0, or -2 without the header; -1 is a chunked body.
	if !h.IsGet() || h.ContentLength() == -1 || len(ctx.Request.Body()) > 0 || len(h.Peek("Upgrade")) > 0 {
		return "", "", nil, false
	}
	target := string(h.RequestURI())
	path, query, _ = strings.Cut(target, "?")
	if !plainPath(path) {
		return "", "", nil, false
	}
	r, ok = matchRoute(path)
	return path, query, r, ok
}

// serveFast proxies one request of the fast path.
func (e *engine) serveFast(ctx *fasthttp.RequestCtx, path, query string, r *route) {
	g := e.g
	start := e.chain.Metrics.Begin()
	label := r.pattern
	rh := &ctx.Response.Header
	rh.Add(app.VersionHeader, e.chain.Version)
	id := string(ctx.Request.Header.Peek(reqid.Header))
	if !reqid.Valid(id) {
		id = reqid.New()
	}
	rh.Set(reqid.Header, id)
	defer func() {
		if v := recover(); v != nil {
			httpx.LogPanic(reqid.With(context.Background(), id), e.chain.Log, v)
			ctx.Response.Reset() // whatever the answer had so far
			ctx.Response.Header.Add(app.VersionHeader, e.chain.Version)
			ctx.Response.Header.Set(reqid.Header, id)
			writeRefusal(ctx, &refusal{status: http.StatusInternalServerError, code: httpx.InternalCode, msg: httpx.InternalMessage})
		}
		status := ctx.Response.StatusCode()
		e.chain.Metrics.End(start, label, http.MethodGet, status)
		app.LogRequest(reqid.With(context.Background(), id), e.chain.Log, slog.LevelInfo, http.MethodGet, path, status, time.Since(start))
	}()
	if e.chain.Fault != nil && e.chain.Fault() {
		// Injected before routing, as Faults does: counted as an unmatched route.
		label = "unmatched"
		rh.Set(app.FaultHeader, "true")
		writeRefusal(ctx, &refusal{status: http.StatusInternalServerError, code: app.FaultCode, msg: app.FaultMessage})
		return
	}
	claims, refused := g.admit(string(ctx.Request.Header.Peek("Authorization")), http.MethodGet, path, func() string {
		var xff []string
		for _, v := range ctx.Request.Header.PeekAll("X-Forwarded-For") {
			xff = append(xff, string(v))
		}
		return clientIP(xff, ctx.RemoteAddr().String(), g.TrustedProxyHops)
	})
	if refused != nil {
		writeRefusal(ctx, refused)
		return
	}

	up := r.upstream(g)
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	outRequest(ctx, req, path, cleanQuery(query), claims, id)
	if err := up.Do(req, resp, g.UpstreamTimeout); err != nil {
		writeRefusal(ctx, g.upstreamFailure(reqid.With(context.Background(), id), up, err))
		return
	}
	copyAnswer(ctx, resp)
}

// outRequest builds the request sent upstream: the client's header without
// the headers dropped (see dropped) and those its Connection header names,
// X-Forwarded-For/-Host/-Proto from the connection, the identity headers from
// the verified token, the request id. The host is set by Upstream.Do.
func outRequest(ctx *fasthttp.RequestCtx, req *fasthttp.Request, path, query string, claims *auth.Claims, id string) {
	in := &ctx.Request.Header
	out := &req.Header
	out.DisableNormalizing() // the names come normalised from the client's header
	out.SetMethod(http.MethodGet)
	if query != "" {
		out.SetRequestURI(path + "?" + query)
	} else {
		out.SetRequestURI(path)
	}
	var connection []string
	if c := in.Peek("Connection"); len(c) > 0 {
		connection = []string{string(c)}
	}
	for k, v := range in.All() {
		if string(k) == "Host" || !passedOn(string(k), connection) {
			continue
		}
		out.AddBytesKV(k, v)
	}
	fw := forwarded{peer: ctx.RemoteIP().String(), host: string(in.Host()), claims: claims, id: id}
	for _, p := range in.PeekAll("X-Forwarded-For") {
		fw.priorFor = append(fw.priorFor, string(p))
	}
	if te := in.Peek("Te"); len(te) > 0 {
		fw.te = []string{string(te)}
	}
	fw.set(out.Set)
}

// copyAnswer passes the upstream's answer on: its status, its header without
// hop-by-hop headers (and those its Connection header names), its
// X-Request-ID (the gateway's is already set) and its Date (the server sets
// its own), after the gateway's own headers; then its body, by exchanging
// buffers.
func copyAnswer(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	ctx.SetStatusCode(resp.StatusCode())
	rh := &ctx.Response.Header
	var connection []string
	if c := resp.Header.Peek("Connection"); len(c) > 0 {
		connection = []string{string(c)}
	}
	for k, v := range resp.Header.All() {
		switch string(k) {
		case "Content-Length", hRequestID, "Date":
			continue
		}
		if hop(string(k), connection) {
			continue
		}
		rh.AddBytesKV(k, v)
	}
	resp.SwapBody(ctx.Response.SwapBody(resp.Body()))
}

// writeRefusal answers with f: status, its header, the JSON error.
func writeRefusal(ctx *fasthttp.RequestCtx, f *refusal) {
	if f.header != "" {
		ctx.Response.Header.Set(f.header, f.headerValue)
	}
	ctx.SetStatusCode(f.status)
	ctx.SetContentType("application/json")
	ctx.SetBody(httpx.ErrorBody(f.code, f.msg))
}
