package callbudget

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kycflow/kycflow/mangopay"
)

// Metric names.
const (
	MetricCalls       = "kycflow_mangopay_calls_total"
	MetricWait        = "kycflow_mangopay_budget_wait_seconds"
	MetricRateLimited = "kycflow_mangopay_rate_limited_total"
	MetricRemaining   = "kycflow_mangopay_rate_remaining"
	MetricRate        = "kycflow_mangopay_budget_calls_per_second"
	// MetricLimit is each window's size (made + remaining): the alerts
	// read the share left, remaining / limit, of every process that calls.
	MetricLimit = "kycflow_mangopay_rate_limit"
	// MetricReset is each window's reset (Unix seconds) at the latest
	// answer: the figures of a process that went quiet are stale once it
	// is past, and the alerts drop them.
	MetricReset = "kycflow_mangopay_rate_reset_timestamp_seconds"
)

// Metrics are the budget's Prometheus metrics (see Limiter.RegisterMetrics).
// A nil *Metrics records nothing.
type Metrics struct {
	calls       *prometheus.CounterVec
	wait        *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	remaining   *prometheus.GaugeVec
	limit       *prometheus.GaugeVec
	reset       *prometheus.GaugeVec
	rate        prometheus.Gauge
}

// newMetrics registers the budget's metrics on reg.
func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricCalls, Help: "Mangopay calls sent, by route template, priority and HTTP status (0: transport error).",
		}, []string{"route", "priority", "status"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricWait, Help: "Time a Mangopay call waited for the shared call budget, by priority.",
			Buckets: []float64{0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900},
		}, []string{"priority"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRateLimited, Help: "429 answers received from Mangopay, by route template.",
		}, []string{"route"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricRemaining, Help: "Calls left in each Mangopay rate-limit window (X-RateLimit-Remaining) at the latest answer; absent before the first.",
		}, []string{"window"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricLimit, Help: "Calls allowed in each Mangopay rate-limit window (X-RateLimit + X-RateLimit-Remaining) at the latest answer; absent before the first.",
		}, []string{"window"}),
		reset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricReset, Help: "Reset of each Mangopay rate-limit window (X-RateLimit-Reset, Unix seconds) at the latest answer: the remaining and limit gauges are stale once it is past; absent before the first.",
		}, []string{"window"}),
		rate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricRate, Help: "Calls per second the budget allows, read from Mangopay's windows at the latest answer (MANGOPAY_BUDGET_SHARE of each window's limit per window length, at most its remaining calls until its reset and MANGOPAY_MAX_CALLS_PER_SECOND); absent before the first.",
		}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.wait, m.rateLimited, m.remaining, m.limit, m.reset, m.rate} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) waited(p mangopay.Priority, d time.Duration) {
	if m == nil {
		return
	}
	m.wait.WithLabelValues(p.String()).Observe(d.Seconds())
}

func (m *Metrics) called(c mangopay.Call, status int) {
	if m == nil {
		return
	}
	route := c.Method + " " + c.Route
	m.calls.WithLabelValues(route, c.Priority.String(), strconv.Itoa(status)).Inc()
	if status == 429 {
		m.rateLimited.WithLabelValues(route).Inc()
	}
}

// observeRemaining sets the gauges; a window appears only once Mangopay has sent
// its figure, so it never reads 0 before the first call.
func (m *Metrics) observeRemaining(l mangopay.RateLimits, rate float64) {
	if m == nil {
		return
	}
	for _, w := range l.Windows {
		m.remaining.WithLabelValues(windowLabel(w.Window)).Set(float64(w.Remaining))
		m.limit.WithLabelValues(windowLabel(w.Window)).Set(float64(w.Made + w.Remaining))
		if !w.Reset.IsZero() {
			m.reset.WithLabelValues(windowLabel(w.Window)).Set(float64(w.Reset.Unix()))
		}
	}
	m.rate.Set(rate)
}

func windowLabel(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	default:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
}
