package attention

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// MetricNeedingAttention is the gauge of the onboardings needing a
// person, by reason, as last counted.
const MetricNeedingAttention = "kycflow_onboardings_needing_attention"

// CountEvery is how often the worker counts them: visibility counts are
// cheap, and an alert on them waits minutes anyway.
const CountEvery = time.Minute

// Gauge counts the onboardings needing a person periodically into a
// Prometheus gauge. Every worker counts the same fleet: the rules take
// max().
type Gauge struct {
	gauge *prometheus.GaugeVec
}

// NewGauge registers the gauge on reg.
func NewGauge(reg prometheus.Registerer) (*Gauge, error) {
	g := &Gauge{gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricNeedingAttention,
		Help: "Running onboardings that need a person, by reason (Temporal visibility, counted every minute; absent until the first count).",
	}, []string{"reason"})}
	if err := reg.Register(g.gauge); err != nil {
		return nil, err
	}
	return g, nil
}

// Refresh counts once.
func (g *Gauge) Refresh(ctx context.Context, tc client.Client, now time.Time) error {
	counts, err := Counts(ctx, tc, now)
	if err != nil {
		return err
	}
	for r, n := range counts {
		g.gauge.WithLabelValues(string(r)).Set(float64(n))
	}
	return nil
}

// Run refreshes the gauge every CountEvery until ctx ends; a failed count
// is logged and the last figures stay.
func (g *Gauge) Run(ctx context.Context, tc client.Client, log *slog.Logger) {
	t := time.NewTicker(CountEvery)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := g.Refresh(cctx, tc, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("count the onboardings needing attention", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
