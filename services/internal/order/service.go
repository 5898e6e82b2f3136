// Package order is the order service: orders with stock reserved through the
// product service, events to RabbitMQ through a transactional outbox, and a
// sweeper that expires unpaid orders and returns their stock.
package order

import (
	"context"
	"database/sql"
	"embed"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/app"
	"shop/internal/config"
	"shop/internal/mysqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config is the order service's own configuration.
type Config struct {
	MySQL          config.MySQL
	AMQP           AMQPConfig
	ProductURL     string
	PaymentTimeout time.Duration
	// RequestTimeout bounds each request (REQUEST_TIMEOUT, applied by the app);
	// ProductTimeout each call to the product service, and must be shorter.
	RequestTimeout, ProductTimeout time.Duration
}

// DefaultProductTimeout bounds a call to the product service when
// PRODUCT_TIMEOUT is unset: well inside the default REQUEST_TIMEOUT.
const DefaultProductTimeout = 3 * time.Second

// LoadConfig reads MYSQL_*, RABBITMQ_*, PRODUCT_URL, ORDER_PAYMENT_TIMEOUT,
// REQUEST_TIMEOUT and PRODUCT_TIMEOUT.
func LoadConfig(l *config.Loader) Config {
	c := Config{
		MySQL: l.LoadMySQL(),
		AMQP: AMQPConfig{
			Host:     l.Required("RABBITMQ_HOST"),
			Port:     l.Port("RABBITMQ_PORT", 5672),
			User:     l.Required("RABBITMQ_USER"),
			Password: l.Secret("RABBITMQ_PASSWORD", 1),
			VHost:    l.String("RABBITMQ_VHOST", "/"),
		},
		PaymentTimeout: l.Duration("ORDER_PAYMENT_TIMEOUT", 15*time.Minute, time.Second, 7*24*time.Hour),
		RequestTimeout: l.RequestTimeout(),
		ProductTimeout: l.Duration("PRODUCT_TIMEOUT", DefaultProductTimeout, 50*time.Millisecond, time.Minute),
	}
	l.Check(c.ProductTimeout < c.RequestTimeout, "PRODUCT_TIMEOUT",
		"must be shorter than REQUEST_TIMEOUT (%s), got %s: the order would time out before its product call", c.RequestTimeout, c.ProductTimeout)
	urls := l.URLs("PRODUCT_URL")
	l.Check(len(urls) <= 1, "PRODUCT_URL", "must be a single base URL (e.g. \"http://product:8080\")")
	if len(urls) == 1 {
		c.ProductURL = urls[0].String()
	}
	return c
}

// SweepInterval is how often the sweeper runs for a payment timeout: a tenth
// of it, between 250ms and 30s.
func SweepInterval(paymentTimeout time.Duration) time.Duration {
	return min(max(paymentTimeout/10, 250*time.Millisecond), 30*time.Second)
}

// StaleAfter is how long an order may stay "new" before the sweeper marks it
// failed: twice the request budget, so a request still within its deadline
// never loses its order to the sweeper.
func StaleAfter(requestTimeout time.Duration) time.Duration { return 2 * requestTimeout }

type service struct {
	db *sql.DB
	h  *Handlers
}

func (s *service) Routes(mux *http.ServeMux) { s.h.Routes(mux) }
func (s *service) Close()                    { s.db.Close() }

// Build is the order service for app.Main.
func Build(l *config.Loader) func(context.Context, *app.Env) (app.Service, error) {
	c := LoadConfig(l)
	return func(ctx context.Context, env *app.Env) (app.Service, error) {
		db, err := mysqldb.Open(c.MySQL)
		if err != nil {
			return nil, err
		}
		app.UseMySQL(ctx, env, db, "order", migrations, "migrations")
		pub := &Publisher{Config: c.AMQP, Log: env.Log}
		env.Ready.AddDegradable("rabbitmq", pub.Ready) // orders wait in the outbox meanwhile

		created := prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_created_total", Help: "Orders placed (stock reserved, awaiting payment)."})
		transitions := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "order_transitions_total", Help: "Pay and cancel requests by target status and outcome (ok|conflict).",
		}, []string{"to", "outcome"})
		expired := prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_expired_total", Help: "Unpaid orders closed after the payment timeout."})
		published := prometheus.NewCounter(prometheus.CounterOpts{Name: "order_events_published_total", Help: "Order events published to RabbitMQ from the outbox."})
		env.Reg.MustRegister(created, transitions, expired, published, OutboxBacklog(db))

		store := &Store{DB: db}
		stock := NewProductClient(c.ProductURL, c.ProductTimeout)
		relay := &Relay{DB: db, Publisher: pub, Log: env.Log, Published: published, Wake: make(chan struct{}, 1),
			Interval: 500 * time.Millisecond, Batch: 100}
		sweeper := &Sweeper{Store: store, Stock: stock, Relay: relay, Log: env.Log, Expired: expired,
			Interval: SweepInterval(c.PaymentTimeout), StaleAfter: StaleAfter(c.RequestTimeout)}
		env.Workers.Go("rabbitmq", pub.Run)
		env.Workers.Go("outbox-relay", relay.Run)
		env.Workers.Go("sweeper", sweeper.Run)
		return &service{db: db, h: &Handlers{
			Store: store, Stock: stock, Log: env.Log, PaymentTimeout: c.PaymentTimeout, Notify: relay.Notify,
			Created: created, Transitions: transitions,
		}}, nil
	}
}
