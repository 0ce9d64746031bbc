package workflows_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

// A platform that cannot verify kycflow's signatures for an hour (a secret
// half rotated) answers 401: the notifications wait, and once it answers
// 2xx it receives every one, in order.
func TestPlatformAnswering401ForAnHourGetsEverythingInOrder(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	var refusing atomic.Bool
	refusing.Store(true)
	h.platform.refuseStatus = http.StatusUnauthorized
	h.platform.setRefuse(func(notify.Event) bool { return refusing.Load() })
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(10*time.Minute, func() {
		h.decide(validated)
		h.deliver()
	})
	h.at(time.Hour, func() { refusing.Store(false) })
	h.cancel(3 * time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.verified", "onboarding.cancelled"}, h.platform.events())
	assertInOrder(t, h.platform.all())
	assert.Empty(t, h.result().Undelivered)
}

// An event still undelivered after its whole retry schedule is kept, with
// every later one behind it: the onboarding says so (state, KycAttention,
// the held-notifications metric), and an operator's resend delivers them
// all, in order.
func TestUndeliveredNotificationsAreHeldUntilResent(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	var refusing atomic.Bool
	refusing.Store(true)
	h.platform.refuseStatus = http.StatusUnauthorized
	h.platform.setRefuse(func(notify.Event) bool { return refusing.Load() })
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(24*time.Hour, func() {
		h.decide(validated)
		h.deliver()
	})
	past := activities.NotifyDeliveryWindow + 2*time.Hour
	var held workflows.StateView
	var attention any
	h.at(past, func() {
		held = h.state()
		attention = h.sa[workflows.SearchAttrAttention.GetName()]
		refusing.Store(false) // fixed, but nothing is sent before the operator says so
	})
	var beforeResend []string
	h.at(past+6*time.Hour, func() { beforeResend = h.platform.events() })
	resent := &updateResult[workflows.ResendResult]{}
	anonymous := &updateResult[workflows.ResendResult]{}
	h.at(past+7*time.Hour, func() {
		h.update(workflows.UpdateResendNotifications, anonymous, workflows.ResendRequest{})
		h.update(workflows.UpdateResendNotifications, resent, workflows.ResendRequest{Actor: "operator:alice", Reason: "endpoint fixed"})
	})
	var after workflows.StateView
	var attentionAfter any
	h.at(past+8*time.Hour, func() {
		after = h.state()
		attentionAfter = h.sa[workflows.SearchAttrAttention.GetName()]
	})
	h.cancel(past + 9*time.Hour)
	h.run(workflows.Config{})

	require.NotNil(t, held.Undelivered, "the held notifications are in the state")
	require.Len(t, held.Undelivered.Events, 2)
	assert.Equal(t, "onboarding.awaiting_user", held.Undelivered.Events[0].Type)
	assert.Equal(t, "onboarding.verified", held.Undelivered.Events[1].Type)
	assert.Contains(t, held.Undelivered.Reason, "401")
	assert.Equal(t, workflows.AttentionNotificationsUndelivered, attention)
	assert.Equal(t, 1, h.activities["NotificationsHeld"], "counted for the alert")
	assert.Empty(t, beforeResend, "held until the operator re-sends them")

	require.NoError(t, resent.err)
	assert.Equal(t, 2, resent.value.Queued)
	assert.True(t, resent.value.WasHeld)
	assert.Nil(t, after.Undelivered)
	assert.Nil(t, attentionAfter, "KycAttention cleared")
	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.verified", "onboarding.cancelled"}, h.platform.events())
	assertInOrder(t, h.platform.all())
	assert.Empty(t, h.result().Undelivered)
	tl := timelineOf(t, h)
	require.True(t, anonymous.done)
	assert.ErrorContains(t, anonymous.rejected, "operator", "a resend names the operator and says why")
	assert.Equal(t, audit.Cause{Kind: audit.CauseOperator, Action: workflows.UpdateResendNotifications, Actor: "operator:alice", Reason: "endpoint fixed"},
		findEntry(tl.Entries, func(e audit.Entry) bool { return e.Cause.Action == workflows.UpdateResendNotifications }).Cause, "the resend is in the timeline")
}

// A run that ends with its notifications undelivered keeps them in its
// Result and flags itself, for `worker notifications resend`.
func TestCompletionWithUndeliveredNotificationsIsFlagged(t *testing.T) {
	h := newHarness(t, "PAYER")
	h.platform.setRefuse(func(notify.Event) bool { return true })
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.run(workflows.Config{FinalNotifyWait: 2 * time.Minute, FinalDeliveryWait: 2 * time.Minute})
	res := h.result()
	require.Len(t, res.Undelivered, 1)
	assert.Equal(t, "onboarding.not_eligible", res.Undelivered[0].Type)
	assert.Equal(t, workflows.AttentionNotificationsUndelivered, h.sa[workflows.SearchAttrAttention.GetName()])
	assert.Equal(t, 1, h.activities["NotificationsHeld"])
}

func assertInOrder(t *testing.T, evs []notify.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		assert.False(t, evs[i].OccurredAt.Before(evs[i-1].OccurredAt), "%s (%s) came after %s (%s)",
			evs[i].Type, evs[i].OccurredAt, evs[i-1].Type, evs[i-1].OccurredAt)
	}
}
