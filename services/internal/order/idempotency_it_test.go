package order

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/httpx"
	"shop/internal/ittest"
	"shop/internal/stock"
)

// itStore connects to the integration MySQL (SHOP_IT=1, from scripts/test-services.sh) and migrates it.
func itStore(t *testing.T) *Store {
	t.Helper()
	return &Store{DB: ittest.MySQL(t, "order", migrations, "migrations")}
}

// scriptedStock answers reservations with the next scripted error (nil: reserve), then reserves.
type scriptedStock struct {
	mu    sync.Mutex
	errs  []error
	calls int
	delay time.Duration
}

func (s *scriptedStock) Reserve(ctx context.Context, _ string, items []stock.Item) ([]stock.ReservedItem, error) {
	s.mu.Lock()
	s.calls++
	var err error
	if len(s.errs) > 0 {
		err, s.errs = s.errs[0], s.errs[1:]
	}
	s.mu.Unlock()
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if err != nil {
		return nil, err
	}
	out := make([]stock.ReservedItem, len(items))
	for i, it := range items {
		out[i] = stock.ReservedItem{ProductID: it.ProductID, Name: "p", Quantity: it.Quantity, PriceCents: 100}
	}
	return out, nil
}
func (s *scriptedStock) Release(context.Context, string) error { return nil }

func itHandlers(store *Store, st Stock) http.Handler {
	h := &Handlers{Store: store, Stock: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PaymentTimeout: time.Hour, Notify: func() {},
		Created:     prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}),
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"to", "outcome"})}
	mux := http.NewServeMux()
	h.Routes(mux)
	return mux
}

// userIDs gives every test its own users, so runs against a shared database never meet.
var userIDs = struct {
	sync.Mutex
	next int64
}{next: time.Now().UnixNano() / 1000}

func freshUser() int64 {
	userIDs.Lock()
	defer userIDs.Unlock()
	userIDs.next++
	return userIDs.next
}

type createAnswer struct {
	status   int
	id, code string
	replayed bool
}

func create(h http.Handler, user int64, key, body string) createAnswer {
	r := httptest.NewRequest("POST", "/api/orders", strings.NewReader(body))
	r.Header.Set(UserHeader, strconv.FormatInt(user, 10))
	if key != "" {
		r.Header.Set(IdempotencyHeader, key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var b struct{ ID, Code string }
	_ = json.Unmarshal(w.Body.Bytes(), &b)
	return createAnswer{status: w.Code, id: b.ID, code: b.Code, replayed: w.Header().Get(ReplayedHeader) == "true"}
}

func countOrders(t *testing.T, s *Store, user int64, where string) int64 {
	t.Helper()
	var n int64
	if err := s.DB.QueryRow("SELECT COUNT(*) FROM orders WHERE user_id = ? AND "+where, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdempotentOrderCreationAgainstMySQL(t *testing.T) {
	s := itStore(t)
	// Product ids no product of the shared test database has (the stock here is scripted).
	const body = `{"items":[{"product_id":900000000001,"quantity":2},{"product_id":900000000002,"quantity":1}]}`
	const sameLinesReordered = `{"items":[{"product_id":900000000002,"quantity":1},{"product_id":900000000001,"quantity":2}]}`
	const otherBody = `{"items":[{"product_id":900000000001,"quantity":3}]}`
	refused := &RefusedError{Status: 409, Code: "insufficient_stock", Msg: "no"}
	down := fmt.Errorf("%w: product service timed out", httpx.ErrDependency)
	type try struct {
		otherUser bool   // send as a second user
		key       string // "" = no header
		body      string
		status    int
		code      string // error code expected
		sameAs    int    // index of an earlier try whose order this must return (-1: a new one)
	}
	cases := []struct {
		name      string
		stockErrs []error
		tries     []try
		pending   int64 // orders the first user ends with
	}{
		{"a retry with the same key and body returns the first order", nil, []try{
			{key: "k1", body: body, status: 201, sameAs: -1},
			{key: "k1", body: body, status: 201, sameAs: 0},
			{key: "k1", body: sameLinesReordered, status: 201, sameAs: 0},
		}, 1},
		{"the same key with other items is refused", nil, []try{
			{key: "k1", body: body, status: 201, sameAs: -1},
			{key: "k1", body: otherBody, status: 422, code: "idempotency_key_reused", sameAs: -1},
			{key: "k1", body: body, status: 201, sameAs: 0},
		}, 1},
		{"keys belong to one user", nil, []try{
			{key: "k1", body: body, status: 201, sameAs: -1},
			{otherUser: true, key: "k1", body: body, status: 201, sameAs: -1},
		}, 1},
		{"without a key every request is a new order", nil, []try{
			{body: body, status: 201, sameAs: -1},
			{body: body, status: 201, sameAs: -1},
		}, 2},
		{"different keys are different orders", nil, []try{
			{key: "k1", body: body, status: 201, sameAs: -1},
			{key: "k2", body: body, status: 201, sameAs: -1},
		}, 2},
		{"a refused first attempt left no order: the retry places it", []error{refused}, []try{
			{key: "k1", body: body, status: 409, code: "insufficient_stock", sameAs: -1},
			{key: "k1", body: body, status: 201, sameAs: -1},
			{key: "k1", body: body, status: 201, sameAs: 1},
		}, 1},
		{"a first attempt that failed mid-way gives its key to the retry", []error{down}, []try{
			{key: "k1", body: body, status: 503, code: "unavailable", sameAs: -1},
			{key: "k1", body: body, status: 201, sameAs: -1},
			{key: "k1", body: body, status: 201, sameAs: 1},
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user, other := freshUser(), freshUser()
			h := itHandlers(s, &scriptedStock{errs: tc.stockErrs})
			var got []createAnswer
			for i, tr := range tc.tries {
				u := user
				if tr.otherUser {
					u = other
				}
				a := create(h, u, tr.key, tr.body)
				got = append(got, a)
				if a.status != tr.status || a.code != tr.code {
					t.Fatalf("try %d: %d %q, want %d %q", i, a.status, a.code, tr.status, tr.code)
				}
				if tr.status != 201 {
					continue
				}
				if tr.sameAs >= 0 {
					if a.id != got[tr.sameAs].id || !a.replayed {
						t.Fatalf("try %d: order %q (replayed %v), want try %d's order %q replayed", i, a.id, a.replayed, tr.sameAs, got[tr.sameAs].id)
					}
					continue
				}
				if a.replayed {
					t.Fatalf("try %d: a new order is marked replayed", i)
				}
				for j := 0; j < i; j++ {
					if got[j].id == a.id {
						t.Fatalf("try %d: got try %d's order %q, want a new one", i, j, a.id)
					}
				}
			}
			if n := countOrders(t, s, user, "status = 'pending'"); n != tc.pending {
				t.Fatalf("the user has %d pending orders, want %d", n, tc.pending)
			}
		})
	}
}

// ghostItem orders a product id no product of the shared test database has.
const ghostItem = `{"items":[{"product_id":900000000003,"quantity":2}]}`

func TestConcurrentRetriesWithOneKeyCreateOneOrder(t *testing.T) {
	s := itStore(t)
	st := &scriptedStock{delay: 300 * time.Millisecond}
	h := itHandlers(s, st)
	user := freshUser()
	const n = 20
	answers := make([]createAnswer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = create(h, user, "checkout-1", ghostItem)
		}()
	}
	close(start)
	wg.Wait()
	byStatus := map[int]int{}
	ids := map[string]bool{}
	for _, a := range answers {
		byStatus[a.status]++
		switch a.status {
		case 201:
			ids[a.id] = true
		case 409:
			if a.code != "request_in_progress" {
				t.Errorf("409 with code %q, want request_in_progress", a.code)
			}
		default:
			t.Errorf("answer %d %q", a.status, a.code)
		}
	}
	if byStatus[201] < 1 || len(ids) != 1 {
		t.Fatalf("answers by status %v, %d distinct orders; want one order", byStatus, len(ids))
	}
	if st.calls != 1 {
		t.Fatalf("%d stock reservations, want 1", st.calls)
	}
	if c := countOrders(t, s, user, "TRUE"); c != 1 {
		t.Fatalf("%d order rows for the user, want 1", c)
	}
	// Once the first request is done, a retry gets its order.
	if a := create(h, user, "checkout-1", ghostItem); a.status != 201 || !ids[a.id] || !a.replayed {
		t.Fatalf("retry after the rush: %+v", a)
	}
}
