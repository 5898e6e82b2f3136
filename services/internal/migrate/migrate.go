// Package migrate applies a service's embedded SQL migrations once each.
//
// Every service keeps its own bookkeeping table (<service>_schema_migrations)
// in the shared database, and replicas starting together serialize on a
// named MySQL lock, so a migration never runs twice.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// Files returns the *.sql files of dir in fsys, sorted by name (so name them
// 001_init.sql, 002_...).
func Files(fsys fs.FS, dir string) ([]string, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// Statements splits a migration into statements at lines ending with ";".
// Lines starting with "--" are comments.
func Statements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			if s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Run applies the migrations in dir of fsys that service has not applied yet.
// It returns the names it applied.
func Run(ctx context.Context, db *sql.DB, service string, fsys fs.FS, dir string) ([]string, error) {
	if !serviceName.MatchString(service) {
		return nil, fmt.Errorf("migrate: bad service name %q", service)
	}
	files, err := Files(fsys, dir)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()

	lock := "shop_migrate_" + service
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", lock).Scan(&got); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return nil, fmt.Errorf("migrate: another replica holds %s for over 60s", lock)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lock) //nolint:errcheck

	table := service + "_schema_migrations"
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+table+
		" (version VARCHAR(191) NOT NULL PRIMARY KEY, applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB"); err != nil {
		return nil, fmt.Errorf("migrate: bookkeeping table: %w", err)
	}
	done := map[string]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", table, err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var applied []string
	for _, f := range files {
		version := f[strings.LastIndex(f, "/")+1:]
		if done[version] {
			continue
		}
		src, err := fs.ReadFile(fsys, f)
		if err != nil {
			return applied, err
		}
		for i, stmt := range Statements(string(src)) {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return applied, fmt.Errorf("migrate: %s statement %d: %w", version, i+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" (version) VALUES (?)", version); err != nil {
			return applied, fmt.Errorf("migrate: record %s: %w", version, err)
		}
		applied = append(applied, version)
	}
	return applied, nil
}
