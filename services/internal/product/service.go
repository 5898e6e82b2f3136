// Package product is the product service: catalog CRUD, a paginated list,
// Redis-cached details and atomic stock reservations.
package product

import (
	"context"
	"database/sql"
	"embed"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"shop/internal/app"
	"shop/internal/config"
	"shop/internal/mysqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config is the product service's own configuration.
type Config struct {
	MySQL         config.MySQL
	RedisAddr     string
	RedisPassword string
	CacheTTL      time.Duration
}

// LoadConfig reads MYSQL_*, REDIS_ADDR, REDIS_PASSWORD and CACHE_TTL.
func LoadConfig(l *config.Loader) Config {
	return Config{
		MySQL:         l.LoadMySQL(),
		RedisAddr:     l.HostPort("REDIS_ADDR", "", true),
		RedisPassword: l.String("REDIS_PASSWORD", ""),
		CacheTTL:      l.Duration("CACHE_TTL", 5*time.Minute, time.Second, 24*time.Hour),
	}
}

type service struct {
	db  *sql.DB
	rdb *redis.Client
	h   *Handlers
}

func (s *service) Routes(mux *http.ServeMux) { s.h.Routes(mux) }
func (s *service) Close()                    { s.db.Close(); s.rdb.Close() }

// Build is the product service for app.Main.
func Build(l *config.Loader) func(context.Context, *app.Env) (app.Service, error) {
	c := LoadConfig(l)
	return func(ctx context.Context, env *app.Env) (app.Service, error) {
		db, err := mysqldb.Open(c.MySQL)
		if err != nil {
			return nil, err
		}
		app.UseMySQL(ctx, env, db, "product", migrations, "migrations")
		// Short timeouts and no retries: the cache must never slow a read
		// down by more than a few hundred milliseconds when Redis is gone.
		rdb := redis.NewClient(&redis.Options{
			Addr: c.RedisAddr, Password: c.RedisPassword,
			DialTimeout: 500 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
			PoolTimeout: 300 * time.Millisecond, MaxRetries: -1, PoolSize: 64,
			// One dial attempt: go-redis otherwise retries a failed dial 5 times 100 ms apart, which made
			// every read wait ~400 ms for the MySQL fallback while Redis was down.
			DialerRetries: 1,
		})
		env.Ready.AddDegradable("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() }) // reads fall back to MySQL
		cache := &RedisCache{Client: rdb, TTL: c.CacheTTL, Log: env.Log}
		env.Workers.Go("cache-invalidation-retry", func(ctx context.Context) { cache.RetryInvalidations(ctx, time.Second) })

		lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "product_cache_lookups_total", Help: "Product detail cache lookups by result (hit|miss|error).",
		}, []string{"result"})
		units := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "product_stock_units_total", Help: "Stock units reserved and released (action=reserved|released).",
		}, []string{"action"})
		env.Reg.MustRegister(lookups, units)
		return &service{db: db, rdb: rdb, h: &Handlers{
			Store: &Store{DB: db}, Cache: cache, Log: env.Log, CacheLookups: lookups, StockUnits: units,
		}}, nil
	}
}
