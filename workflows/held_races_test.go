package workflows_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

// An operator's resend that lands while the onboarding is still recording
// the hold (its NotificationsHeld activity) re-sends the outbox: the sender
// that recorded the hold goes on instead of leaving a full outbox with no
// sender.
func TestResendWhileTheHoldIsRecordedDeliversTheOutbox(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	// Recording the hold takes days here, so that the resend lands while
	// it runs (the schedule ends a little before NotifyDeliveryWindow).
	h.env.OnActivity("NotificationsHeld", mock.Anything, mock.Anything).After(5 * day).Return(nil)
	var refusing atomic.Bool
	refusing.Store(true)
	h.platform.refuseStatus = http.StatusUnauthorized
	h.platform.setRefuse(func(notify.Event) bool { return refusing.Load() })
	h.ensure(0, workflows.EnsureSessionRequest{})
	window := activities.NotifyDeliveryWindow
	h.at(window+10*time.Minute, func() { refusing.Store(false) })
	resent := &updateResult[workflows.ResendResult]{}
	h.at(window+20*time.Minute, func() {
		h.update(workflows.UpdateResendNotifications, resent, workflows.ResendRequest{Actor: "operator:alice", Reason: "endpoint fixed"})
	})
	var after workflows.StateView
	var attention any
	h.at(window+6*day, func() {
		after = h.state()
		attention = h.sa[workflows.SearchAttrAttention.GetName()]
	})
	h.cancel(window + 7*day)
	h.run(workflows.Config{})

	require.NoError(t, resent.err)
	assert.True(t, resent.value.WasHeld)
	assert.Nil(t, after.Undelivered, "nothing left held")
	assert.Nil(t, attention)
	got := h.platform.events()
	require.NotEmpty(t, got, "the resent event reached the platform")
	assert.Equal(t, "onboarding.awaiting_user", got[0])
	assert.Equal(t, "onboarding.cancelled", got[len(got)-1], "and every later one after it")
	assertInOrder(t, h.platform.all())
}

// A resend that lands while a closing run records its hold cannot unflag
// the run: its Result keeps the events, so it must stay listed.
func TestResendWhileAClosingRunHoldsKeepsItFlagged(t *testing.T) {
	h := newHarness(t, "PAYER")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	h.env.OnActivity("NotificationsHeld", mock.Anything, mock.Anything).After(time.Hour).Return(nil)
	h.platform.refuseStatus = http.StatusServiceUnavailable // retried: the run's end holds it
	h.platform.setRefuse(func(notify.Event) bool { return true })
	h.ensure(0, workflows.EnsureSessionRequest{})
	resent := &updateResult[workflows.ResendResult]{}
	h.at(5*time.Minute, func() {
		h.update(workflows.UpdateResendNotifications, resent, workflows.ResendRequest{Actor: "operator:alice", Reason: "endpoint fixed"})
	})
	h.run(workflows.Config{FinalNotifyWait: 2 * time.Minute, FinalDeliveryWait: 2 * time.Minute})

	res := h.result()
	require.Len(t, res.Undelivered, 1)
	assert.Equal(t, workflows.AttentionNotificationsUndelivered, h.sa[workflows.SearchAttrAttention.GetName()],
		"a closed run with undelivered events stays listed")
}

// A run cancelled in Temporal (Web UI, CLI) while its platform is down keeps
// its undelivered notifications in the cancellation's details, where
// `worker notifications` reads them.
func TestTemporalCancelKeepsTheUndeliveredNotifications(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.platform.setRefuse(func(notify.Event) bool { return true })
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Hour, func() { h.env.CancelWorkflow() })
	h.run(workflows.Config{FinalNotifyWait: 2 * time.Minute, FinalDeliveryWait: 2 * time.Minute})

	var canceled *temporal.CanceledError
	require.True(t, errors.As(h.env.GetWorkflowError(), &canceled), "%v", h.env.GetWorkflowError())
	var res workflows.Result
	require.True(t, canceled.HasDetails(), "the cancellation carries the Result")
	require.NoError(t, canceled.Details(&res))
	assert.Equal(t, workflows.StatusCancelled, res.Status)
	require.NotEmpty(t, res.Undelivered)
	assert.Equal(t, "onboarding.awaiting_user", res.Undelivered[0].Type)
	assert.Equal(t, workflows.AttentionNotificationsUndelivered, h.sa[workflows.SearchAttrAttention.GetName()])
}
