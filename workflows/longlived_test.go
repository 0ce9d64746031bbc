package workflows_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

// The tests in this file each pin a defect of the long-lived and concurrent
// paths (continue-as-new, updates racing the main loop, cancels, expiry,
// credentials), found in review and reproduced on the code before the fix.

const day = 24 * time.Hour

// nextInput decodes the input of the run the workflow continued as.
func nextInput(t *testing.T, err error) workflows.Input {
	t.Helper()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "the workflow should have continued as new, got %v", err)
	var next workflows.Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	return next
}

func TestContinueAsNewDoesNotStrandEnsureSession(t *testing.T) {
	t.Run("expired, then the user is back", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		h.ensure(0, workflows.EnsureSessionRequest{})
		h.at(8*day, func() { h.env.SetContinueAsNewSuggested(true) })
		again := h.ensure(8*day+time.Minute, workflows.EnsureSessionRequest{})
		h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
		require.True(t, h.env.IsWorkflowCompleted())

		require.True(t, again.done, "ensure-session never completed")
		require.NoError(t, again.err)
		assert.Equal(t, workflows.StatusAwaitingUser, again.value.Status)
		assert.Equal(t, 2, again.value.Attempt)
		next := nextInput(t, h.env.GetWorkflowError())
		assert.Equal(t, again.value.IdvSessionID, next.State.Session.IdvSessionID)
	})
	t.Run("verified, downgraded, then the user is back", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		h.ensure(0, workflows.EnsureSessionRequest{})
		h.at(time.Minute, func() { h.decide(validated); h.deliver() })
		h.at(time.Hour, func() {
			// The platform is down: notifications keep being retried.
			h.platform.setRefuse(func(notify.Event) bool { return true })
			h.env.SetContinueAsNewSuggested(true)
			require.NoError(t, h.sim.Downgrade(h.userID))
			h.deliverOnly("USER_KYC_LIGHT")
		})
		// The platform asks for the new session. Before the fix this run
		// waited for its handlers and the platform before continuing as new,
		// with no session: this ensure-session waited for one for ever.
		again := h.ensure(time.Hour+time.Minute, workflows.EnsureSessionRequest{})
		h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
		require.True(t, h.env.IsWorkflowCompleted())

		next := nextInput(t, h.env.GetWorkflowError())
		require.NotNil(t, next.State.Session, "the new session is opened before continuing as new")
		assert.Equal(t, workflows.StatusAwaitingUser, next.State.Status)
		assert.Equal(t, 2, next.State.Attempt)
		if again.done { // it reached this run: it got the new session
			require.NoError(t, again.err)
			assert.Equal(t, next.State.Session.IdvSessionID, again.value.IdvSessionID)
		}
	})
}

func TestCancelDuringAnActivityIsFinal(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.sim.SetFaults(sandbox.Faults{APILatencyMs: 300}) // the session creation takes a while
	cancelled := &updateResult[workflows.StateView]{}
	var once sync.Once
	h.onActivity = func(name string) {
		if name == "CreateSession" {
			once.Do(func() { h.update(workflows.UpdateCancel, cancelled, workflows.CancelRequest{Reason: "user left"}) })
		}
	}
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError(), "the cancelled onboarding should complete")

	require.True(t, cancelled.done)
	require.NoError(t, cancelled.err)
	res := h.result()
	assert.Equal(t, workflows.StatusCancelled, res.Status)
	events := h.platform.events()
	require.NotEmpty(t, events)
	assert.Equal(t, "onboarding.cancelled", events[len(events)-1], "nothing after the final status: %v", events)
	assert.NotContains(t, events, "onboarding.awaiting_user")
	// The session Mangopay created meanwhile is known to the onboarding.
	sessions := h.sessions()
	require.Len(t, sessions, 1)
	v := h.state()
	known := slices.ContainsFunc(v.History, func(r workflows.AttemptRecord) bool { return r.IdvSessionID == sessions[0].ID })
	assert.True(t, known || v.IdvSessionID == sessions[0].ID, "session %s unknown to the onboarding: %+v", sessions[0].ID, v)
}

func TestNoHotLoopAfterExpiry(t *testing.T) {
	h := newHarness(t, "NATURAL")
	var mu sync.Mutex
	reads := 0
	h.onActivity = func(name string) {
		if name != "GetSession" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if reads++; reads == 100 {
			h.env.CancelWorkflow() // a hot loop: stop it, the assertion below fails
		}
	}
	h.ensure(0, workflows.EnsureSessionRequest{})
	// From just before the expiry, every read of the session is refused.
	h.at(7*day-time.Minute, func() { h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 400}) })
	h.at(9*day, func() { h.sim.SetFaults(sandbox.Faults{}) })
	h.cancel(9*day + time.Hour)
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	mu.Lock()
	defer mu.Unlock()
	// Reconciliation reads over 9 days, spaced out: a handful, not hundreds.
	assert.Less(t, reads, 15)
}

func TestUpdatesLetContinueAsNewHappen(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	h.at(time.Hour, func() { h.env.SetContinueAsNewSuggested(true) })
	// A platform that calls POST /v1/onboardings on every login.
	login := h.ensure(2*time.Hour, workflows.EnsureSessionRequest{})
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	require.True(t, login.done)
	assert.Equal(t, workflows.StatusVerified, login.value.Status)
	next := nextInput(t, h.env.GetWorkflowError())
	assert.Equal(t, workflows.StatusVerified, next.State.Status)
	assert.Less(t, h.env.Now().Sub(h.start), 3*time.Hour, "continued as new right after the update")
}

func TestContinueAsNewDoesNotWaitForThePlatform(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.platform.setRefuse(func(notify.Event) bool { return true }) // down for days
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	// (Within the test environment's 10 attempts of a notification.)
	h.at(5*time.Minute, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.signal("KYC_SUCCEEDED", "kyc_m_unknown") // any webhook wakes the loop
	})
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	next := nextInput(t, h.env.GetWorkflowError())
	assert.Less(t, h.env.Now().Sub(h.start), time.Hour, "continue-as-new waited for the platform")
	// What the platform has not received yet goes on to the next run, in order.
	var types []string
	for _, ev := range next.State.Outbox {
		types = append(types, ev.Type)
	}
	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.verified"}, types)
}

func TestNotificationsReachThePlatformInOrder(t *testing.T) {
	h := newHarness(t, "NATURAL")
	var once sync.Once
	h.platform.setRefuse(func(ev notify.Event) bool {
		refuse := false
		if ev.Type == "onboarding.refused" {
			once.Do(func() { refuse = true }) // a hiccup on the first delivery
		}
		return refuse
	})
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(faceMismatch); h.deliver() })
	h.cancel(time.Hour)
	h.run(workflows.Config{RetryBackoff: time.Second})
	assert.Equal(t, []string{
		"onboarding.awaiting_user", "onboarding.refused", "onboarding.awaiting_user", "onboarding.cancelled",
	}, h.platform.events())
}

func TestExpiryGraceForALateSubmission(t *testing.T) {
	h := newHarness(t, "NATURAL")
	set := simtest.FastSettings()
	set.OutcomeDelaySeconds = (30 * time.Minute).Seconds() // Mangopay is processing
	require.NoError(t, h.sim.SetSettings(set))
	h.ensure(0, workflows.EnsureSessionRequest{})
	// The user submits 5 minutes before the 7 days are over; the webhook is lost.
	h.at(7*day-5*time.Minute, func() { h.decide(validated) })
	var after workflows.StateView
	h.at(7*day+3*time.Hour, func() { h.skipEvents(); after = h.state() })
	h.cancel(7*day + 4*time.Hour)
	h.run(workflows.Config{})
	assert.Equal(t, workflows.StatusVerified, after.Status)
	assert.NotContains(t, h.platform.events(), "onboarding.expired")
}

func TestLateOutcomeOfAnArchivedSessionIsHonoured(t *testing.T) {
	h := newHarness(t, "NATURAL")
	set := simtest.FastSettings()
	set.OutcomeDelaySeconds = (3 * time.Hour).Seconds() // a slow check
	require.NoError(t, h.sim.SetSettings(set))
	first := h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(7*day-5*time.Minute, func() { h.decide(validated) })
	// Declared expired by then, the user is back: attempt 2 opens.
	again := h.ensure(7*day+2*time.Hour, workflows.EnsureSessionRequest{})
	// The first session's outcome lands at 7 days 2 h 55 min; its webhook arrives.
	var after workflows.StateView
	h.at(7*day+3*time.Hour, func() { h.deliver() })
	h.at(7*day+4*time.Hour, func() { after = h.state() })
	h.cancel(7*day + 5*time.Hour)
	h.run(workflows.Config{})
	require.NoError(t, again.err)
	require.Equal(t, 2, again.value.Attempt)
	assert.Equal(t, workflows.StatusVerified, after.Status, "Mangopay validated the first session: %+v", after)
	assert.Equal(t, first.value.IdvSessionID, after.IdvSessionID)
}

func TestCredentialAndPermissionErrorsWait(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(itoa(int64(status)), func(t *testing.T) {
			h := newHarness(t, "NATURAL")
			// A bad credential rollout (401 even after re-authentication) or
			// an IP allowlist change (403), fixed after 5 minutes (the test
			// environment gives up an activity after 10 attempts, about 17
			// minutes of backoff; Temporal itself retries without limit).
			h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: status})
			h.at(5*time.Minute, func() { h.sim.SetFaults(sandbox.Faults{}) })
			got := h.ensure(0, workflows.EnsureSessionRequest{})
			var after workflows.StateView
			h.at(time.Hour, func() { after = h.state() })
			h.cancel(2 * time.Hour)
			h.run(workflows.Config{})
			require.True(t, got.done)
			require.NoError(t, got.err)
			// Answered at once, with the reason...
			assert.Equal(t, workflows.StatusStarting, got.value.Status, "%+v", got.value)
			assert.Contains(t, got.value.Reason, "Mangopay denies kycflow access")
			// ...and carried on once fixed.
			assert.Equal(t, workflows.StatusAwaitingUser, after.Status, "%+v", after)
		})
	}
	t.Run("hosted KYC not activated yet", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		off := simtest.FastSettings()
		off.IdvActivated = false
		require.NoError(t, h.sim.SetSettings(off))
		h.at(5*time.Minute, func() { require.NoError(t, h.sim.SetSettings(simtest.FastSettings())) })
		got := h.ensure(0, workflows.EnsureSessionRequest{})
		var after workflows.StateView
		var attention any
		h.at(time.Minute, func() { attention = h.sa["KycAttention"] })
		h.at(time.Hour, func() { after = h.state() })
		h.cancel(2 * time.Hour)
		h.run(workflows.Config{})
		// The signup gets its answer at once: it waits, and why.
		require.True(t, got.done)
		assert.Equal(t, workflows.StatusStarting, got.value.Status, "%+v", got.value)
		assert.Contains(t, got.value.Reason, "Mangopay denies kycflow access")
		// Once activated, the onboarding carries on by itself.
		assert.Equal(t, workflows.StatusAwaitingUser, after.Status, "%+v", after)
		assert.NotContains(t, h.platform.events(), "onboarding.not_eligible")
		assert.Equal(t, workflows.AttentionAccessDenied, attention, "operators can find it in the Web UI")
		assert.Empty(t, h.sa["KycAttention"], "cleared once Mangopay let kycflow in")
	})
}

func TestSubmitDocumentRetryAcrossRunsCreatesOneDocument(t *testing.T) {
	h := newHarness(t, "NATURAL")
	ctx := context.Background()
	page := func() string {
		k, err := h.pages.Put(ctx, append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
		require.NoError(t, err)
		return k
	}
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	first := &updateResult[workflows.SubmitDocumentResult]{}
	h.at(time.Hour, func() {
		h.updateWithID(workflows.UpdateSubmitDocument, "platform-key-1", first, workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Pages: []string{page()}})
	})
	h.at(2*time.Hour, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.signal("KYC_SUCCEEDED", "kyc_m_unknown")
	})
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, first.err)
	next := nextInput(t, h.env.GetWorkflowError())

	// The platform timed out and retries with the same key: it lands on the
	// next run.
	h2 := h.nextRun()
	retry := &updateResult[workflows.SubmitDocumentResult]{}
	h2.at(time.Minute, func() {
		h2.updateWithID(workflows.UpdateSubmitDocument, "platform-key-1", retry, workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Pages: []string{page()}})
	})
	h2.cancel(time.Hour)
	h2.env.ExecuteWorkflow(workflows.KYCOnboarding, next)
	require.True(t, h2.env.IsWorkflowCompleted())
	require.True(t, retry.done)
	require.NoError(t, retry.err)
	assert.Equal(t, first.value.KycDocumentID, retry.value.KycDocumentID)
	docs, _, err := h.mp.ListKYCDocuments(ctx, h.userID, &mangopay.ListKYCDocumentsOptions{})
	require.NoError(t, err)
	assert.Len(t, docs, 1, "one KYC document at Mangopay")
}

// TestAbandonedSessionCost measures the path of a user who never comes back
// over the real 7 days (time-skipping): Mangopay calls and billable actions.
// Before long-lived-fixes it cost 11 Mangopay calls and 28 actions; with
// long-lived-fixes v1's polls, 8 and 20; since the fleet reconciliation
// finds lost webhooks, the workflow reads only at the expiry.
func TestAbandonedSessionCost(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	var calls, actions int
	var v workflows.StateView
	h.at(7*day+2*time.Hour, func() { v, calls, actions = h.state(), h.mangopayCalls(), h.actions() })
	h.cancel(8 * day)
	h.run(workflows.Config{})
	require.Equal(t, workflows.StatusExpired, v.Status)
	t.Logf("abandoned session over 7 days: %d Mangopay calls %v, %d actions (activities %v, %d timers, %d updates, %d upserts)",
		calls, h.sim.APICalls(), actions, h.activities, h.timers, h.updates, h.upserts)
	assert.LessOrEqual(t, calls, 3)
	assert.LessOrEqual(t, actions, 11)
}

// One try of a Mangopay activity may make three HTTP calls (a token, the
// call, the call again after a refresh on 401), each bounded by the
// client's timeout: a StartToClose shorter than that cut slow but healthy
// tries and retried them, so a create could run twice.
func TestMangopayActivitiesOutlastTheirCalls(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(faceMismatch); h.deliver() })
	h.at(time.Hour, func() { h.decide(validated); h.deliver() })
	h.cancel(2 * time.Hour)
	h.run(workflows.Config{RetryBackoff: time.Second})
	mangopayActivities := []string{"CreateSession", "GetSession", "ReadUser"}
	for _, name := range mangopayActivities {
		require.Contains(t, h.startToClose, name, "the path runs %s", name)
	}
	for name, d := range h.startToClose {
		if slices.Contains(mangopayActivities, name) {
			assert.GreaterOrEqual(t, d, 3*mangopay.DefaultTimeout, name)
		}
	}
}
