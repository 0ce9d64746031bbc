package harness

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "validated=3,review", want: "validated=3,review=1"},
		{in: "renewal=2,expired,business-pscs=1,extra-document=1", want: "expired=1,extra-document=1,business-pscs=1,renewal=2"},
		{in: "expired=1,expired=2", want: "expired=3"},
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

// make test's profile (200 users, DefaultMix) drives every path, the
// lightest a dozen times.
func TestDefaultMixCoversEveryPath(t *testing.T) {
	got := map[Path]int{}
	for _, p := range DefaultMix().assign(200, rand.New(rand.NewPCG(1, 2))) {
		got[p]++
	}
	for _, p := range Paths {
		assert.GreaterOrEqual(t, got[p], 12, p)
		_, ok := expected[p]
		assert.True(t, ok, "%s has an expectation", p)
	}
	assert.Greater(t, got[PathValidated], got[PathExpired], "validated is the most common")
}

func TestSessionLifetime(t *testing.T) {
	expired := Mix{PathExpired: 1, PathValidated: 1}
	for _, tc := range []struct {
		name     string
		mix      Mix
		lifetime time.Duration
		deadline time.Duration
		err      string
	}{
		{name: "expired path: Mangopay's, the path expires its own session", mix: expired},
		{name: "no expired path: Mangopay's", mix: Mix{PathValidated: 1}},
		{name: "shortened", mix: expired, lifetime: time.Minute, deadline: 2 * time.Minute},
		{name: "too short", mix: expired, lifetime: 5 * time.Second, err: "--session-lifetime must be from 30s"},
		{name: "longer than Mangopay's", mix: Mix{PathValidated: 1}, lifetime: 8 * 24 * time.Hour, err: "--session-lifetime must be from"},
		{name: "beyond the deadline", mix: expired, lifetime: 3 * time.Minute, deadline: 3 * time.Minute, err: "--user-deadline (3m0s) must be at least 30s longer"},
		{name: "shortened beyond a short deadline", mix: expired, lifetime: time.Minute, deadline: time.Minute, err: "leaves the expired path no time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Mix: tc.mix, SessionLifetime: tc.lifetime, UserDeadline: tc.deadline}
			err := c.validateSessionLifetime()
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			c.Defaults()
			if tc.lifetime > 0 {
				assert.Equal(t, tc.lifetime, c.SessionLifetime)
			} else {
				assert.Zero(t, c.SessionLifetime, "Mangopay's lifetime: the simulator is left alone")
			}
		})
	}
}

func TestTransitions(t *testing.T) {
	ev := func(typ string, attempt int, session string) received {
		status := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(typ, "onboarding."), "psc."))
		return received{Event: notify.Event{Type: typ, Status: status, Attempt: attempt, IdvSessionID: session}}
	}
	renewal := []received{
		ev("onboarding.awaiting_user", 1, "s1"), ev("onboarding.verified", 1, "s1"), ev("onboarding.verified", 1, "s1"),
		ev("onboarding.renewal_required", 1, "s1"), ev("onboarding.renewal_reminder", 1, "s1"),
		// The renewal session keeps RENEWAL_REQUIRED (a REGULAR user), told
		// again with the new attempt and session.
		ev("onboarding.renewal_required", 2, "s2"), ev("document.validated", 0, ""), ev("onboarding.verified", 2, "s2"),
	}
	assert.Equal(t, expected[PathRenewal].transitions, transitions(renewal), "a retried change once; reminders and documents are not status changes")
	oldRenewal := slices.Clone(renewal)
	oldRenewal[5] = ev("onboarding.awaiting_user", 2, "s2")
	assert.NotEqual(t, expected[PathRenewal].transitions, transitions(oldRenewal), "a renewal session is not AWAITING_USER")
	pscs := []received{
		ev("onboarding.awaiting_user", 1, "s1"), ev("psc.pending_validation", 1, "s1"), ev("onboarding.awaiting_pscs", 1, "s1"),
		ev("psc.validated", 1, "s1"), ev("onboarding.verified", 1, "s1"),
	}
	assert.Equal(t, expected[PathBusinessPSCs].transitions, transitions(pscs))
	early := []received{ev("onboarding.awaiting_user", 1, "s1"), ev("onboarding.verified", 1, "s1"), ev("onboarding.awaiting_pscs", 1, "s1")}
	assert.NotEqual(t, expected[PathBusinessPSCs].transitions, transitions(early), "the order counts")
}

func TestVerifiedEarly(t *testing.T) {
	pending := []received{{Event: notify.Event{Type: "onboarding.awaiting_pscs"}}, {Event: notify.Event{Type: "psc.validated"}}}
	verified := append(slices.Clone(pending), received{Event: notify.Event{Type: "onboarding.verified"}})
	assert.Empty(t, verifiedEarly(workflows.StatusAwaitingPSCs, pending))
	assert.Equal(t, "the onboarding reads VERIFIED", verifiedEarly(workflows.StatusVerified, pending))
	assert.Equal(t, "onboarding.verified was notified (the onboarding reads AWAITING_PSCS)", verifiedEarly(workflows.StatusAwaitingPSCs, verified))
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
	psc := func(id, pscID, link string) received {
		return received{Event: notify.Event{ID: id, Type: "psc.pending_validation", Attempt: 1, IdvSessionID: "s1", PscID: pscID, HostedURL: link}}
	}
	doc := func(id, docID string) received {
		return received{Event: notify.Event{ID: id, Type: "document.validated", DocumentID: docID}}
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
		{"two PSCs, two documents: changes of their own", []received{
			psc("e1", "p1", "u1"), psc("e2", "p2", "u2"), doc("e3", "d1"), doc("e4", "d2"),
		}, nil},
		{"a PSC's new link is a new change", []received{psc("e1", "p1", "u1"), psc("e2", "p1", "u2")}, nil},
		{"one PSC's change under two ids", []received{psc("e1", "p1", "u1"), psc("e2", "p1", "u1")},
			[]string{"psc.pending_validation attempt 1 session s1 psc p1 u1 notified under 2 event ids"}},
		{"one document's change under two ids", []received{doc("e1", "d1"), doc("e2", "d1")},
			[]string{"document.validated attempt 0 session  document d1 notified under 2 event ids"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, doubleTransitions(tc.events))
		})
	}
}
