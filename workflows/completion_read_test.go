package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// A cancel that lands while the main loop retries a Mangopay read through
// an outage completes the run within FinalNotifyWait of the cancel, not
// when Mangopay answers again: a final status stops the loop's calls.
func TestCancelDuringARetriedReadCompletesInBound(t *testing.T) {
	h := newHarness(t, "NATURAL")
	// Retries without limit, as the server does (the test environment
	// caps them): the read retries until Mangopay answers.
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	h.ensure(0, workflows.EnsureSessionRequest{})
	var session string
	h.at(time.Hour, func() {
		session = h.state().IdvSessionID
		h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 503})
		h.signal("IDENTITY_VERIFICATION_INCONCLUSIVE", session) // the loop reads the session, and retries
	})
	h.cancel(time.Hour + time.Minute)
	h.at(time.Hour+6*time.Hour, func() { h.sim.SetFaults(sandbox.Faults{}) }) // the outage ends
	h.run(workflows.Config{})

	require.NotEmpty(t, session)
	assert.Equal(t, workflows.StatusCancelled, h.result().Status)
	bound := time.Hour + time.Minute + 10*time.Minute + time.Minute
	assert.LessOrEqual(t, h.env.Now().Sub(h.start), bound, "the run completed within FinalNotifyWait of the cancel")
}
