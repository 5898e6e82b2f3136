// Package mysqldb opens the shared MySQL database with the services' pool
// settings and timeouts, and classifies its errors.
package mysqldb

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"shop/internal/config"
)

// maxIdleConns is how many idle connections the pool keeps.
const maxIdleConns = 20

// Open returns a pool for c. It does not connect: the first query does.
func Open(c config.MySQL) (*sql.DB, error) {
	mc := mysql.NewConfig()
	mc.Net = "tcp"
	mc.Addr = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	mc.User = c.User
	mc.Passwd = c.Password
	mc.DBName = c.Database
	mc.ParseTime = true
	mc.Loc = time.UTC
	mc.Timeout = 2 * time.Second
	mc.ReadTimeout = 10 * time.Second
	mc.WriteTimeout = 10 * time.Second
	mc.InterpolateParams = true
	mc.Params = map[string]string{"time_zone": "'+00:00'"}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxLifetime(5 * time.Minute)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// ReadCommitted is the isolation of the services' transactions: row locks
// only, no gap locks, so concurrent reservations do not deadlock on the
// gaps of keys that do not exist yet.
var ReadCommitted = &sql.TxOptions{Isolation: sql.LevelReadCommitted}

// Ping is a readiness check. A failed ping also drops the pool's idle
// connections: when the server's pod goes away no reset arrives (its address
// just disappears), so every idle connection is dead, and without this each
// later ping or query would wait for its timeout on one of them before the pool
// dials anew; the shop stayed unready for 30 s after MySQL was back.
func Ping(db *sql.DB) func(context.Context) error {
	return func(ctx context.Context) error {
		err := db.PingContext(ctx)
		if err != nil {
			db.SetMaxIdleConns(0) // closes the idle connections
			db.SetMaxIdleConns(maxIdleConns)
		}
		return err
	}
}

// IsDuplicate reports a unique-key violation.
func IsDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// IsRetryable reports a deadlock or lock-wait timeout, worth one more try.
func IsRetryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}
