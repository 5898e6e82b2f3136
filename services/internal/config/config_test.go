package config

import (
	"strings"
	"testing"
	"time"
)

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoaderAcceptsWellFormedValuesAndDefaults(t *testing.T) {
	l := New(getenv(map[string]string{
		"HTTP_ADDR": ":9090", "LOG_LEVEL": "DEBUG", "SHUTDOWN_TIMEOUT": "30s",
		"MYSQL_HOST": "db", "MYSQL_PORT": "3307", "MYSQL_USER": "u", "MYSQL_PASSWORD": "p", "MYSQL_DATABASE": "shop",
		"URLS": "http://a:8080, http://b:8080/",
	}))
	c := l.LoadCommon()
	m := l.LoadMySQL()
	urls := l.URLs("URLS")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9090" || c.LogLevel != "debug" || c.ShutdownTimeout != 30*time.Second || c.ShutdownDrain != 2*time.Second || c.Version != DefaultVersion {
		t.Errorf("common: %+v", c)
	}
	if m.Port != 3307 || m.Host != "db" {
		t.Errorf("mysql: %+v", m)
	}
	if len(urls) != 2 || urls[1].String() != "http://b:8080" {
		t.Errorf("urls: %v", urls)
	}
}

func TestLoaderNamesEveryBadVariable(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		load func(*Loader)
		want []string
	}{
		{"missing required", map[string]string{}, func(l *Loader) { l.Required("MYSQL_HOST") }, []string{"MYSQL_HOST: is required"}},
		{"blank required", map[string]string{"MYSQL_HOST": "  "}, func(l *Loader) { l.Required("MYSQL_HOST") }, []string{"MYSQL_HOST: is required"}},
		{"port not a number", map[string]string{"MYSQL_PORT": "abc"}, func(l *Loader) { l.Port("MYSQL_PORT", 3306) }, []string{"MYSQL_PORT: must be an integer from 1 to 65535, got \"abc\""}},
		{"port out of range", map[string]string{"MYSQL_PORT": "70000"}, func(l *Loader) { l.Port("MYSQL_PORT", 3306) }, []string{"MYSQL_PORT"}},
		{"duration without unit", map[string]string{"SHUTDOWN_TIMEOUT": "20"}, func(l *Loader) { l.LoadCommon() }, []string{"SHUTDOWN_TIMEOUT: must be a Go duration"}},
		{"drain not below timeout", map[string]string{"SHUTDOWN_TIMEOUT": "5s", "SHUTDOWN_DRAIN": "5s"}, func(l *Loader) { l.LoadCommon() }, []string{"SHUTDOWN_DRAIN: must be shorter than SHUTDOWN_TIMEOUT"}},
		{"log level", map[string]string{"LOG_LEVEL": "verbose"}, func(l *Loader) { l.LoadCommon() }, []string{"LOG_LEVEL: must be one of debug|info|warn|error"}},
		{"address without port", map[string]string{"HTTP_ADDR": "localhost"}, func(l *Loader) { l.LoadCommon() }, []string{"HTTP_ADDR: must be host:port"}},
		{"version with a space", map[string]string{"SERVICE_VERSION": "v 1"}, func(l *Loader) { l.LoadCommon() }, []string{"SERVICE_VERSION: must be 1 to 128 characters from [A-Za-z0-9._:+-]"}},
		{"url without scheme", map[string]string{"USER_URL": "user:8080"}, func(l *Loader) { l.URLs("USER_URL") }, []string{"USER_URL: must be http(s)://host:port"}},
		{"url with path", map[string]string{"USER_URL": "http://user:8080/api"}, func(l *Loader) { l.URLs("USER_URL") }, []string{"USER_URL"}},
		{"secret too short", map[string]string{"JWT_SECRET": "short"}, func(l *Loader) { l.Secret("JWT_SECRET", 32) }, []string{"JWT_SECRET: must be at least 32 bytes"}},
		{"float", map[string]string{"RATE_LIMIT_RPS": "NaN"}, func(l *Loader) { l.Float("RATE_LIMIT_RPS", 1, 0.1, 10) }, []string{"RATE_LIMIT_RPS"}},
		{"several at once", map[string]string{"MYSQL_PORT": "x"}, func(l *Loader) { l.LoadMySQL() }, []string{"MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := New(getenv(tc.env))
			tc.load(l)
			err := l.Err()
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
