package harness

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/notify"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "validated=3,review", want: "validated=3,review=1"},
		{in: " refused-final=2 , validated=1 ", want: "validated=1,refused-final=2"},
		{in: "validated=x", err: "whole number"},
		{in: "validated=-1", err: "whole number"},
		{in: "bogus", err: "unknown path"},
		{in: "validated=0", err: "at least one path"},
		{in: "", err: "at least one path"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseMix(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m.String())
		})
	}
}

func TestMixAssignKeepsProportions(t *testing.T) {
	got := map[Path]int{}
	for _, p := range (Mix{PathValidated: 3, PathReview: 1}).assign(10, rand.New(rand.NewPCG(1, 2))) {
		got[p]++
	}
	assert.Equal(t, 10, got[PathValidated]+got[PathReview])
	assert.GreaterOrEqual(t, got[PathValidated], 7)
	assert.GreaterOrEqual(t, got[PathReview], 2)
}

func TestParseChaos(t *testing.T) {
	c, err := ParseChaos("all", 2, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Faults, c.Kinds)
	c, err = ParseChaos("none", 1, time.Second)
	require.NoError(t, err)
	assert.Empty(t, c.Kinds)
	c, err = ParseChaos("worker-kill, mangopay-429", 1, time.Second)
	require.NoError(t, err)
	assert.Equal(t, []Fault{FaultWorkerKill, Fault429}, c.Kinds)
	_, err = ParseChaos("disk-full", 1, time.Second)
	assert.ErrorContains(t, err, "unknown fault")
	_, err = ParseChaos("worker-kill", 0, time.Second)
	assert.ErrorContains(t, err, "chaos-times")
}

func TestChaosValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chaos Chaos
		err   string
	}{
		{"defaults", Chaos{Kinds: []Fault{FaultLatency}, Times: 1, Window: time.Second}, ""},
		{"no faults, no window", Chaos{}, ""},
		{"negative latency", Chaos{Kinds: []Fault{FaultLatency}, Window: time.Second, Latency: -time.Second}, "--fault-latency"},
		{"latency over the simulator's limit", Chaos{Kinds: []Fault{FaultLatency}, Window: time.Second, Latency: 2 * time.Minute}, "--fault-latency"},
		{"no window", Chaos{Kinds: []Fault{FaultWebhooksDropped}}, "--fault-window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.chaos.validate()
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.err)
		})
	}
}

func TestDoubleTransitions(t *testing.T) {
	ev := func(id, typ string, attempt int, session string) received {
		return received{Event: notify.Event{ID: id, Type: typ, Attempt: attempt, IdvSessionID: session}}
	}
	for _, tc := range []struct {
		name   string
		events []received
		want   []string
	}{
		{"a retried notification keeps its id", []received{
			ev("e1", "onboarding.awaiting_user", 1, "s1"), ev("e1", "onboarding.awaiting_user", 1, "s1"), ev("e2", "onboarding.verified", 1, "s1"),
		}, nil},
		{"a new attempt is a new change", []received{
			ev("e1", "onboarding.awaiting_user", 1, "s1"), ev("e2", "onboarding.awaiting_user", 2, "s2"),
		}, nil},
		{"the same change under two ids", []received{
			ev("e1", "onboarding.verified", 1, "s1"), ev("e9", "onboarding.verified", 1, "s1"),
		}, []string{"onboarding.verified attempt 1 session s1 notified under 2 event ids"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, doubleTransitions(tc.events))
		})
	}
}
