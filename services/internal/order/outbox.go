package order

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/mysqldb"
)

// Relay publishes the outbox's unpublished events in id order and marks them
// published once RabbitMQ confirmed them. Replicas share the work: rows are
// locked with SKIP LOCKED. Delivery is at least once; consumers deduplicate
// on the message id ("<order id>/<event>").
type Relay struct {
	DB        *sql.DB
	Publisher interface {
		Publish(ctx context.Context, msgs []Message) error
		Ready(ctx context.Context) error
	}
	Log       *slog.Logger
	Published prometheus.Counter
	// Wake is signalled when an event was written, to publish without waiting for the poll.
	Wake     chan struct{}
	Interval time.Duration
	Batch    int
}

// Notify wakes the relay (never blocks).
func (r *Relay) Notify() {
	select {
	case r.Wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := r.Once(ctx)
			if err != nil {
				if !errors.Is(err, ErrNotConnected) && ctx.Err() == nil {
					r.Log.Warn("outbox relay failed; will retry", "err", err)
				}
				break
			}
			if n < r.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.Wake:
		}
	}
}

// Once publishes one batch and returns how many events it published.
func (r *Relay) Once(ctx context.Context) (int, error) {
	if err := r.Publisher.Ready(ctx); err != nil {
		return 0, err
	}
	tx, err := r.DB.BeginTx(ctx, mysqldb.ReadCommitted)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	rows, err := tx.QueryContext(ctx, "SELECT id, message_id, routing_key, payload FROM order_outbox "+
		"WHERE published_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED", r.Batch)
	if err != nil {
		return 0, err
	}
	var msgs []Message
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.Seq, &m.ID, &m.RoutingKey, &m.Body); err != nil {
			rows.Close()
			return 0, err
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(msgs) == 0 {
		return 0, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = r.Publisher.Publish(pctx, msgs)
	cancel()
	if err != nil {
		return 0, err
	}
	ids := make([]any, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Seq
	}
	q := "UPDATE order_outbox SET published_at = NOW(6) WHERE id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
	if _, err := tx.ExecContext(ctx, q, ids...); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	r.Published.Add(float64(len(msgs)))
	return len(msgs), nil
}
