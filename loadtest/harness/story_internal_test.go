package harness

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
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

// A user's deadline grows with the faults around it, by the time their
// effects cover: each fault's length and its allowance, overlapping ones
// once.
func TestGraceFromTheFaultsInjected(t *testing.T) {
	start := time.Now().Add(-10 * time.Minute)
	in := &injector{chaos: Chaos{Kinds: Faults}, start: start}
	after := func(d time.Duration) time.Time { return start.Add(d) }
	dropped := Injected{Fault: FaultWebhooksDropped, At: 30 * time.Second, Ended: 32 * time.Second}
	pause := Injected{Fault: Fault429, At: 40 * time.Second, Ended: 42 * time.Second}
	droppedEnd := 32*time.Second + 2*ReconcileEvery + reconcile.DefaultLag

	in.log = []Injected{dropped, pause}
	assert.Equal(t, droppedEnd-30*time.Second, in.grace(after(0)), "the pause's effect lies within the dropped webhook's: counted once")
	assert.Equal(t, droppedEnd-30*time.Second, in.grace(after(time.Minute)), "a user after both windows still waits out their effects")
	assert.Zero(t, in.grace(after(5*time.Minute)), "both effects over before the user came")

	// Apart, they add up.
	late := Injected{Fault: Fault429, At: 4 * time.Minute, Ended: 4*time.Minute + 2*time.Second}
	in.log = []Injected{dropped, late}
	assert.Equal(t, droppedEnd-30*time.Second+2*time.Second+mangopay.DefaultRateLimitPause, in.grace(after(0)))
	assert.Equal(t, 2*time.Second+mangopay.DefaultRateLimitPause, in.grace(after(droppedEnd+time.Second)), "only the later one meets a later user")

	// A fault still on counts until now.
	in.log = []Injected{{Fault: FaultTemporalRestart, At: 9 * time.Minute}}
	g := in.grace(after(8 * time.Minute))
	assert.GreaterOrEqual(t, g, time.Minute+bridge.MaxBackoff+workflowTaskTimeout)
	assert.Less(t, g, 2*time.Minute+bridge.MaxBackoff+workflowTaskTimeout)
}

// make test's chaos profile: every fault kind within 50 s. A user there
// from the start gets the time their effects cover, not their sum: a user
// kycflow lost is still reported within minutes.
func TestGraceOfTheChaosProfile(t *testing.T) {
	c, err := ParseChaos("all", 1, 2*time.Second)
	require.NoError(t, err)
	in := &injector{chaos: c, start: time.Now().Add(-time.Minute)}
	var longest time.Duration
	for i, f := range c.Kinds {
		at := time.Duration(i) * 4 * time.Second
		in.log = append(in.log, Injected{Fault: f, At: at, Ended: at + 2*time.Second})
		longest = max(longest, at+2*time.Second+c.allowance(f))
	}
	assert.Equal(t, longest, in.grace(in.start), "one span, from the first fault to the last effect's end")
	assert.Less(t, in.grace(in.start), 4*time.Minute)
}

func TestEveryFaultHasAnAllowance(t *testing.T) {
	c := Chaos{}
	for _, f := range Faults {
		a := c.allowance(f)
		assert.GreaterOrEqual(t, a, time.Duration(0), "%s", f)
		if f != FaultWebhooksDuplicated {
			assert.Positive(t, a, "%s holds a user up: it needs an allowance", f)
		}
	}
	assert.Equal(t, 3*time.Second, Chaos{Latency: time.Second}.allowance(FaultLatency))
}

// A wait reads its deadline again: one that moves later while it waits
// lets a notification after the first deadline through.
func TestWaitForFollowsAMovingDeadline(t *testing.T) {
	s := newRecorder()
	first := time.Now().Add(50 * time.Millisecond)
	var mu sync.Mutex
	moved := first
	deadline := func() time.Time { mu.Lock(); defer mu.Unlock(); return moved }
	go func() {
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		moved = first.Add(time.Minute) // a fault came
		mu.Unlock()
		time.Sleep(100 * time.Millisecond) // past the first deadline
		s.mu.Lock()
		s.addLocked(received{Event: notify.Event{UserID: "u1", Type: "onboarding.verified"}, At: time.Now()})
		s.mu.Unlock()
	}()
	ev, ok := s.waitFor("u1", func(r received) bool { return r.Type == "onboarding.verified" }, deadline, nil)
	require.True(t, ok, "the wait gave up at its first deadline")
	assert.Equal(t, "onboarding.verified", ev.Type)
}
