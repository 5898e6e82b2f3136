package controller

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"shop/controller/internal/api/v1alpha1"
)

// Metrics are the controller's own series, next to controller-runtime's controller_runtime_reconcile_*.
type Metrics struct {
	mu     sync.Mutex
	phases map[types.NamespacedName]v1alpha1.Phase

	releases *prometheus.Desc
	weight   *prometheus.GaugeVec
	checks   *prometheus.CounterVec
	value    *prometheus.GaugeVec
}

var allPhases = []v1alpha1.Phase{v1alpha1.PhaseWaiting, v1alpha1.PhaseProgressing, v1alpha1.PhasePromoted, v1alpha1.PhaseAborted}

// NewMetrics registers the controller's metrics with reg (controller-runtime's metrics.Registry in the binary).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		phases: map[types.NamespacedName]v1alpha1.Phase{},
		releases: prometheus.NewDesc("shop_canary_releases",
			"CanaryRelease objects by phase (Waiting, Progressing, Promoted, Aborted).", []string{"phase"}, nil),
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shop_canary_release_weight",
			Help: "The canary's share of its route in percent, as last written by the controller."}, []string{"namespace", "release"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_canary_analysis_checks_total",
			Help: "Analysis queries evaluated, by result (pass, fail)."}, []string{"namespace", "release", "query", "result"}),
		value: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shop_canary_analysis_value",
			Help: "The last value an analysis query returned."}, []string{"namespace", "release", "query"}),
	}
	reg.MustRegister(m, m.weight, m.checks, m.value)
	return m
}

// Describe implements prometheus.Collector for shop_canary_releases.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.releases }

// Collect implements prometheus.Collector: every phase is reported, also with a count of 0.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	counts := map[v1alpha1.Phase]int{}
	for _, p := range m.phases {
		counts[p]++
	}
	m.mu.Unlock()
	for _, p := range allPhases {
		ch <- prometheus.MustNewConstMetric(m.releases, prometheus.GaugeValue, float64(counts[p]), string(p))
	}
}

func (m *Metrics) observe(key types.NamespacedName, phase v1alpha1.Phase, weight int32) {
	m.mu.Lock()
	m.phases[key] = phase
	m.mu.Unlock()
	m.weight.WithLabelValues(key.Namespace, key.Name).Set(float64(weight))
}

func (m *Metrics) analysed(key types.NamespacedName, results []v1alpha1.QueryResult) {
	for _, r := range results {
		result := "fail"
		if r.Passed {
			result = "pass"
		}
		m.checks.WithLabelValues(key.Namespace, key.Name, r.Name, result).Inc()
		if r.Value != "" {
			if v, err := strconv.ParseFloat(r.Value, 64); err == nil {
				m.value.WithLabelValues(key.Namespace, key.Name, r.Name).Set(v)
			}
		}
	}
}

// forget drops a deleted release's series.
func (m *Metrics) forget(key types.NamespacedName) {
	m.mu.Lock()
	delete(m.phases, key)
	m.mu.Unlock()
	labels := prometheus.Labels{"namespace": key.Namespace, "release": key.Name}
	m.weight.DeletePartialMatch(labels)
	m.checks.DeletePartialMatch(labels)
	m.value.DeletePartialMatch(labels)
}
