package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCompareSignupsJudgesTheSweepsP99AgainstTheQuietOne(t *testing.T) {
	ms := time.Millisecond
	probe := func(p99 time.Duration, count, failed int) SignupProbe {
		return SignupProbe{Sent: count + failed, Failed: failed, Latency: Percentiles{Count: count, P50: p99 / 2, P99: p99, Max: p99}}
	}
	tests := []struct {
		name         string
		quiet, sweep SignupProbe
		met          bool
		ratio        float64
		why          string
	}{
		{"within twice", probe(200*ms, 60, 0), probe(390*ms, 120, 0), true, 1.95, ""},
		{"exactly twice is within", probe(200*ms, 60, 0), probe(400*ms, 120, 0), true, 2, ""},
		{"above twice", probe(200*ms, 60, 0), probe(401*ms, 120, 0), false, 2.005, "above 2.0×"},
		{"faster during the sweep", probe(200*ms, 60, 0), probe(100*ms, 120, 0), true, 0.5, ""},
		{"a failed signup misses whatever the latency", probe(200*ms, 60, 0), probe(210*ms, 119, 1), false, 1.05, "1 sweep signups failed"},
		{"no quiet signup: nothing to judge", probe(0, 0, 5), probe(210*ms, 120, 0), false, 0, "no quiet signup"},
		{"no signup during the sweep", probe(200*ms, 60, 0), probe(0, 0, 3), false, 0, "no signup succeeded during the sweep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := compareSignups(tt.quiet, tt.sweep, SignupFactor)
			assert.Equal(t, tt.met, c.Met)
			assert.InDelta(t, tt.ratio, c.Ratio, 1e-9)
			if tt.why == "" {
				assert.Empty(t, c.Why)
			} else {
				assert.Contains(t, c.Why, tt.why)
			}
		})
	}
}
