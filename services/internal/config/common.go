package config

import "time"

// Common holds the settings every service reads.
type Common struct {
	HTTPAddr        string
	LogLevel        string
	ShutdownTimeout time.Duration
	// ShutdownDrain is how long /readyz reports 503 before the listener
	// closes, so load balancers stop sending new requests first.
	ShutdownDrain time.Duration
}

// LoadCommon reads HTTP_ADDR, LOG_LEVEL, SHUTDOWN_TIMEOUT and SHUTDOWN_DRAIN.
func (l *Loader) LoadCommon() Common {
	c := Common{
		HTTPAddr:        l.HostPort("HTTP_ADDR", ":8080", false),
		LogLevel:        l.OneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		ShutdownTimeout: l.Duration("SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, 10*time.Minute),
		ShutdownDrain:   l.Duration("SHUTDOWN_DRAIN", 2*time.Second, 0, 5*time.Minute),
	}
	l.Check(c.ShutdownDrain < c.ShutdownTimeout, "SHUTDOWN_DRAIN",
		"must be shorter than SHUTDOWN_TIMEOUT (%s), got %s", c.ShutdownTimeout, c.ShutdownDrain)
	return c
}

// DefaultRequestTimeout bounds a backend request when REQUEST_TIMEOUT is
// unset; below the gateway's default UPSTREAM_TIMEOUT (10s), so a backend
// gives up and answers before the gateway stops waiting.
const DefaultRequestTimeout = 8 * time.Second

// RequestTimeout reads REQUEST_TIMEOUT: the deadline of every request a
// backend service serves, and so of every call it makes while serving it.
func (l *Loader) RequestTimeout() time.Duration {
	return l.Duration("REQUEST_TIMEOUT", DefaultRequestTimeout, 100*time.Millisecond, 5*time.Minute)
}

// MySQL holds the MYSQL_* settings.
type MySQL struct {
	Host, User, Password, Database string
	Port                           int
}

// LoadMySQL reads MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD, MYSQL_DATABASE.
func (l *Loader) LoadMySQL() MySQL {
	return MySQL{
		Host:     l.Required("MYSQL_HOST"),
		Port:     l.Port("MYSQL_PORT", 3306),
		User:     l.Required("MYSQL_USER"),
		Password: l.Secret("MYSQL_PASSWORD", 1),
		Database: l.Required("MYSQL_DATABASE"),
	}
}
