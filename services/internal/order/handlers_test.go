package order

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/app"
	"shop/internal/config"
	"shop/internal/httpx"
	"shop/internal/stock"
)

type fakeOrders struct {
	calls  []string
	orders map[string]Order
	down   bool
}

func (f *fakeOrders) Begin(_ context.Context, id string, userID int64, _ []stock.Item, _ Idempotency) (string, error) {
	f.calls = append(f.calls, "begin")
	if f.down {
		return "", fmt.Errorf("%w: mysql gone", httpx.ErrDependency)
	}
	f.orders[id] = Order{ID: id, UserID: userID, Status: StatusNew}
	return "", nil
}
func (f *fakeOrders) Discard(_ context.Context, id string) error {
	f.calls = append(f.calls, "discard")
	delete(f.orders, id)
	return nil
}
func (f *fakeOrders) MarkFailed(_ context.Context, id string) error {
	f.calls = append(f.calls, "failed")
	o := f.orders[id]
	o.Status = StatusFailed
	f.orders[id] = o
	return nil
}
func (f *fakeOrders) Confirm(_ context.Context, id string, r []stock.ReservedItem, _ time.Duration) (Order, error) {
	f.calls = append(f.calls, "confirm")
	o := f.orders[id]
	o.Status = StatusPending
	for _, it := range r {
		o.TotalCents += it.PriceCents * it.Quantity
	}
	f.orders[id] = o
	return o, nil
}
func (f *fakeOrders) Get(_ context.Context, userID int64, id string) (Order, error) {
	o, ok := f.orders[id]
	if !ok || o.UserID != userID {
		return Order{}, ErrNotFound
	}
	return o, nil
}
func (f *fakeOrders) List(context.Context, int64, int) ([]Order, error) { return []Order{}, nil }
func (f *fakeOrders) Transition(_ context.Context, userID int64, id, to string) (Order, bool, error) {
	o, ok := f.orders[id]
	if !ok || o.UserID != userID {
		return Order{}, false, ErrNotFound
	}
	if o.Status != StatusPending {
		return o, false, ErrWrongState
	}
	o.Status = to
	f.orders[id] = o
	return o, true, nil
}
func (f *fakeOrders) MarkReleased(context.Context, string) error {
	f.calls = append(f.calls, "released")
	return nil
}

type fakeStock struct {
	err      error
	released []string
}

func (s *fakeStock) Reserve(_ context.Context, _ string, items []stock.Item) ([]stock.ReservedItem, error) {
	if s.err != nil {
		return nil, s.err
	}
	out := make([]stock.ReservedItem, len(items))
	for i, it := range items {
		out[i] = stock.ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity, PriceCents: 100}
	}
	return out, nil
}
func (s *fakeStock) Release(_ context.Context, id string) error {
	s.released = append(s.released, id)
	return nil
}

func setup() (*fakeOrders, *fakeStock, http.Handler) {
	o := &fakeOrders{orders: map[string]Order{}}
	s := &fakeStock{}
	h := &Handlers{Store: o, Stock: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PaymentTimeout: time.Minute, Notify: func() {},
		Created:     prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}),
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"to", "outcome"})}
	mux := http.NewServeMux()
	h.Routes(mux)
	return o, s, mux
}

func post(h http.Handler, path, body, user string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	if user != "" {
		r.Header.Set(UserHeader, user)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const oneItem = `{"items":[{"product_id":1,"quantity":2}]}`

func TestCreateOrderStepsByReservationOutcome(t *testing.T) {
	cases := []struct {
		name     string
		stockErr error
		dbDown   bool
		status   int
		calls    string
	}{
		{"reserved", nil, false, 201, "begin,confirm"},
		{"refused: nothing reserved, order discarded", &RefusedError{Status: 409, Code: "insufficient_stock", Msg: "no"}, false, 409, "begin,discard"},
		{"unknown product", &RefusedError{Status: 422, Code: "unknown_product", Msg: "no"}, false, 422, "begin,discard"},
		{"product service down: order marked failed for the sweeper", fmt.Errorf("%w: refused", httpx.ErrDependency), false, 503, "begin,failed"},
		{"database down: nothing reserved", nil, true, 503, "begin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, s, h := setup()
			s.err = tc.stockErr
			o.down = tc.dbDown
			w := post(h, "/api/orders", oneItem, "7")
			if w.Code != tc.status {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.status)
			}
			if got := strings.Join(o.calls, ","); got != tc.calls {
				t.Fatalf("store calls %q, want %q", got, tc.calls)
			}
		})
	}
}

func TestOrdersNeedTheGatewaysUserHeaderAndValidBodies(t *testing.T) {
	_, _, h := setup()
	cases := []struct {
		user, body string
		status     int
	}{
		{"", oneItem, 401},
		{"abc", oneItem, 401},
		{"0", oneItem, 401},
		{"7", `{"items":[]}`, 400},
		{"7", `{"items":[{"product_id":1,"quantity":0}]}`, 400},
		{"7", `{"items":[{"product_id":1,"quantity":1}],"user_id":9}`, 400},
	}
	for _, tc := range cases {
		if w := post(h, "/api/orders", tc.body, tc.user); w.Code != tc.status {
			t.Errorf("user %q body %s: %d, want %d", tc.user, tc.body, w.Code, tc.status)
		}
	}
}

func TestCancelReleasesStockOnceAndPayAfterCancelConflicts(t *testing.T) {
	o, s, h := setup()
	w := post(h, "/api/orders", oneItem, "7")
	var id string
	for k := range o.orders {
		id = k
	}
	if w.Code != 201 || id == "" {
		t.Fatal("create failed")
	}
	if w := post(h, "/api/orders/"+id+"/cancel", "", "8"); w.Code != 404 {
		t.Fatalf("another user's cancel: %d, want 404", w.Code)
	}
	if w := post(h, "/api/orders/"+id+"/cancel", "", "7"); w.Code != 200 {
		t.Fatalf("cancel: %d", w.Code)
	}
	if len(s.released) != 1 || s.released[0] != id {
		t.Fatalf("released %v", s.released)
	}
	if w := post(h, "/api/orders/"+id+"/pay", "", "7"); w.Code != 409 {
		t.Fatalf("pay a cancelled order: %d, want 409", w.Code)
	}
	if w := post(h, "/api/orders/bad$id/pay", "", "7"); w.Code != 400 {
		t.Fatalf("bad id: %d, want 400", w.Code)
	}
}

func TestSweepInterval(t *testing.T) {
	cases := []struct{ timeout, want time.Duration }{
		{time.Second, 250 * time.Millisecond},
		{10 * time.Second, time.Second},
		{time.Hour, 30 * time.Second},
	}
	for _, tc := range cases {
		if got := SweepInterval(tc.timeout); got != tc.want {
			t.Errorf("SweepInterval(%s) = %s, want %s", tc.timeout, got, tc.want)
		}
	}
}

func TestIdempotencyKeyHeaderMustBeOnePrintableToken(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   string // "" = accepted
	}{
		{"absent", nil, ""},
		{"a UUID", []string{"0b6f3c1e-8a4d-4f7e-9c1a-2d3e4f5a6b7c"}, ""},
		{"empty", []string{""}, "1 to 128 characters"},
		{"too long", []string{strings.Repeat("k", 129)}, "1 to 128 characters"},
		{"with a space", []string{"my key"}, "printable ASCII"},
		{"non-ASCII", []string{"clé"}, "printable ASCII"},
		{"two headers", []string{"a", "b"}, "send one Idempotency-Key header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.values {
				h.Add(IdempotencyHeader, v)
			}
			_, err := ParseIdempotencyKey(h)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.want == "" || len(tc.values) == 0 {
				return
			}
			// Through the handler: a 400 before anything is stored.
			o, _, hd := setup()
			r := httptest.NewRequest("POST", "/api/orders", strings.NewReader(oneItem))
			r.Header.Set(UserHeader, "7")
			for _, v := range tc.values {
				r.Header.Add(IdempotencyHeader, v)
			}
			w := httptest.NewRecorder()
			hd.ServeHTTP(w, r)
			if w.Code != 400 || !strings.Contains(w.Body.String(), IdempotencyHeader) || len(o.calls) != 0 {
				t.Fatalf("%d %s, store calls %v; want 400 naming the header and no store call", w.Code, w.Body, o.calls)
			}
		})
	}
}

func TestBodyHashIgnoresLineOrderButNotQuantities(t *testing.T) {
	a, _ := DecodeCreate("", strings.NewReader(`{"items":[{"product_id":2,"quantity":1},{"product_id":1,"quantity":3}]}`))
	b, _ := DecodeCreate("", strings.NewReader(`{"items": [{"product_id":1,"quantity":3}, {"product_id":2,"quantity":1}]}`))
	c, _ := DecodeCreate("", strings.NewReader(`{"items":[{"product_id":1,"quantity":3},{"product_id":2,"quantity":2}]}`))
	if BodyHash(a.Items) != BodyHash(b.Items) {
		t.Error("the same lines in another order hash differently")
	}
	if BodyHash(a.Items) == BodyHash(c.Items) {
		t.Error("another quantity hashes the same")
	}
}

func TestLoadConfigNamesBadVariables(t *testing.T) {
	env := map[string]string{"MYSQL_HOST": "db", "MYSQL_USER": "u", "MYSQL_PASSWORD": "p", "MYSQL_DATABASE": "shop",
		"RABBITMQ_HOST": "mq", "RABBITMQ_USER": "u", "RABBITMQ_PASSWORD": "p", "PRODUCT_URL": "http://product:8080", "ORDER_PAYMENT_TIMEOUT": "15m"}
	l := config.New(func(k string) string { return env[k] })
	c := LoadConfig(l)
	if err := l.Err(); err != nil || c.ProductURL != "http://product:8080" || c.AMQP.VHost != "/" || c.PaymentTimeout != 15*time.Minute ||
		c.RequestTimeout != config.DefaultRequestTimeout || c.ProductTimeout != DefaultProductTimeout {
		t.Fatalf("%+v %v", c, err)
	}
	for k, v := range map[string]string{"ORDER_PAYMENT_TIMEOUT": "soon", "PRODUCT_URL": "product:8080", "RABBITMQ_PORT": "amqp", "PRODUCT_TIMEOUT": "8s"} {
		bad := map[string]string{}
		for a, b := range env {
			bad[a] = b
		}
		bad[k] = v
		l := config.New(func(x string) string { return bad[x] })
		LoadConfig(l)
		if err := l.Err(); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error %v does not name it", k, v, err)
		}
	}
}

func FuzzDecodeCreate(f *testing.F) {
	f.Add(oneItem)
	f.Add(`{"items":[{"product_id":1,"quantity":1},{"product_id":1,"quantity":1}]}`)
	f.Add(`{"items":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeCreate("application/json", strings.NewReader(body))
		if err != nil {
			return
		}
		if len(req.Items) == 0 || len(req.Items) > stock.MaxItems {
			t.Fatalf("accepted %+v", req)
		}
		for i, it := range req.Items {
			if it.ProductID < 1 || it.Quantity < 1 || it.Quantity > stock.MaxQuantity || (i > 0 && req.Items[i-1].ProductID >= it.ProductID) {
				t.Fatalf("accepted %+v", req)
			}
		}
	})
}

func TestBudgetsAreOrderedByDefaultAndTheProductCallMustFitTheRequest(t *testing.T) {
	base := map[string]string{"MYSQL_HOST": "db", "MYSQL_USER": "u", "MYSQL_PASSWORD": "p", "MYSQL_DATABASE": "shop",
		"RABBITMQ_HOST": "mq", "RABBITMQ_USER": "u", "RABBITMQ_PASSWORD": "p", "PRODUCT_URL": "http://product:8080"}
	cases := []struct {
		name             string
		request, product string
		wantErr          string
		wantProduct      time.Duration
		wantStale        time.Duration
	}{
		{"defaults", "", "", "", DefaultProductTimeout, 2 * config.DefaultRequestTimeout},
		{"as the platform sets them", "8s", "3s", "", 3 * time.Second, 16 * time.Second},
		{"equal budgets", "3s", "3s", "PRODUCT_TIMEOUT: must be shorter than REQUEST_TIMEOUT", 0, 0},
		{"the call outlasting the request", "2s", "5s", "PRODUCT_TIMEOUT: must be shorter than REQUEST_TIMEOUT", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"REQUEST_TIMEOUT": tc.request, "PRODUCT_TIMEOUT": tc.product}
			for k, v := range base {
				env[k] = v
			}
			l := config.New(func(k string) string { return env[k] })
			c := LoadConfig(l)
			err := l.Err()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.ProductTimeout != tc.wantProduct || StaleAfter(c.RequestTimeout) != tc.wantStale {
				t.Fatalf("%v: product %s stale %s", err, c.ProductTimeout, StaleAfter(c.RequestTimeout))
			}
			if StaleAfter(c.RequestTimeout) <= c.RequestTimeout {
				t.Fatal("the sweeper could fail an order whose request is still within its deadline")
			}
		})
	}
}

// blockingStock reserves only once release is closed, and counts its calls.
type blockingStock struct {
	release chan struct{}
	calls   atomic.Int64
}

func (s *blockingStock) Reserve(ctx context.Context, _ string, items []stock.Item) ([]stock.ReservedItem, error) {
	s.calls.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", httpx.ErrDependency, ctx.Err())
	}
	out := make([]stock.ReservedItem, len(items))
	for i, it := range items {
		out[i] = stock.ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity, PriceCents: 100}
	}
	return out, nil
}
func (s *blockingStock) Release(context.Context, string) error { return nil }

func TestTheRequestDeadlineEndsAStuckProductCallBeforeTheGatewayGivesUp(t *testing.T) {
	o := &fakeOrders{orders: map[string]Order{}}
	s := &blockingStock{release: make(chan struct{})}
	h := &Handlers{Store: o, Stock: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PaymentTimeout: time.Minute, Notify: func() {},
		Created:     prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}),
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"to", "outcome"})}
	mux := http.NewServeMux()
	h.Routes(mux)
	const budget = 300 * time.Millisecond
	start := time.Now()
	w := post(app.Deadline(budget, mux), "/api/orders", oneItem, "7")
	took := time.Since(start)
	if w.Code != 503 || took < budget || took > budget+2*time.Second {
		t.Fatalf("%d after %s; want 503 once the %s budget is spent", w.Code, took, budget)
	}
	if got := strings.Join(o.calls, ","); got != "begin,failed" {
		t.Fatalf("store calls %q; want the order marked failed for the sweeper", got)
	}
}
