package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// A block of the user's money flows notified while the onboarding is still
// STARTING (waiting for Mangopay to let kycflow in: 403) is not lost: the
// regulatory status is read once the preflight is done.
func TestBlockWebhookWhileStartingIsNotLost(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 403})
	h.ensure(0, workflows.EnsureSessionRequest{})
	var starting, after workflows.StateView
	h.at(10*time.Second, func() {
		starting = h.state()
		require.NoError(t, h.sim.SetBlocks(h.userID, sandbox.BlocksRequest{Inflows: true}))
		h.deliver() // USER_INFLOWS_BLOCKED, while STARTING
	})
	h.at(20*time.Second, func() { h.sim.SetFaults(sandbox.Faults{}) })
	h.at(time.Hour, func() { after = h.state() })
	h.cancel(2 * time.Hour)
	h.run(workflows.Config{})

	require.Equal(t, workflows.StatusStarting, starting.Status)
	assert.Equal(t, workflows.StatusAwaitingUser, after.Status)
	require.NotNil(t, after.ScopeBlocked, "the block notified while STARTING is known")
	assert.True(t, after.ScopeBlocked.Inflows)
	assert.Contains(t, h.platform.events(), "user.scope_blocked")
}
