package product

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"shop/internal/app"
)

// Cache holds product details (cache-aside).
type Cache interface {
	Get(ctx context.Context, id int64) (Product, bool, error)
	Set(ctx context.Context, p Product) error
	Del(ctx context.Context, ids ...int64) error
}

// RedisCache stores products as JSON under "product:v1:<id>" with a TTL.
// Invalidations that fail while Redis is unreachable are kept and retried
// by RetryInvalidations, so a stale entry cannot outlive an outage.
type RedisCache struct {
	Client *redis.Client
	TTL    time.Duration
	Log    *slog.Logger

	mu      sync.Mutex
	pending map[int64]struct{}
}

func cacheKey(id int64) string { return "product:v1:" + strconv.FormatInt(id, 10) }

// Get returns the cached product, found=false on a miss.
func (c *RedisCache) Get(ctx context.Context, id int64) (Product, bool, error) {
	b, err := c.Client.Get(ctx, cacheKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Product{}, false, nil
	}
	if err != nil {
		return Product{}, false, err
	}
	var p Product
	if err := json.Unmarshal(b, &p); err != nil || p.ID != id {
		// A corrupt entry is a miss; drop it.
		_ = c.Client.Del(ctx, cacheKey(id)).Err()
		return Product{}, false, nil
	}
	return p, true, nil
}

// Set caches p for TTL, unless an invalidation of p is still pending.
func (c *RedisCache) Set(ctx context.Context, p Product) error {
	c.mu.Lock()
	_, pending := c.pending[p.ID]
	c.mu.Unlock()
	if pending {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Client.Set(ctx, cacheKey(p.ID), b, c.TTL).Err()
}

// Del drops the products' entries; on failure they are retried later.
func (c *RedisCache) Del(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = cacheKey(id)
	}
	err := c.Client.Del(ctx, keys...).Err()
	if err != nil {
		c.mu.Lock()
		if c.pending == nil {
			c.pending = map[int64]struct{}{}
		}
		for _, id := range ids {
			c.pending[id] = struct{}{}
		}
		c.mu.Unlock()
	}
	return err
}

// RetryInvalidations retries failed deletions every interval until ctx ends.
func (c *RedisCache) RetryInvalidations(ctx context.Context, interval time.Duration) {
	app.Every(ctx, interval, c.retryPending)
}

// retryPending deletes the keys whose invalidation failed; those that fail again stay pending.
func (c *RedisCache) retryPending(ctx context.Context) {
	c.mu.Lock()
	ids := make([]int64, 0, len(c.pending))
	for id := range c.pending {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = cacheKey(id)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	err := c.Client.Del(dctx, keys...).Err()
	cancel()
	if err != nil {
		return
	}
	c.mu.Lock()
	for _, id := range ids {
		delete(c.pending, id)
	}
	c.mu.Unlock()
	c.Log.Info("pending cache invalidations applied", "products", len(ids))
}
