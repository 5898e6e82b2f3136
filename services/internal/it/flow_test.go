package it

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRegisterLoginCreateProductAndOrderThroughTheGateway(t *testing.T) {
	needIT(t)
	s := startStack(t, stackOpts{})
	ev := consumeEvents(t)
	gw := s.gw.url()

	c := newClient(t, gw)
	email := fmt.Sprintf("flow-%d@example.com", time.Now().UnixNano())
	var u struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
	}
	st, h := c.do("POST", "/api/users/register", map[string]string{"email": strings.ToUpper(email), "password": "correct horse", "name": "Flow"}, &u, "X-Request-ID", "it-flow-register-1")
	if st != 201 || u.Email != email {
		t.Fatalf("register: %d %+v", st, u)
	}
	if h.Get("X-Request-ID") != "it-flow-register-1" {
		t.Errorf("gateway answered X-Request-ID %q, want the caller's", h.Get("X-Request-ID"))
	}
	eventually(t, 5*time.Second, "user service logs the caller's request id", func() bool {
		return strings.Contains(s.user.out.String(), `"request_id":"it-flow-register-1"`)
	})
	if st, _ := c.do("POST", "/api/users/register", map[string]string{"email": email, "password": "another one", "name": "Dup"}, nil); st != 409 {
		t.Errorf("second registration of the same email: %d, want 409", st)
	}
	if st, _ := c.do("POST", "/api/users/login", map[string]string{"email": email, "password": "wrong password"}, nil); st != 401 {
		t.Errorf("login with a wrong password: %d, want 401", st)
	}
	var tok struct{ Token string }
	if st, _ := c.do("POST", "/api/users/login", map[string]string{"email": email, "password": "correct horse"}, &tok); st != 200 {
		t.Fatalf("login: %d", st)
	}
	c.token = tok.Token
	var me struct{ ID int64 }
	if st, _ := c.do("GET", "/api/users/me", nil, &me); st != 200 || me.ID != u.ID {
		t.Fatalf("me: %d %+v", st, me)
	}

	p := newProduct(t, c, "Flow mug", 1250, 5)
	anon := newClient(t, gw)
	var got productJSON
	if st, h := anon.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); st != 200 || h.Get("X-Cache") != "miss" {
		t.Fatalf("first product read: %d cache %q", st, h.Get("X-Cache"))
	}
	if st, h := anon.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); st != 200 || h.Get("X-Cache") != "hit" {
		t.Fatalf("second product read: %d cache %q, want a cache hit", st, h.Get("X-Cache"))
	}
	if st, _ := c.do("PUT", fmt.Sprintf("/api/products/%d", p.ID), map[string]any{"name": "Flow mug", "description": "new", "price_cents": 1500, "stock": 5}, nil); st != 200 {
		t.Fatalf("update: %d", st)
	}
	if anon.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); got.PriceCents != 1500 {
		t.Fatalf("after the update the product reads price %d: the cache was not invalidated", got.PriceCents)
	}
	var list struct {
		Items []productJSON
		Total int64
	}
	if st, _ := anon.do("GET", "/api/products?q=Flow+mug&page=1&size=50", nil, &list); st != 200 || list.Total < 1 {
		t.Fatalf("list: %d %+v", st, list)
	}

	if st, _ := anon.do("POST", "/api/orders", map[string]any{"items": []map[string]int64{{"product_id": p.ID, "quantity": 1}}}, nil); st != 401 {
		t.Errorf("order without a token: %d, want 401", st)
	}
	var o1, o2 orderJSON
	if st, _ := c.do("POST", "/api/orders", map[string]any{"items": []map[string]int64{{"product_id": p.ID, "quantity": 2}}}, &o1); st != 201 || o1.Status != "pending" || o1.TotalCents != 3000 {
		t.Fatalf("order: %d %+v", st, o1)
	}
	if anon.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); got.Stock != 3 {
		t.Fatalf("stock after ordering 2 of 5: %d", got.Stock)
	}
	if st, _ := c.do("POST", "/api/orders/"+o1.ID+"/pay", nil, &o1); st != 200 || o1.Status != "paid" {
		t.Fatalf("pay: %d %+v", st, o1)
	}
	if st, _ := c.do("POST", "/api/orders/"+o1.ID+"/cancel", nil, nil); st != 409 {
		t.Errorf("cancel a paid order: %d, want 409", st)
	}
	if st, _ := c.do("POST", "/api/orders", map[string]any{"items": []map[string]int64{{"product_id": p.ID, "quantity": 3}}}, &o2); st != 201 {
		t.Fatalf("second order: %d", st)
	}
	if st, _ := c.do("POST", "/api/orders/"+o2.ID+"/cancel", nil, &o2); st != 200 || o2.Status != "cancelled" {
		t.Fatalf("cancel: %d %+v", st, o2)
	}
	if anon.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); got.Stock != 3 {
		t.Fatalf("stock after cancelling an order of 3: %d, want 3", got.Stock)
	}
	var mine struct{ Items []orderJSON }
	if st, _ := c.do("GET", "/api/orders", nil, &mine); st != 200 || len(mine.Items) != 2 {
		t.Fatalf("list orders: %d %+v", st, mine)
	}
	other := signup(t, gw)
	if st, _ := other.do("GET", "/api/orders/"+o1.ID, nil, nil); st != 404 {
		t.Errorf("another user reads my order: %d, want 404", st)
	}
	ev.waitFor(t, 15*time.Second, o1.ID+"/order.created", o1.ID+"/order.paid", o2.ID+"/order.created", o2.ID+"/order.cancelled")
	// Every event is confirmed by RabbitMQ, so the outbox backlog the alerts watch drains to zero.
	eventually(t, 10*time.Second, "order_outbox_pending 0", func() bool {
		return strings.Contains(metricsOf(t, s.order), "\norder_outbox_pending 0\n")
	})
}

func TestFiftyConcurrentOrdersOnAStockOfTenLeaveTenOrdersAndStockZero(t *testing.T) {
	needIT(t)
	s := startStack(t, stackOpts{})
	c := signup(t, s.gw.url())
	p := newProduct(t, c, "Scarce", 100, 10)

	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, _, _, err := c.try("POST", "/api/orders", map[string]any{"items": []map[string]int64{{"product_id": p.ID, "quantity": 1}}})
			if err != nil {
				st = -1
			}
			mu.Lock()
			codes[st]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if codes[201] != 10 || codes[409] != 40 || len(codes) != 2 {
		t.Fatalf("answers by status: %v, want 10x201 and 40x409", codes)
	}
	var got productJSON
	if c.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); got.Stock != 0 {
		t.Fatalf("stock after the rush: %d, want 0", got.Stock)
	}
	db := openDB(t)
	if n := queryInt(t, db, "SELECT COUNT(*) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = ? AND o.status = 'pending'", p.ID); n != 10 {
		t.Fatalf("pending orders for the product: %d, want 10", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = ?", p.ID); n != 10 {
		t.Fatalf("orders of any status for the product: %d, want 10 (refused orders must not remain)", n)
	}
	if n := queryInt(t, db, "SELECT COALESCE(SUM(quantity), 0) FROM stock_reservations WHERE product_id = ? AND state = 'reserved'", p.ID); n != 10 {
		t.Fatalf("reserved units: %d, want 10", n)
	}
}

func TestAnExpiredUnpaidOrderReleasesItsStock(t *testing.T) {
	needIT(t)
	s := startStack(t, stackOpts{paymentTimeout: "2s"})
	ev := consumeEvents(t)
	c := signup(t, s.gw.url())
	p := newProduct(t, c, "Perishable", 500, 5)
	var o orderJSON
	if st, _ := c.do("POST", "/api/orders", map[string]any{"items": []map[string]int64{{"product_id": p.ID, "quantity": 3}}}, &o); st != 201 {
		t.Fatalf("order: %d", st)
	}
	var got productJSON
	if c.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); got.Stock != 2 {
		t.Fatalf("stock after ordering 3 of 5: %d", got.Stock)
	}
	eventually(t, 20*time.Second, "order expires and its stock returns", func() bool {
		var cur orderJSON
		c.do("GET", "/api/orders/"+o.ID, nil, &cur)
		c.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got)
		return cur.Status == "expired" && got.Stock == 5
	})
	if st, _ := c.do("POST", "/api/orders/"+o.ID+"/pay", nil, nil); st != 409 {
		t.Errorf("paying an expired order: %d, want 409", st)
	}
	ev.waitFor(t, 15*time.Second, o.ID+"/order.created", o.ID+"/order.expired")
}

func TestARetriedOrderWithTheSameIdempotencyKeyThroughTheGatewayIsPlacedOnce(t *testing.T) {
	needIT(t)
	s := startStack(t, stackOpts{})
	c := signup(t, s.gw.url())
	p := newProduct(t, c, "Retried", 700, 5)
	body := map[string]any{"items": []map[string]int64{{"product_id": p.ID, "quantity": 2}}}
	key := fmt.Sprintf("it-retry-%d", time.Now().UnixNano())

	var first, again orderJSON
	st, h := c.do("POST", "/api/orders", body, &first, "Idempotency-Key", key)
	if st != 201 || first.ID == "" || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first attempt: %d %+v replayed %q", st, first, h.Get("Idempotent-Replayed"))
	}
	st, h = c.do("POST", "/api/orders", body, &again, "Idempotency-Key", key)
	if st != 201 || again.ID != first.ID || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %+v replayed %q; want 201 with order %s replayed", st, again, h.Get("Idempotent-Replayed"), first.ID)
	}
	var e struct{ Code string }
	other := map[string]any{"items": []map[string]int64{{"product_id": p.ID, "quantity": 1}}}
	if st, _ := c.do("POST", "/api/orders", other, &e, "Idempotency-Key", key); st != 422 || e.Code != "idempotency_key_reused" {
		t.Fatalf("the key with other items: %d %q, want 422 idempotency_key_reused", st, e.Code)
	}
	var got productJSON
	if c.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil, &got); got.Stock != 3 {
		t.Fatalf("stock %d after one order of 2 sent twice, want 3", got.Stock)
	}
	if n := queryInt(t, openDB(t), "SELECT COUNT(*) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = ?", p.ID); n != 1 {
		t.Fatalf("%d orders for the product, want 1", n)
	}
}
