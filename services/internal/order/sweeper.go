package order

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/app"
)

// Sweeper closes unpaid orders after their payment timeout and returns the
// stock of every cancelled, expired or failed order, retrying until the
// product service took it back. Safe to run in every replica: each state
// change is conditional and releases are idempotent.
type Sweeper struct {
	Store    *Store
	Stock    Stock
	Relay    *Relay
	Log      *slog.Logger
	Expired  prometheus.Counter
	Interval time.Duration
	// StaleAfter is how long an order may stay "new" before it counts as failed.
	StaleAfter time.Duration
}

// Run sweeps every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	app.Every(ctx, s.Interval, func(ctx context.Context) {
		if err := s.Once(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("order sweep failed; will retry", "err", err)
		}
	})
}

// Once runs one sweep.
func (s *Sweeper) Once(ctx context.Context) error {
	due, err := s.Store.Due(ctx, 100)
	if err != nil {
		return err
	}
	for _, id := range due {
		if _, changed, err := s.Store.Transition(ctx, 0, id, StatusExpired); err != nil {
			if err != ErrWrongState {
				return err
			}
		} else if changed {
			s.Expired.Inc()
			s.Relay.Notify()
			s.Log.Info("unpaid order expired", "order_id", id)
		}
	}
	if _, err := s.Store.Stale(ctx, s.StaleAfter); err != nil {
		return err
	}
	ids, err := s.Store.Unreleased(ctx, 100)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.Stock.Release(ctx, id); err != nil {
			return err
		}
		if err := s.Store.MarkReleased(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
