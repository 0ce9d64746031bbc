package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
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
		{"within twice", probe(200*ms, 300, 0), probe(390*ms, 600, 0), true, 1.95, ""},
		{"exactly twice is within", probe(200*ms, 300, 0), probe(400*ms, 600, 0), true, 2, ""},
		{"above twice", probe(200*ms, 300, 0), probe(401*ms, 600, 0), false, 2.005, "above 2.0×"},
		{"faster during the sweep", probe(200*ms, 300, 0), probe(100*ms, 600, 0), true, 0.5, ""},
		{"a failed signup misses whatever the latency", probe(200*ms, 300, 0), probe(210*ms, 599, 1), false, 1.05, "1 sweep signups failed"},
		{"below 100 quiet signups the p99 is the maximum", probe(200*ms, 99, 0), probe(210*ms, 600, 0), false, 1.05, "too few signups"},
		{"below 100 signups during the sweep", probe(200*ms, 300, 0), probe(210*ms, 60, 0), false, 1.05, "too few signups"},
		{"no quiet signup: nothing to judge", probe(0, 0, 5), probe(210*ms, 600, 0), false, 0, "no quiet signup"},
		{"no signup during the sweep", probe(200*ms, 300, 0), probe(0, 0, 3), false, 0, "no signup succeeded during the sweep"},
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

func TestSplitProbeCallsLeavesTheWaveItsOwnCalls(t *testing.T) {
	byRoute := map[string]int{
		"POST /sca/users/natural":                     2, // the probe's users, created by the harness
		"GET /sca/users/{userId}":                     5, // 3 of the wave's users, 2 of the probe's
		"POST /users/{userId}/identity-verifications": 4,
		"GET /events":                                 1,
	}
	log := []sandbox.CallRecord{
		{Route: "POST /sca/users/natural"}, {Route: "POST /sca/users/natural"},
		{Route: "GET /sca/users/{userId}", UserID: "wave-1"}, {Route: "GET /sca/users/{userId}", UserID: "wave-2"},
		{Route: "GET /sca/users/{userId}", UserID: "wave-3"},
		{Route: "GET /sca/users/{userId}", UserID: "new-1"}, {Route: "GET /sca/users/{userId}", UserID: "new-2"},
		{Route: "POST /users/{userId}/identity-verifications", UserID: "wave-1"},
		{Route: "POST /users/{userId}/identity-verifications", UserID: "wave-2"},
		{Route: "POST /users/{userId}/identity-verifications", UserID: "new-1"},
		{Route: "POST /users/{userId}/identity-verifications", UserID: "new-2"},
		{Route: "GET /events"},
	}
	wave, probe := splitProbeCalls(byRoute, log, map[string]bool{"new-1": true, "new-2": true})
	assert.Equal(t, map[string]int{
		"GET /sca/users/{userId}":                     3,
		"POST /users/{userId}/identity-verifications": 2,
		"GET /events": 1,
	}, wave)
	assert.Equal(t, 4, probe)
	assert.Equal(t, 5, byRoute["GET /sca/users/{userId}"], "the counts given are left as they were")
}
