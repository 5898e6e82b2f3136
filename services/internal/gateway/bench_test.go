package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"shop/internal/app"
	"shop/internal/auth"
)

// BenchmarkProxyAuthenticated measures one authenticated, rate-limited
// request through the engine's handler (the fast path) to a keep-alive
// upstream in the same process, whose own work and allocations are counted
// too (go test -bench Proxy -benchmem ./internal/gateway; add -cpuprofile to
// profile). The client side of the connection is left out: bench/gateway.sh
// measures the whole server.
func BenchmarkProxyAuthenticated(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":1,"name":"Mug","price_cents":100,"stock":3}`)
	}))
	defer up.Close()
	u := []*url.URL{mustURL(up.URL)}
	g := gatewayOver(1e9, 1e9, u, u, u, DefaultBreaker)
	mux := http.NewServeMux()
	g.Routes(mux)
	e := newEngine(g, app.NewChain("gateway", testVersion, quiet, prometheus.NewRegistry(), 0, nil, g.Canonical(mux)))
	tok, _, _ := auth.NewKeys(secret, time.Hour).Issue(1, "a@b.co")
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/api/orders/1")
	req.Header.SetHost("gw")
	req.Header.Set("Authorization", "Bearer "+tok)
	client := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, client, nil)
		for pb.Next() {
			ctx.Response.Reset()
			e.handle(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}
