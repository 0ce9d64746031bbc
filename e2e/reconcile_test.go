package e2e_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/workflows"
)

// reconcileOnce runs the fleet reconciliation now, as its schedule does
// every RECONCILE_EVENTS_EVERY: one run is one interval's worth.
func (e *env) reconcileOnce(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	h := e.s.Temporal.ScheduleClient().GetHandle(ctx, reconcile.ScheduleID)
	d, err := h.Describe(ctx)
	require.NoError(t, err, "the worker creates the schedule at start")
	require.Len(t, d.Schedule.Spec.Intervals, 1)
	assert.Equal(t, reconcile.DefaultEvery, d.Schedule.Spec.Intervals[0].Every)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
}

// downgradeFoundByReconciliation: a VERIFIED user is never polled, and
// every webhook of the downgrade is lost; one reconciliation run through
// the Events API reopens the onboarding.
func downgradeFoundByReconciliation(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	first := e.startOnboarding(t, user)
	e.completePage(t, first.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)

	e.setFaults(t, map[string]any{"WebhookDropRate": 1})
	e.sim(t, http.MethodPost, "/_sim/users/"+user+"/downgrade", nil, nil)
	e.waitDeliveries(t, evOutdated, first.IdvSessionID, sandbox.Dropped, 1)
	e.waitDeliveries(t, evKYCLight, user, sandbox.Dropped, 1)

	e.reconcileOnce(t)

	o := e.waitState(t, user, "attempt 2 awaiting the user", func(o onboarding) bool {
		return o.Attempt == 2 && o.Status == workflows.StatusAwaitingUser
	})
	require.NotEqual(t, first.IdvSessionID, o.IdvSessionID, "a new session")
	e.waitEvents(t, user, "onboarding.out_of_date")
}

// lostWebhookFoundByReconciliation: the outcome's webhook of a pending
// session is lost and the workflow's own poll is 15 minutes away; one
// reconciliation run delivers it.
func lostWebhookFoundByReconciliation(t *testing.T, e *env) {
	e.setFaults(t, map[string]any{"WebhookDropRate": 1})
	user := e.newNaturalUser(t)
	s := e.startOnboarding(t, user)
	requireAwaitingUser(t, s, 1)
	e.completePage(t, s.HostedURL, nil)
	e.waitDeliveries(t, evValidated, s.IdvSessionID, sandbox.Dropped, 1)

	e.reconcileOnce(t)

	o := e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, s.IdvSessionID, o.IdvSessionID)
}
