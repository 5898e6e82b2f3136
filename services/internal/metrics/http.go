// Package metrics holds the Prometheus HTTP instrumentation the services share.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// HTTP instruments a handler with request count, latency and in-flight gauge.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// series caches each label set's counter and histogram (seriesKey to
	// *series): WithLabelValues hashes and looks up the three values on every
	// call, twice per request. The label sets are the routes' patterns times
	// the methods and codes served, as many as the vectors hold anyway.
	series sync.Map
}

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewHTTP registers http_requests_total, http_request_duration_seconds and
// http_requests_in_flight on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	m := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// Middleware must wrap the ServeMux directly: the route label is the pattern
// the mux matched (r.Pattern), "unmatched" when none did.
func (m *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := m.Begin()
		rec := &StatusRecorder{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			m.End(start, route, r.Method, rec.Status())
		}()
		next.ServeHTTP(rec, r)
	})
}

// Begin counts a request in flight and returns its start time, for a server
// that does not go through Middleware (the gateway's fasthttp path); End
// must follow.
func (m *HTTP) Begin() time.Time {
	m.inFlight.Inc()
	return time.Now()
}

// End records a request begun at start with its route pattern, method and status code.
func (m *HTTP) End(start time.Time, route, method string, status int) {
	m.inFlight.Dec()
	k := seriesKey{route, method, status}
	v, ok := m.series.Load(k)
	if !ok {
		// The key and the labels are kept: own copies, in case the caller's
		// strings share memory that is reused (fasthttpadaptor's requests).
		route, method = strings.Clone(route), strings.Clone(method)
		k = seriesKey{route, method, status}
		code := strconv.Itoa(status)
		v, _ = m.series.LoadOrStore(k, &series{
			requests: m.requests.WithLabelValues(route, method, code),
			duration: m.duration.WithLabelValues(route, method, code),
		})
	}
	s := v.(*series)
	s.requests.Inc()
	s.duration.Observe(time.Since(start).Seconds())
}

// StatusRecorder remembers the status code written through it.
type StatusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records code and passes it on.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Status is the code written, 200 when the handler wrote none.
func (s *StatusRecorder) Status() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Flush lets streaming handlers flush through the recorder.
func (s *StatusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the wrapped writer to http.ResponseController.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
