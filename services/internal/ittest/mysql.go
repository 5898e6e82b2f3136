// Package ittest holds what the packages' integration tests share: the servers scripts/test-services.sh
// starts (SHOP_IT=1) and the connection to them.
package ittest

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"strconv"
	"testing"
	"time"

	"shop/internal/config"
	"shop/internal/migrate"
	"shop/internal/mysqldb"
)

// MySQL connects to the integration MySQL and applies `service`'s migrations from `dir` of `fsys`;
// it skips the test unless scripts/test-services.sh started the servers (SHOP_IT=1). The connection
// closes when the test ends.
func MySQL(t *testing.T, service string, fsys fs.FS, dir string) *sql.DB {
	t.Helper()
	if os.Getenv("SHOP_IT") != "1" {
		t.Skip("integration test: run scripts/test-services.sh (sets SHOP_IT=1 and starts the servers)")
	}
	port, _ := strconv.Atoi(os.Getenv("SHOP_IT_MYSQL_PORT"))
	db, err := mysqldb.Open(config.MySQL{Host: os.Getenv("SHOP_IT_MYSQL_HOST"), Port: port, User: os.Getenv("SHOP_IT_MYSQL_USER"),
		Password: os.Getenv("SHOP_IT_MYSQL_PASSWORD"), Database: os.Getenv("SHOP_IT_MYSQL_DATABASE")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := migrate.Run(ctx, db, service, fsys, dir); err != nil {
		t.Fatal(err)
	}
	return db
}
