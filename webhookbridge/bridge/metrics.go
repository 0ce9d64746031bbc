package bridge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kycflow/kycflow/mangopay"
)

// Metrics are the bridge's Prometheus metrics, on their own registry so
// that several bridges can run in one process (tests, the dev stack).
type Metrics struct {
	Registry     *prometheus.Registry
	Received     *prometheus.CounterVec // by result
	Forwarded    prometheus.Counter
	Duplicates   prometheus.Counter
	DeadLettered prometheus.Counter
	Unrouted     prometheus.Counter
	Restarted    prometheus.Counter
	ForwardLag   prometheus.Histogram
	Outages      *prometheus.CounterVec // entries kept waiting, by dependency
	Vanished     prometheus.Counter
	// LookupsLimited counts webhooks put off because the fallback lookups
	// (and restarts) were over their rate.
	LookupsLimited prometheus.Counter
	HTTP           *prometheus.CounterVec // platform API by route and status
}

// Results of an intake request (the result label of Received).
const (
	resultStored      = "stored"
	resultPing        = "ping"
	resultRejected    = "rejected"
	resultBadToken    = "bad_token"
	resultUnavailable = "unavailable"
)

// NewMetrics registers the metrics. mp, when set, also exposes Mangopay's
// rate-limit headroom as last seen by that client.
func NewMetrics(mp *mangopay.Client) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kycflow_webhooks_received_total", Help: "Mangopay webhooks received, by result (stored, ping, rejected, bad_token, unavailable).",
		}, []string{"result"}),
		Forwarded:    prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_forwarded_total", Help: "Webhooks signalled to onboarding workflows."}),
		Duplicates:   prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_duplicates_total", Help: "Webhooks dropped as duplicates of one already forwarded."}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_dead_lettered_total", Help: "Webhooks moved to the dead-letter stream."}),
		Unrouted:     prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_unrouted_total", Help: "Webhooks with no onboarding to go to, recorded for operators."}),
		Restarted:    prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_onboardings_restarted_total", Help: "Onboardings restarted by a downgrade webhook."}),
		ForwardLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kycflow_forwarder_lag_seconds", Help: "Time from receiving a webhook to signalling its workflow.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		Vanished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kycflow_webhooks_vanished_total",
			Help: "Webhook entries deleted from the stream before they were handled (trimmed or deleted by hand); Mangopay's redelivery is forwarded.",
		}),
		LookupsLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kycflow_fallback_lookups_limited_total",
			Help: "Webhooks put off because Mangopay lookups for unindexed resources (and restarts) were over BRIDGE_FALLBACK_LOOKUPS_PER_SECOND.",
		}),
		Outages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kycflow_forwarder_outages_total",
			Help: "Webhook entries kept for later because a dependency (mangopay, temporal) was unavailable or refused kycflow's credentials.",
		}, []string{"dependency"}),
		HTTP: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kycflow_platform_api_requests_total", Help: "Platform API requests by route and status.",
		}, []string{"route", "status"}),
	}
	reg.MustRegister(m.Received, m.Forwarded, m.Duplicates, m.DeadLettered, m.Unrouted, m.Restarted, m.ForwardLag, m.Outages, m.Vanished, m.LookupsLimited, m.HTTP)
	if mp != nil {
		for i, name := range []string{"15m", "30m", "1h", "24h"} {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "kycflow_mangopay_ratelimit_remaining", Help: "Mangopay calls left in each rate-limit window, as last reported.",
				ConstLabels: prometheus.Labels{"window": name},
			}, func() float64 { return float64(mp.RateLimits().Windows[i].Remaining) }))
		}
	}
	return m
}
