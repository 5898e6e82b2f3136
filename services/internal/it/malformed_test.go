package it

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestMalformedRequestsThroughTheGatewayGet4xx(t *testing.T) {
	needIT(t)
	s := startStack(t, stackOpts{})
	c := signup(t, s.gw.url())
	p := newProduct(t, c, "Target", 100, 5)
	good := c.token
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "shop", "sub": "1", "exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}).SignedString([]byte(JWTSecret))
	wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "shop", "sub": "1", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("another-secret-of-enough-length-123456"))
	noneAlg, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": "shop", "sub": "1", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	badSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "shop", "sub": "admin", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(JWTSecret))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "shop", "sub": "1"}).SignedString([]byte(JWTSecret))

	type req struct {
		name, method, path, ctype, body, auth string
	}
	pid := fmt.Sprint(p.ID)
	order := func(body string) req { return req{"", "POST", "/api/orders", "application/json", body, good} }
	cases := []req{
		{"register: empty body", "POST", "/api/users/register", "application/json", "", ""},
		{"register: not JSON", "POST", "/api/users/register", "application/json", "email=a@b.c", ""},
		{"register: truncated", "POST", "/api/users/register", "application/json", `{"email":"a@b.co","pass`, ""},
		{"register: array", "POST", "/api/users/register", "application/json", `[1,2]`, ""},
		{"register: wrong types", "POST", "/api/users/register", "application/json", `{"email":1,"password":true,"name":null}`, ""},
		{"register: unknown field", "POST", "/api/users/register", "application/json", `{"email":"a@b.co","password":"12345678","name":"x","admin":true}`, ""},
		{"register: bad email", "POST", "/api/users/register", "application/json", `{"email":"not-an-email","password":"12345678","name":"x"}`, ""},
		{"register: short password", "POST", "/api/users/register", "application/json", `{"email":"a@b.co","password":"1","name":"x"}`, ""},
		{"register: 100-byte password", "POST", "/api/users/register", "application/json", `{"email":"a@b.co","password":"` + strings.Repeat("p", 100) + `","name":"x"}`, ""},
		{"register: two objects", "POST", "/api/users/register", "application/json", `{"email":"a@b.co","password":"12345678","name":"x"}{}`, ""},
		{"register: form content type", "POST", "/api/users/register", "application/x-www-form-urlencoded", `email=a`, ""},
		{"register: invalid UTF-8 name", "POST", "/api/users/register", "application/json", "{\"email\":\"a@b.co\",\"password\":\"12345678\",\"name\":\"\xff\xfe\"}", ""},
		{"register: 100 KB body", "POST", "/api/users/register", "application/json", `{"email":"a@b.co","password":"12345678","name":"` + strings.Repeat("n", 100<<10) + `"}`, ""},
		{"register: deep nesting", "POST", "/api/users/register", "application/json", strings.Repeat("[", 5000) + strings.Repeat("]", 5000), ""},
		{"login: null", "POST", "/api/users/login", "application/json", `null`, ""},
		{"login: missing password", "POST", "/api/users/login", "application/json", `{"email":"a@b.co"}`, ""},
		{"login: GET", "GET", "/api/users/login", "", "", ""},
		{"me: no token", "GET", "/api/users/me", "", "", ""},
		{"me: garbage token", "GET", "/api/users/me", "", "", "Bearer not.a.jwt"},
		{"me: basic auth", "GET", "/api/users/me", "", "", "Basic dXNlcjpwYXNz"},
		{"me: expired token", "GET", "/api/users/me", "", "", "Bearer " + expired},
		{"me: token signed with another key", "GET", "/api/users/me", "", "", "Bearer " + wrongKey},
		{"me: alg none", "GET", "/api/users/me", "", "", "Bearer " + noneAlg},
		{"me: non-numeric subject", "GET", "/api/users/me", "", "", "Bearer " + badSub},
		{"me: token without expiry", "GET", "/api/users/me", "", "", "Bearer " + noExp},
		{"me: huge token", "GET", "/api/users/me", "", "", "Bearer " + strings.Repeat("a", 8000)},
		{"products: page 0", "GET", "/api/products?page=0", "", "", ""},
		{"products: size 1000", "GET", "/api/products?size=1000", "", "", ""},
		{"products: page text", "GET", "/api/products?page=two", "", "", ""},
		{"products: unknown parameter", "GET", "/api/products?sort=price", "", "", ""},
		{"products: long q", "GET", "/api/products?q=" + strings.Repeat("q", 300), "", "", ""},
		{"products: bad id", "GET", "/api/products/abc", "", "", ""},
		{"products: negative id", "GET", "/api/products/-1", "", "", ""},
		{"products: id overflow", "GET", "/api/products/99999999999999999999999", "", "", ""},
		{"products: leading zero id", "GET", "/api/products/007", "", "", ""},
		{"products: unknown id", "GET", "/api/products/987654321", "", "", ""},
		{"products: create without token", "POST", "/api/products", "application/json", `{"name":"x","description":"","price_cents":1,"stock":1}`, ""},
		{"products: negative price", "POST", "/api/products", "application/json", `{"name":"x","description":"","price_cents":-1,"stock":1}`, good},
		{"products: float stock", "POST", "/api/products", "application/json", `{"name":"x","description":"","price_cents":1,"stock":1.5}`, good},
		{"products: huge stock", "POST", "/api/products", "application/json", `{"name":"x","description":"","price_cents":1,"stock":1e30}`, good},
		{"products: empty name", "POST", "/api/products", "application/json", `{"name":"  ","description":"","price_cents":1,"stock":1}`, good},
		{"products: update unknown", "PUT", "/api/products/987654321", "application/json", `{"name":"x","description":"","price_cents":1,"stock":1}`, good},
		{"products: delete bad id", "DELETE", "/api/products/x", "", "", good},
		{"products: PATCH", "PATCH", "/api/products/" + pid, "application/json", `{}`, good},
		{"products: reserve is not routed", "POST", "/internal/stock/reserve", "application/json", `{"order_id":"x","items":[{"product_id":1,"quantity":1}]}`, good},
		{"orders: no token", "POST", "/api/orders", "application/json", `{"items":[{"product_id":` + pid + `,"quantity":1}]}`, ""},
		{"orders: spoofed user header only", "GET", "/api/orders", "", "", "X-User-ID 1"},
		func() req { r := order(`{"items":[]}`); r.name = "orders: no items"; return r }(),
		func() req {
			r := order(`{"items":[{"product_id":` + pid + `,"quantity":0}]}`)
			r.name = "orders: zero quantity"
			return r
		}(),
		func() req {
			r := order(`{"items":[{"product_id":` + pid + `,"quantity":-3}]}`)
			r.name = "orders: negative quantity"
			return r
		}(),
		func() req {
			r := order(`{"items":[{"product_id":` + pid + `,"quantity":1000000}]}`)
			r.name = "orders: absurd quantity"
			return r
		}(),
		func() req {
			r := order(`{"items":[{"product_id":` + pid + `,"quantity":1},{"product_id":` + pid + `,"quantity":1}]}`)
			r.name = "orders: duplicate product"
			return r
		}(),
		func() req {
			r := order(`{"items":[{"product_id":987654321,"quantity":1}]}`)
			r.name = "orders: unknown product"
			return r
		}(),
		func() req {
			r := order(`{"items":[{"product_id":` + pid + `,"quantity":6}]}`)
			r.name = "orders: more than the stock"
			return r
		}(),
		func() req { r := order(`{"items":"all"}`); r.name = "orders: items not a list"; return r }(),
		{"orders: bad id", "GET", "/api/orders/..%2f..%2fetc", "", "", good},
		{"orders: unknown id", "GET", "/api/orders/ffffffffffffffffffffffffffffffff", "", "", good},
		{"orders: cancel with body", "POST", "/api/orders/ffffffffffffffffffffffffffffffff/cancel", "application/json", `{"why":1}`, good},
		{"orders: pay unknown", "POST", "/api/orders/ffffffffffffffffffffffffffffffff/pay", "", "", good},
		{"path: dot segments", "GET", "/api/products/../orders", "", "", good},
		{"path: double slash", "GET", "//api/products", "", "", ""},
		{"path: encoded slash", "GET", "/api/products/1%2F2", "", "", ""},
		{"path: unknown prefix", "GET", "/api/admin", "", "", good},
		{"path: root", "GET", "/", "", "", ""},
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(tc.method, s.gw.url()+"/", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			r.URL.Opaque = strings.SplitN(tc.path, "?", 2)[0] // send the path exactly as written
			if q := strings.SplitN(tc.path, "?", 2); len(q) == 2 {
				r.URL.RawQuery = q[1]
			}
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			if h, v, ok := strings.Cut(tc.auth, " "); ok && h == "X-User-ID" {
				r.Header.Set(h, v)
			} else if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			resp, err := hc.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Fatalf("%s %s answered %d, want 4xx: %.200s", tc.method, tc.path, resp.StatusCode, b)
			}
		})
	}

	raw := []struct{ name, data string }{
		{"bad request line", "GARBAGE\r\n\r\n"},
		{"bad header", "GET /api/products HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"},
		{"bad content length", "POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"},
		{"two content lengths", "POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"},
		{"HTTP/1.1 without host", "GET /api/products HTTP/1.1\r\n\r\n"},
		{"huge header", "GET /api/products HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n"},
		{"chunked garbage", "POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
	}
	for _, tc := range raw {
		t.Run("raw: "+tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.gw.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(conn, tc.data)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Fatalf("answered %d, want 4xx", resp.StatusCode)
			}
		})
	}
	for _, pr := range []*proc{s.gw, s.user, s.product, s.order} {
		if !pr.running() {
			t.Fatalf("%s exited", pr.name)
		}
		if strings.Contains(pr.out.String(), "handler panic") {
			t.Errorf("%s logged a handler panic", pr.name)
		}
	}
}
