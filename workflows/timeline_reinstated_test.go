package workflows_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// TestEarlierSessionCurrentAgainIsAStatusChange: both sessions of a
// business expired at kycflow; Mangopay then validates the first (the user
// submitted it just in time), and the PSC read that would move the
// onboarding on fails. The onboarding is AWAITING_USER again on that
// session, and that is a status change like any other: recorded, in the
// search attributes, and notified, so the platform's last word and
// KycStatus are not left at EXPIRED.
func TestEarlierSessionCurrentAgainIsAStatusChange(t *testing.T) {
	h := newHarness(t, "BUSINESS")
	first := h.ensure(0, workflows.EnsureSessionRequest{})
	h.ensure(2*day, workflows.EnsureSessionRequest{}) // the first expired: a second session
	var expired workflows.StateView
	var failPSCRead atomic.Bool
	h.onActivity = func(name string) {
		if name == "ReadPSCs" && failPSCRead.CompareAndSwap(true, false) {
			h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 404}) // a permanent error: no retry
		}
	}
	h.at(4*day, func() {
		expired = h.state()
		failPSCRead.Store(true)
		require.NoError(t, h.sim.SubmitOutcome(first.value.IdvSessionID, businessValidated)) // the late outcome
		h.deliver()
	})
	var current workflows.StateView
	var kycStatus any
	var events []string
	h.at(4*day+time.Hour, func() {
		h.sim.SetFaults(sandbox.Faults{})
		current = h.state()
		kycStatus = h.sa[workflows.SearchAttrStatus.GetName()]
		events = h.platform.events()
	})
	h.cancel(4*day + 2*time.Hour)
	h.run(workflows.Config{SessionLifetime: day})

	require.Equal(t, workflows.StatusExpired, expired.Status, "both sessions expired at kycflow")
	require.Equal(t, workflows.StatusAwaitingUser, current.Status, "the first session is current again: %+v", current)
	require.Equal(t, first.value.IdvSessionID, current.IdvSessionID)
	assert.Equal(t, string(workflows.StatusAwaitingUser), kycStatus, "KycStatus follows the status")
	var statusEvents []string
	for _, e := range events {
		if strings.HasPrefix(e, "onboarding.") {
			statusEvents = append(statusEvents, e)
		}
	}
	require.NotEmpty(t, statusEvents)
	assert.Equal(t, "onboarding.awaiting_user", statusEvents[len(statusEvents)-1], "the platform's last word is the status: %v", statusEvents)
	ts := audit.Transitions(timelineOf(t, h).Entries)
	require.GreaterOrEqual(t, len(ts), 2)
	back := ts[len(ts)-2] // the cancel is the last
	assert.Equal(t, []string{"EXPIRED", "AWAITING_USER"}, []string{back.OldStatus, back.NewStatus})
}
