// Package config reads a service's settings from environment variables.
// A Loader collects the first problem per variable; Err reports them as one
// line naming each variable and what it expects, so main can exit 1 with it.
package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Loader reads typed values through a getenv function (os.Getenv in main,
// a map in tests) and remembers every malformed or missing variable.
type Loader struct {
	getenv func(string) string
	errs   []string
}

// New returns a Loader reading variables through getenv.
func New(getenv func(string) string) *Loader { return &Loader{getenv: getenv} }

func (l *Loader) fail(name, format string, args ...any) {
	msg := name + ": " + fmt.Sprintf(format, args...)
	for _, e := range l.errs {
		if e == msg {
			return // the same variable read twice (e.g. by the app and by a service)
		}
	}
	l.errs = append(l.errs, msg)
}

func (l *Loader) raw(name, def string, required bool) (string, bool) {
	v := strings.TrimSpace(l.getenv(name))
	if v == "" {
		if required {
			l.fail(name, "is required but not set")
			return "", false
		}
		return def, def != ""
	}
	return v, true
}

// String returns the variable or def when it is unset.
func (l *Loader) String(name, def string) string {
	v, _ := l.raw(name, def, false)
	return v
}

// Required returns the variable; an unset or blank one is an error.
func (l *Loader) Required(name string) string {
	v, _ := l.raw(name, "", true)
	return v
}

// Secret is Required with a minimum length, for keys and passwords.
func (l *Loader) Secret(name string, minLen int) string {
	v := l.getenv(name)
	if v == "" {
		l.fail(name, "is required but not set")
		return ""
	}
	if len(v) < minLen {
		l.fail(name, "must be at least %d bytes long, got %d", minLen, len(v))
	}
	return v
}

// Int returns an integer within [lo, hi].
func (l *Loader) Int(name string, def, lo, hi int) int {
	v, ok := l.raw(name, strconv.Itoa(def), false)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		l.fail(name, "must be an integer from %d to %d, got %q", lo, hi, v)
		return def
	}
	return n
}

// Float returns a number within [lo, hi].
func (l *Loader) Float(name string, def, lo, hi float64) float64 {
	v, ok := l.raw(name, "", false)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi || f != f {
		l.fail(name, "must be a number from %g to %g, got %q", lo, hi, v)
		return def
	}
	return f
}

// Duration returns a Go duration (e.g. "20s", "1m30s") within [lo, hi].
func (l *Loader) Duration(name string, def, lo, hi time.Duration) time.Duration {
	v, ok := l.raw(name, "", false)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		l.fail(name, "must be a Go duration from %s to %s (e.g. %q), got %q", lo, hi, def.String(), v)
		return def
	}
	return d
}

// Port returns a TCP port number.
func (l *Loader) Port(name string, def int) int { return l.Int(name, def, 1, 65535) }

// HostPort returns a "host:port" address.
func (l *Loader) HostPort(name, def string, required bool) string {
	v, ok := l.raw(name, def, required)
	if !ok {
		return v
	}
	host, port, err := net.SplitHostPort(v)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 || strings.ContainsAny(host, " /") {
		l.fail(name, "must be host:port (e.g. \"redis:6379\" or \":8080\"), got %q", v)
	}
	return v
}

// URLs returns one or more comma-separated http(s) base URLs without a path,
// e.g. "http://user:8080" or "http://a:8080,http://b:8080".
func (l *Loader) URLs(name string) []*url.URL {
	v, ok := l.raw(name, "", true)
	if !ok {
		return nil
	}
	var out []*url.URL
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			l.fail(name, "must be http(s)://host:port base URLs separated by commas (e.g. \"http://user:8080\"), got %q", part)
			return nil
		}
		u.Path = ""
		out = append(out, u)
	}
	return out
}

// OneOf returns the variable when it is one of allowed (case-insensitive).
func (l *Loader) OneOf(name, def string, allowed ...string) string {
	v, ok := l.raw(name, def, false)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	l.fail(name, "must be one of %s, got %q", strings.Join(allowed, "|"), v)
	return def
}

// Check records a cross-field problem (e.g. one duration must be below another).
func (l *Loader) Check(ok bool, name, format string, args ...any) {
	if !ok {
		l.fail(name, format, args...)
	}
}

// Err returns nil, or one error whose message names every bad variable.
func (l *Loader) Err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration: %s", strings.Join(l.errs, "; "))
}
