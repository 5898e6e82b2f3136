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
	// Version is the build this process runs (SERVICE_VERSION): the program sets it to the
	// image's digest; "dev" when unset (a local `go run`).
	Version string
}

// DefaultVersion is the version a service reports when SERVICE_VERSION is unset.
const DefaultVersion = "dev"

// validVersion reports whether v is safe in a response header and a log line: 1 to 128
// characters from [A-Za-z0-9._:+-] (a digest like "sha256:<hex>", a tag, "dev").
func validVersion(v string) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '+', c == '-':
		default:
			return false
		}
	}
	return true
}

// LoadCommon reads HTTP_ADDR, LOG_LEVEL, SHUTDOWN_TIMEOUT, SHUTDOWN_DRAIN and SERVICE_VERSION.
func (l *Loader) LoadCommon() Common {
	c := Common{
		HTTPAddr:        l.HostPort("HTTP_ADDR", ":8080", false),
		LogLevel:        l.OneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		ShutdownTimeout: l.Duration("SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, 10*time.Minute),
		ShutdownDrain:   l.Duration("SHUTDOWN_DRAIN", 2*time.Second, 0, 5*time.Minute),
		Version:         l.String("SERVICE_VERSION", DefaultVersion),
	}
	l.Check(validVersion(c.Version), "SERVICE_VERSION",
		"must be 1 to 128 characters from [A-Za-z0-9._:+-] (e.g. \"sha256:<64 hex digits>\"), got %q", c.Version)
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
