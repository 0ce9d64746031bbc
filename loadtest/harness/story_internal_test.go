package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/callbudget"
)

func TestFaultAroundAUser(t *testing.T) {
	began := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return began.Add(time.Duration(s) * time.Second) }
	f := Injected{At: 10 * time.Second, Ended: 20 * time.Second}
	for _, c := range []struct {
		name     string
		from, to int
		want     bool
	}{
		{"user before the fault", 0, 9, false},
		{"user after the fault", 21, 60, false},
		{"user across its start", 5, 12, true},
		{"user across its end", 15, 40, true},
		{"user inside it", 12, 18, true},
		{"fault inside the user", 0, 60, true},
		{"user ends as it starts", 0, 10, true},
	} {
		assert.Equal(t, c.want, f.around(began, at(c.from), at(c.to)), c.name)
	}
	// A fault still on (no end recorded) counts from its start.
	assert.True(t, Injected{At: 10 * time.Second}.around(began, at(10), at(30)))
}

func TestFilterBudgetMetrics(t *testing.T) {
	in := strings.Join([]string{
		"# HELP " + callbudget.MetricRemaining + " calls left",
		callbudget.MetricRemaining + `{window="900"} 2290`,
		callbudget.MetricWait + `_bucket{priority="background",le="0.1"} 3`,
		callbudget.MetricWait + `_sum{priority="background"} 1.5`,
		callbudget.MetricWait + `_count{priority="background"} 4`,
		callbudget.MetricRateLimited + `{route="GET /users/{id}"} 7`,
		`go_goroutines 12`,
	}, "\n")
	got, err := filterBudgetMetrics(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, []string{
		callbudget.MetricRemaining + `{window="900"} 2290`,
		callbudget.MetricWait + `_sum{priority="background"} 1.5`,
		callbudget.MetricWait + `_count{priority="background"} 4`,
		callbudget.MetricRateLimited + `{route="GET /users/{id}"} 7`,
	}, got)
}
