// Package user is the user service: registration, login (bcrypt) and JWTs.
package user

import (
	"context"
	"database/sql"
	"embed"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"shop/internal/app"
	"shop/internal/auth"
	"shop/internal/config"
	"shop/internal/mysqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config is the user service's own configuration.
type Config struct {
	MySQL     config.MySQL
	JWTSecret string
	JWTTTL    time.Duration
	// BcryptCost is the password hashing cost (BCRYPT_COST, default 10).
	BcryptCost int
}

// LoadConfig reads MYSQL_*, JWT_SECRET, JWT_TTL and BCRYPT_COST.
func LoadConfig(l *config.Loader) Config {
	return Config{
		MySQL:      l.LoadMySQL(),
		JWTSecret:  l.Secret("JWT_SECRET", auth.MinSecretLen),
		JWTTTL:     l.Duration("JWT_TTL", time.Hour, time.Minute, 30*24*time.Hour),
		BcryptCost: l.Int("BCRYPT_COST", bcrypt.DefaultCost, bcrypt.MinCost, 15),
	}
}

type service struct {
	db *sql.DB
	h  *Handlers
}

func (s *service) Routes(mux *http.ServeMux) { s.h.Routes(mux) }
func (s *service) Close()                    { s.db.Close() }

// Build is the user service for app.Main.
func Build(l *config.Loader) func(context.Context, *app.Env) (app.Service, error) {
	c := LoadConfig(l)
	return func(ctx context.Context, env *app.Env) (app.Service, error) {
		db, err := mysqldb.Open(c.MySQL)
		if err != nil {
			return nil, err
		}
		app.UseMySQL(ctx, env, db, "user", migrations, "migrations")
		reg := prometheus.NewCounter(prometheus.CounterOpts{Name: "user_registrations_total", Help: "Accounts created."})
		logins := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "user_logins_total", Help: "Login attempts by result (ok|rejected)."}, []string{"result"})
		env.Reg.MustRegister(reg, logins)
		return &service{db: db, h: &Handlers{
			Store: &Store{db: db}, Keys: auth.NewKeys(c.JWTSecret, c.JWTTTL), Log: env.Log,
			Registrations: reg, Logins: logins, BcryptCost: c.BcryptCost,
		}}, nil
	}
}
