package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"shop/internal/app"
	"shop/internal/httpserver"
)

// The gateway's HTTP engine is fasthttp, not net/http: measured with
// bench/gateway.sh, net/http's server (a goroutine and a background read per
// connection, allocations per request) cost the gateway most of its CPU once
// its own code was lean. The engine serves the fast path (fastpath.go)
// itself and hands every other request (bodies, protocol switches, HEAD and
// other methods, unusual paths, health, metrics, unknown routes) to the
// service's net/http chain through fasthttpadaptor, so both keep one
// behaviour.

// MaxRequestBody bounds a request body the gateway accepts (413 beyond):
// fasthttp reads bodies whole before serving, and the services' JSON
// endpoints take at most httpx.MaxBody.
const MaxRequestBody = 1 << 20

// MaxHeaderBytes bounds a request's header (431 beyond), as httpserver does.
const MaxHeaderBytes = 32 << 10

// engine serves the gateway's listener.
type engine struct {
	g     *Gateway
	chain app.Chain
	slow  fasthttp.RequestHandler
	// draining: the server is shutting down; every answer closes its connection.
	draining atomic.Bool
}

func newEngine(g *Gateway, c app.Chain) *engine {
	for _, u := range g.upstreams() {
		u.initFast()
	}
	return &engine{g: g, chain: c, slow: fasthttpadaptor.NewFastHTTPHandler(detached(c.Handler))}
}

// detached gives each request the net/http chain serves a context of its
// own, cancelled when the chain returns. fasthttpadaptor would pass the
// fasthttp.RequestCtx itself as the context, which fasthttp reuses for the
// connection's next request, while net/http's Transport may still read the
// context after the handler returned (the race detector caught it).
// (fasthttp never cancels a RequestCtx when its client goes away, so no
// signal is lost.)
//
// It also gives the request's strings memory of their own (ownStrings).
func detached(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r = r.WithContext(ctx)
		ownStrings(r)
		h.ServeHTTP(w, r)
	})
}

// ownStrings copies the strings of a request fasthttpadaptor made (method,
// host, URI, URL, header names and values) into memory of their own.
// fasthttpadaptor converts without copying: its strings share the bytes of
// the fasthttp.RequestCtx, which the server reuses for later requests, so a
// string the chain keeps beyond the request (the token cache's and the rate
// limiter's map keys, metrics labels) would change under it: a map whose
// keys change can return one client's entry for another's token.
func ownStrings(r *http.Request) {
	r.Method = strings.Clone(r.Method)
	r.Host = strings.Clone(r.Host)
	r.RequestURI = strings.Clone(r.RequestURI)
	r.Proto = strings.Clone(r.Proto)
	r.RemoteAddr = strings.Clone(r.RemoteAddr)
	if r.URL != nil {
		u := *r.URL
		u.Scheme, u.Opaque, u.Host = strings.Clone(u.Scheme), strings.Clone(u.Opaque), strings.Clone(u.Host)
		u.Path, u.RawPath, u.RawQuery = strings.Clone(u.Path), strings.Clone(u.RawPath), strings.Clone(u.RawQuery)
		u.Fragment, u.RawFragment = strings.Clone(u.Fragment), strings.Clone(u.RawFragment)
		if u.User != nil {
			if p, ok := u.User.Password(); ok {
				u.User = url.UserPassword(strings.Clone(u.User.Username()), strings.Clone(p))
			} else {
				u.User = url.User(strings.Clone(u.User.Username()))
			}
		}
		r.URL = &u
	}
	h := make(http.Header, len(r.Header))
	for k, vs := range r.Header {
		own := make([]string, len(vs))
		for i, v := range vs {
			own[i] = strings.Clone(v)
		}
		h[strings.Clone(k)] = own
	}
	r.Header = h
}

// handle is the server's handler: the fast path, or the net/http chain.
func (e *engine) handle(ctx *fasthttp.RequestCtx) {
	if path, query, route, ok := fastRequest(ctx); ok {
		e.serveFast(ctx, path, query, route)
	} else {
		e.slow(ctx)
	}
	if e.draining.Load() {
		ctx.SetConnectionClose()
	}
}

// server is the fasthttp server with httpserver's timeouts: o.ReadHeaderTimeout
// to read a request's header, o.ReadTimeout its body, o.WriteTimeout the
// answer, o.IdleTimeout between requests.
func (e *engine) server(o httpserver.Options) *fasthttp.Server {
	o = o.WithDefaults()
	return &fasthttp.Server{
		Handler:      e.handle,
		ErrorHandler: e.badRequest,
		ReadTimeout:  o.ReadHeaderTimeout,
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if noBody(h) {
				// Nothing more to read: the header's deadline stays, and a
				// deadline change per request is saved (bench/gateway.sh).
				return fasthttp.RequestConfig{}
			}
			return fasthttp.RequestConfig{ReadTimeout: o.ReadTimeout}
		},
		WriteTimeout:                 o.WriteTimeout,
		IdleTimeout:                  o.IdleTimeout,
		ReadBufferSize:               MaxHeaderBytes,
		MaxRequestBodySize:           MaxRequestBody,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       warnLogger{e.chain.Log},
	}
}

// noBody reports whether a request's header announces no body: neither a
// Content-Length above 0 nor a chunked Transfer-Encoding (ContentLength is
// -1 for chunked, -2 without either header, which for a request is no body).
func noBody(h *fasthttp.RequestHeader) bool {
	n := h.ContentLength()
	return n == 0 || n == -2
}

// badRequest answers a request fasthttp could not read, in the services' JSON.
func (e *engine) badRequest(ctx *fasthttp.RequestCtx, err error) {
	f := &refusal{status: http.StatusBadRequest, code: "bad_request", msg: "the request could not be read"}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		f = &refusal{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("the request body is larger than %d bytes", MaxRequestBody)}
	case errors.As(err, &small):
		f = &refusal{status: http.StatusRequestHeaderFieldsTooLarge, code: "header_too_large", msg: fmt.Sprintf("the request header is larger than %d bytes", MaxHeaderBytes)}
	case errors.Is(err, fasthttp.ErrTimeout) || isTimeout(err):
		f = &refusal{status: http.StatusRequestTimeout, code: "timeout", msg: "the request was not received in time"}
	}
	ctx.Response.Header.Add(app.VersionHeader, e.chain.Version)
	writeRefusal(ctx, f)
	ctx.SetConnectionClose()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Serve implements app.Engine with httpserver.Serve's contract: when ctx
// ends, readiness turns 503 (o.OnShutdown), the server keeps serving for
// o.Drain with every answer closing its connection, then stops accepting,
// lets in-flight requests finish within o.ShutdownTimeout and returns.
func (s *service) Serve(ctx context.Context, ln net.Listener, c app.Chain, o httpserver.Options) error {
	return newEngine(s.g, c).serve(ctx, ln, o)
}

func (e *engine) serve(ctx context.Context, ln net.Listener, o httpserver.Options) error {
	return httpserver.Serve(ctx, ln, fastServer{e.server(o), e}, e.chain.Log, o)
}

// fastServer is the fasthttp server as an httpserver.Server.
type fastServer struct {
	*fasthttp.Server
	e *engine
}

// SetKeepAlivesEnabled(false) starts the drain: every answer closes its connection (see handle).
func (f fastServer) SetKeepAlivesEnabled(on bool) { f.e.draining.Store(!on) }

func (f fastServer) Shutdown(ctx context.Context) error { return f.Server.ShutdownWithContext(ctx) }

// Close has nothing to force once Shutdown timed out: fasthttp has no
// abrupt stop, and the process exits right after (app.Run returns 1).
func (f fastServer) Close() error { return nil }

// warnLogger passes fasthttp's own messages (connection errors) to the log at warn.
type warnLogger struct{ log *slog.Logger }

func (l warnLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...), "engine", "fasthttp")
}
