package order

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// OutboxBacklog is the gauge `order_outbox_pending`: events written but not yet confirmed by
// RabbitMQ, counted at scrape time (the unpublished-index makes it cheap). The order queue
// backlog alert fires on it. A failed count reports NaN rather than a stale number.
func OutboxBacklog(db *sql.DB) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "order_outbox_pending",
		Help: "Order events in the outbox not yet published to RabbitMQ.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM order_outbox WHERE published_at IS NULL").Scan(&n); err != nil {
			return math.NaN()
		}
		return float64(n)
	})
}
