package it

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"shop/internal/config"
	"shop/internal/mysqldb"
	"shop/internal/order"
)

// stack is the four services, the gateway in front.
type stack struct {
	gw, user, product, order *proc
}

type stackOpts struct {
	paymentTimeout  string // ORDER_PAYMENT_TIMEOUT, default 1h
	upstreamTimeout string
	drain           string
}

func startStack(t *testing.T, o stackOpts) *stack {
	t.Helper()
	if o.paymentTimeout == "" {
		o.paymentTimeout = "1h"
	}
	if o.upstreamTimeout == "" {
		o.upstreamTimeout = "3s"
	}
	if o.drain == "" {
		o.drain = "0s"
	}
	common := map[string]string{"SHUTDOWN_DRAIN": o.drain}
	s := &stack{}
	s.user = startProc(t, "user", merge(common, mysqlEnv(), map[string]string{"JWT_SECRET": JWTSecret, "JWT_TTL": "1h", "BCRYPT_COST": "4"}))
	s.product = startProc(t, "product", merge(common, mysqlEnv(), map[string]string{
		"REDIS_ADDR": env("REDIS_ADDR"), "REDIS_PASSWORD": env("REDIS_PASSWORD"), "CACHE_TTL": "1m"}))
	s.order = startProc(t, "order", merge(common, mysqlEnv(), rabbitEnv(), map[string]string{
		"PRODUCT_URL": s.product.url(), "ORDER_PAYMENT_TIMEOUT": o.paymentTimeout}))
	s.gw = startGateway(t, s.user.url(), s.product.url(), s.order.url(), o.upstreamTimeout)
	for _, p := range []*proc{s.user, s.product, s.order, s.gw} {
		eventually(t, 30*time.Second, p.name+" /readyz", func() bool { return p.get("/readyz") == 200 })
	}
	return s
}

func startGateway(t *testing.T, userURL, productURL, orderURL, upstreamTimeout string) *proc {
	return startProc(t, "gateway", map[string]string{
		"JWT_SECRET": JWTSecret, "USER_URL": userURL, "PRODUCT_URL": productURL, "ORDER_URL": orderURL,
		"RATE_LIMIT_RPS": "100000", "RATE_LIMIT_BURST": "100000", "UPSTREAM_TIMEOUT": upstreamTimeout,
	})
}

func rabbitEnv() map[string]string {
	return map[string]string{
		"RABBITMQ_HOST": env("RABBITMQ_HOST"), "RABBITMQ_PORT": env("RABBITMQ_PORT"), "RABBITMQ_USER": env("RABBITMQ_USER"),
		"RABBITMQ_PASSWORD": env("RABBITMQ_PASSWORD"), "RABBITMQ_VHOST": env("RABBITMQ_VHOST"),
	}
}

// client talks JSON to one base URL.
type client struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
}

func newClient(t *testing.T, base string) *client {
	return &client{t: t, base: base, hc: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// do sends body as JSON (nil: none) and decodes a JSON answer into out (if not nil).
func (c *client) do(method, path string, body, out any, hdr ...string) (int, http.Header) {
	c.t.Helper()
	status, h, b, err := c.try(method, path, body, hdr...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: answer %d is not JSON: %v: %s", method, path, status, err, b)
		}
	}
	return status, h
}

func (c *client) try(method, path string, body any, hdr ...string) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

var userSeq atomic.Int64

// signup registers and logs in a fresh user through the gateway.
func signup(t *testing.T, gw string) *client {
	t.Helper()
	c := newClient(t, gw)
	email := fmt.Sprintf("it-%d-%d@example.com", time.Now().UnixNano(), userSeq.Add(1))
	if st, _ := c.do("POST", "/api/users/register", map[string]string{"email": email, "password": "correct horse", "name": "IT"}, nil); st != 201 {
		t.Fatalf("register: %d", st)
	}
	var tok struct{ Token string }
	if st, _ := c.do("POST", "/api/users/login", map[string]string{"email": email, "password": "correct horse"}, &tok); st != 200 || tok.Token == "" {
		t.Fatalf("login: %d", st)
	}
	c.token = tok.Token
	return c
}

type productJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Stock      int64  `json:"stock"`
}

type orderJSON struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	TotalCents int64  `json:"total_cents"`
}

func newProduct(t *testing.T, c *client, name string, price, stock int64) productJSON {
	t.Helper()
	var p productJSON
	if st, _ := c.do("POST", "/api/products", map[string]any{"name": name, "description": "integration", "price_cents": price, "stock": stock}, &p); st != 201 {
		t.Fatalf("create product: %d", st)
	}
	return p
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	port, _ := strconv.Atoi(env("MYSQL_PORT"))
	db, err := mysqldb.Open(config.MySQL{Host: env("MYSQL_HOST"), Port: port, User: env("MYSQL_USER"),
		Password: env("MYSQL_PASSWORD"), Database: env("MYSQL_DATABASE")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// events consumes the order service's durable event queue, reconnecting
// across broker restarts, and records every message id seen.
type events struct {
	mu    sync.Mutex
	seen  map[string]int // message id -> deliveries
	first map[string]int // message id -> deliveries not flagged as redelivered (one per publish)
	stop  context.CancelFunc
	done  chan struct{}
}

func consumeEvents(t *testing.T) *events {
	ctx, cancel := context.WithCancel(context.Background())
	e := &events{seen: map[string]int{}, first: map[string]int{}, stop: cancel, done: make(chan struct{})}
	port, _ := strconv.Atoi(env("RABBITMQ_PORT"))
	url := order.AMQPConfig{Host: env("RABBITMQ_HOST"), Port: port, User: env("RABBITMQ_USER"),
		Password: env("RABBITMQ_PASSWORD"), VHost: env("RABBITMQ_VHOST")}.URL()
	go func() {
		defer close(e.done)
		for ctx.Err() == nil {
			e.consume(ctx, url)
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-e.done })
	return e
}

func (e *events) consume(ctx context.Context, url string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	if err := ch.ExchangeDeclare(order.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return
	}
	if _, err := ch.QueueDeclare(order.Queue, true, false, false, false, nil); err != nil {
		return
	}
	if err := ch.QueueBind(order.Queue, "order.#", order.Exchange, false, nil); err != nil {
		return
	}
	msgs, err := ch.Consume(order.Queue, "", false, false, false, false, nil)
	if err != nil {
		return
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return
		case <-closed:
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			e.mu.Lock()
			e.seen[m.MessageId]++
			if !m.Redelivered {
				e.first[m.MessageId]++
			}
			e.mu.Unlock()
			_ = m.Ack(false)
		}
	}
}

func (e *events) count(msgID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seen[msgID]
}

// waitFor waits until every id was delivered at least once.
func (e *events) waitFor(t *testing.T, d time.Duration, ids ...string) {
	t.Helper()
	eventually(t, d, "events "+strings.Join(ids[:min(3, len(ids))], ",")+"...", func() bool {
		for _, id := range ids {
			if e.count(id) == 0 {
				return false
			}
		}
		return true
	})
}
