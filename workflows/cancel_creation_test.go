package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// Scripted from model-test seed 12593: Mangopay creates the session but its
// answer is lost (a 503 after the commit), and the onboarding is cancelled
// from Temporal while the creation retries. The session Mangopay made must
// not be unknown to the onboarding: it is found under the creation's
// idempotency key and kept in the history of attempts.
func TestTemporalCancelDuringCreationKeepsTheCreatedSession(t *testing.T) {
	h := newHarness(t, "NATURAL")
	faulted := false
	h.onActivity = func(name string) {
		if name == "CreateSession" && !faulted {
			faulted = true
			h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 503, APIErrorAfterCommit: true})
		}
	}
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(30*time.Second, func() {
		h.env.CancelWorkflow()
		h.sim.SetFaults(sandbox.Faults{}) // Mangopay answers again
	})
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	require.True(t, temporal.IsCanceledError(h.env.GetWorkflowError()), "got %v", h.env.GetWorkflowError())

	end := h.state()
	assert.Equal(t, workflows.StatusCancelled, end.Status)
	created := h.sessions()
	require.Len(t, created, 1, "Mangopay created the session before the cancel")
	known := map[string]bool{end.IdvSessionID: true}
	for _, r := range end.History {
		known[r.IdvSessionID] = true
	}
	assert.True(t, known[created[0].ID], "the session Mangopay created is in the onboarding's history: %+v", end.History)
}

// A signup's read of the user runs inside the workflow task (a local
// activity, on a context a cancel does not reach, so that what a creation
// did at Mangopay is known). A cancel from Temporal that lands while the
// read runs must still stop the signup there: no session is created for an
// onboarding already cancelled, and the platform hears only the cancel.
func TestTemporalCancelDuringTheSignupsReadCreatesNoSession(t *testing.T) {
	h := newHarness(t, "NATURAL")
	cancelled := false
	h.onActivity = func(name string) {
		if name == "ReadUser" && !cancelled {
			cancelled = true
			h.env.CancelWorkflow()
		}
	}
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	require.True(t, temporal.IsCanceledError(h.env.GetWorkflowError()), "got %v", h.env.GetWorkflowError())
	assert.Empty(t, h.sessions(), "no IDV session for a cancelled onboarding")
	assert.Zero(t, h.activities["CreateSession"])
	assert.NotContains(t, h.platform.events(), "onboarding.awaiting_user")
}
