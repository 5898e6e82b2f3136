package app

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"sync/atomic"

	"shop/internal/migrate"
	"shop/internal/mysqldb"
)

// ErrNotMigrated is the readiness error until the schema is in place.
var ErrNotMigrated = errors.New("schema migrations have not run yet")

// UseMySQL adds the "mysql" readiness check and runs the service's embedded
// migrations in the background, retrying while MySQL is unreachable; the
// "schema" check fails until they have run. A service that cannot reach MySQL
// at start serves 503 on /readyz instead of exiting.
func UseMySQL(ctx context.Context, env *Env, db *sql.DB, table string, fsys fs.FS, dir string) {
	var migrated atomic.Bool
	env.Ready.Add("mysql", mysqldb.Ping(db))
	env.Ready.Add("schema", func(context.Context) error {
		if !migrated.Load() {
			return ErrNotMigrated
		}
		return nil
	})
	go func() {
		err := Retry(ctx, env.Log, "migrations", func(ctx context.Context) error {
			applied, err := migrate.Run(ctx, db, table, fsys, dir)
			if len(applied) > 0 {
				env.Log.Info("migrations applied", "versions", applied)
			}
			return err
		})
		if err == nil {
			migrated.Store(true)
		}
	}()
}
