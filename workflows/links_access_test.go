package workflows_test

import (
	"context"
	"errors"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

// Only usable links, the completion bound, the waits for Mangopay access, and the main loop with an
// update handler stuck on an activity: each test failed on the code before
// its fix.

// A HostedUrl (and its ExpiresAt) is shown only while its
// session is PENDING and before its ExpiresAt, in the state as in the
// notifications.
func TestOnlyAUsableLinkIsShown(t *testing.T) {
	t.Run("verified", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		h.ensure(0, workflows.EnsureSessionRequest{})
		h.at(time.Minute, func() { h.decide(validated); h.deliver() })
		var after workflows.StateView
		h.at(2*time.Minute, func() { after = h.state() })
		h.cancel(3 * time.Minute)
		h.run(workflows.Config{})
		require.Equal(t, workflows.StatusVerified, after.Status)
		assert.NotEmpty(t, after.IdvSessionID, "the session is still named")
		assert.Empty(t, after.HostedURL, "a validated session's link is no use")
		assert.Empty(t, after.ExpiresAt)
	})
	t.Run("expired", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		h.ensure(0, workflows.EnsureSessionRequest{})
		var after workflows.StateView
		h.at(8*day, func() { after = h.state() })
		h.cancel(8*day + time.Minute)
		h.run(workflows.Config{})
		require.Equal(t, workflows.StatusExpired, after.Status)
		assert.Empty(t, after.HostedURL, "an expired session's link cannot be submitted")
		assert.Empty(t, after.ExpiresAt)
	})
}

// Outside the workflow: a state or ensure-session answer read
// after its link expired (the workflow's clock is the time of its last
// task) shows no link.
func TestStaleLinksAreDroppedByTheWallClock(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		expiresAt string
		wantLink  bool
	}{
		{"ahead", now.Add(time.Hour).Format(time.RFC3339), true},
		{"passed", now.Add(-time.Second).Format(time.RFC3339), false},
		{"exactly now", now.Format(time.RFC3339), false},
		{"unparsable", "soon", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := workflows.StateView{Status: workflows.StatusAwaitingUser, IdvSessionID: "idv_1", HostedURL: "https://x", ExpiresAt: tt.expiresAt}
			v = v.UsableAt(now)
			r := workflows.EnsureSessionResult{Status: workflows.StatusAwaitingUser, IdvSessionID: "idv_1", HostedURL: "https://x", ExpiresAt: tt.expiresAt}
			r = r.UsableAt(now)
			assert.Equal(t, tt.wantLink, v.HostedURL != "")
			assert.Equal(t, tt.wantLink, v.ExpiresAt != "")
			assert.Equal(t, tt.wantLink, r.HostedURL != "")
			assert.Equal(t, tt.wantLink, r.ExpiresAt != "")
			assert.Equal(t, "idv_1", v.IdvSessionID)
		})
	}
}

// Ensure-session in the expiry grace hour (the session's 7 days
// are over, Mangopay has not said EXPIRED yet) never hands out the expired
// link: a fresh session is opened.
func TestEnsureSessionInTheExpiryGraceHour(t *testing.T) {
	h := newHarness(t, "NATURAL")
	first := h.ensure(0, workflows.EnsureSessionRequest{})
	late := h.ensure(7*day+20*time.Minute, workflows.EnsureSessionRequest{})
	var lateAt time.Time
	h.at(7*day+20*time.Minute, func() { lateAt = h.env.Now() })
	h.cancel(7*day + 2*time.Hour)
	h.run(workflows.Config{})
	require.NoError(t, first.err)
	require.True(t, late.done)
	require.NoError(t, late.err)
	require.NotEmpty(t, late.value.HostedURL, "the user is back: a usable link: %+v", late.value)
	expires, err := time.Parse(time.RFC3339, late.value.ExpiresAt)
	require.NoError(t, err)
	assert.True(t, expires.After(lateAt), "ExpiresAt %s is past at %s", expires, lateAt)
	assert.NotEqual(t, first.value.IdvSessionID, late.value.IdvSessionID, "a fresh session")
	assert.Equal(t, 2, late.value.Attempt)
}

// Completion waits at most FinalNotifyWait once the outbox is held (the
// test environment ends an activity's retries after 10 attempts, as if its
// schedule were over); what is undelivered is in the Result, and a
// cancelled onboarding's run is closed (so that the next ensure-session
// starts anew).
func TestCompletionWaitsAtMostFinalNotifyWait(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.platform.setRefuse(func(notify.Event) bool { return true }) // the platform is down for days
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	assert.LessOrEqual(t, h.env.Now().Sub(h.start), time.Hour+10*time.Minute+time.Minute,
		"the run closes within FinalNotifyWait of its final status")
	res := h.result()
	assert.Equal(t, workflows.StatusCancelled, res.Status)
	var undelivered []string
	for _, ev := range res.Undelivered {
		undelivered = append(undelivered, ev.Type)
	}
	assert.Contains(t, undelivered, "onboarding.cancelled", "listed in the Result")
}

// The completion bound, with a custom bound.
func TestCompletionBoundIsTheConfiguredOne(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.platform.setRefuse(func(notify.Event) bool { return true })
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.cancel(time.Hour)
	h.run(workflows.Config{FinalNotifyWait: 2 * time.Minute, FinalDeliveryWait: 2 * time.Minute})
	assert.LessOrEqual(t, h.env.Now().Sub(h.start), time.Hour+3*time.Minute)
	assert.NotEmpty(t, h.result().Undelivered)
}

// A 401/403 on the first read of the user answers
// ensure-session at once, with the reason, and sets KycAttention; the
// onboarding carries on once Mangopay lets kycflow in.
func TestAccessDeniedOnTheFirstReadAnswersAtOnce(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(itoa(int64(status)), func(t *testing.T) {
			h := newHarness(t, "NATURAL")
			h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: status})
			got := h.ensure(0, workflows.EnsureSessionRequest{})
			var answered bool
			var attention any
			h.at(time.Minute, func() { answered, attention = got.done, h.sa["KycAttention"] })
			h.at(3*time.Hour, func() { h.sim.SetFaults(sandbox.Faults{}) })
			var after workflows.StateView
			var attentionAfter any
			h.at(6*time.Hour, func() { after, attentionAfter = h.state(), h.sa["KycAttention"] })
			h.cancel(7 * time.Hour)
			h.run(workflows.Config{})
			require.True(t, answered, "ensure-session answered at once, not at the platform's deadline")
			require.NoError(t, got.err)
			assert.Equal(t, workflows.StatusStarting, got.value.Status)
			assert.Contains(t, got.value.Reason, "Mangopay denies kycflow access")
			assert.Empty(t, got.value.HostedURL)
			assert.Equal(t, workflows.AttentionAccessDenied, attention)
			assert.Equal(t, workflows.StatusAwaitingUser, after.Status, "carried on once access was back")
			assert.Empty(t, attentionAfter, "KycAttention cleared once access was back")
		})
	}
}

// A cancelled onboarding needs no operator: KycAttention is
// cleared.
func TestCancelClearsKycAttention(t *testing.T) {
	h := newHarness(t, "NATURAL")
	// Hosted KYC not activated for kycflow's client: Mangopay answers the
	// session's creation 403.
	off := simtest.FastSettings()
	off.IdvActivated = false
	require.NoError(t, h.sim.SetSettings(off))
	h.ensure(0, workflows.EnsureSessionRequest{})
	var during any
	h.at(30*time.Minute, func() { during = h.sa["KycAttention"] })
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	require.Equal(t, workflows.AttentionAccessDenied, during)
	assert.Equal(t, "CANCELLED", h.sa["KycStatus"])
	assert.Empty(t, h.sa["KycAttention"], "KycAttention stays set on a cancelled onboarding")
}

// A 401/403 wait of any length keeps history per run bounded:
// the run continues as new while it waits.
func TestLongAccessDeniedWaitContinuesAsNew(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	// The session expires unsubmitted; then Mangopay denies kycflow access
	// for weeks while the user wants a new session.
	h.at(8*day, func() { h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 403}) })
	h.ensure(8*day+time.Minute, workflows.EnsureSessionRequest{})
	// The server suggests continue-as-new as history grows (the test
	// environment does not count it).
	h.at(20*day, func() { h.env.SetContinueAsNewSuggested(true) })
	h.cancel(60 * day)
	h.run(workflows.Config{})
	next := nextInput(t, h.env.GetWorkflowError())
	assert.Less(t, h.env.Now().Sub(h.start), 30*day, "continued as new during the wait")
	assert.Equal(t, workflows.StatusExpired, next.State.Status)
	assert.NotEmpty(t, next.State.AccessDenied, "the next run goes on waiting")
	assert.True(t, next.State.WantSession, "and still owes the user a session")
}

// "The main loop frozen while an update handler retries an activity for
// ever": a submit-document whose Mangopay call keeps failing does not stop
// the loop from following the session, nor from continuing as new.
func TestStuckUpdateHandlerDoesNotFreezeTheLoop(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	page, err := h.pages.Put(context.Background(), append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
	require.NoError(t, err)
	// Every try of the KYC document's creation fails, as in a Mangopay
	// outage of that API (the test environment gives up after 10 tries,
	// about 17 minutes; Temporal itself retries for ever).
	h.env.OnActivity(h.acts.CreateDocument, mock.Anything, mock.Anything).
		Return(activities.CreateDocumentResult{}, errors.New("mangopay: 503 on the KYC documents API"))
	doc := &updateResult[workflows.SubmitDocumentResult]{}
	h.at(2*time.Minute, func() {
		h.update(workflows.UpdateSubmitDocument, doc, workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Pages: []string{page}})
	})
	h.at(3*time.Minute, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.signal("KYC_SUCCEEDED", "kyc_m_unknown") // any webhook wakes the loop
	})
	h.at(4*time.Minute, func() { h.decide(validated); h.deliver() })
	var after workflows.StateView
	var handlerDone bool
	h.at(10*time.Minute, func() { after, handlerDone = h.state(), doc.done })
	h.cancel(2 * day)
	h.run(workflows.Config{})
	require.False(t, handlerDone, "the handler was still retrying")
	assert.Equal(t, workflows.StatusVerified, after.Status, "the loop followed the session while the handler was stuck")
}

// "Also": Mangopay's ScopeBlocked (the user's money flows it blocks) is in
// the state and reaches the platform, followed through the
// USER_INFLOWS_/USER_OUTFLOWS_ BLOCKED/UNBLOCKED webhooks.
func TestScopeBlockedIsFollowed(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	var blocked, unblocked workflows.StateView
	h.at(time.Hour, func() {
		require.NoError(t, h.sim.SetBlocks(h.userID, sandbox.BlocksRequest{Outflows: true, ActionCode: "008715"}))
		h.deliver()
	})
	h.at(2*time.Hour, func() { blocked = h.state() })
	h.at(3*time.Hour, func() {
		require.NoError(t, h.sim.SetBlocks(h.userID, sandbox.BlocksRequest{}))
		h.deliver()
	})
	h.at(4*time.Hour, func() { unblocked = h.state() })
	h.cancel(5 * time.Hour)
	h.run(workflows.Config{})
	require.NotNil(t, blocked.ScopeBlocked, "the state carries ScopeBlocked")
	assert.Equal(t, workflows.ScopeBlocked{Outflows: true, ActionCode: "008715"}, *blocked.ScopeBlocked)
	assert.Equal(t, workflows.StatusVerified, blocked.Status, "a block is not a KYC status")
	require.NotNil(t, unblocked.ScopeBlocked)
	assert.Equal(t, workflows.ScopeBlocked{}, *unblocked.ScopeBlocked)
	events := h.platform.events()
	assert.Equal(t, 2, count(events, "user.scope_blocked"), "the platform hears each change: %v", events)
}

// An access wait made moot (a late outcome of the expired session
// verified the user while Mangopay denied the new session's creation)
// settles the platform's ask: a later USER_KYC_RENEWAL_REQUIRED waits for
// the next ensure-session instead of opening a renewal session by itself.
func TestMootAccessWaitSettlesTheAskForASession(t *testing.T) {
	h := newHarness(t, "NATURAL")
	first := h.ensure(0, workflows.EnsureSessionRequest{})
	var expired workflows.StateView
	h.at(2*day, func() {
		expired = h.state() // kycflow gave up on the session (1 day); Mangopay still has it PENDING
		h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 403})
	})
	denied := h.ensure(2*day+time.Minute, workflows.EnsureSessionRequest{})
	h.at(2*day+5*time.Minute, func() { // denied at +1m, +2m, +4m; next try at +8m
		h.sim.SetFaults(sandbox.Faults{})
		require.NoError(t, h.sim.SubmitOutcome(first.value.IdvSessionID, validated)) // the late outcome
		h.deliver()
	})
	var verified workflows.StateView
	h.at(2*day+time.Hour, func() {
		verified = h.state()
		_, err := h.sim.RequireRenewal(h.userID, 30)
		require.NoError(t, err)
		h.deliver() // USER_KYC_RENEWAL_REQUIRED
	})
	var renewal workflows.StateView
	h.at(2*day+2*time.Hour, func() { renewal = h.state() })
	h.cancel(2*day + 3*time.Hour)
	h.run(workflows.Config{SessionLifetime: day})

	require.Equal(t, workflows.StatusExpired, expired.Status)
	require.True(t, denied.done)
	require.Contains(t, denied.value.Reason, "denies kycflow access")
	require.Equal(t, workflows.StatusVerified, verified.Status, "the late outcome verified the user: %+v", verified)
	require.Empty(t, verified.Reason)
	assert.Equal(t, workflows.StatusRenewal, renewal.Status, "no ensure-session asked for a renewal session: %+v", renewal)
	assert.Equal(t, 1, renewal.Attempt, "no session opened by itself")
	assert.Len(t, h.sessions(), 1, "sessions at Mangopay")
}

// A session the user submitted just before its 7 days, whose outcome is
// still on its way: Mangopay has it PENDING past ExpiresAt. ensure-session
// then shows no link (it is past its expiry) and opens no second PENDING
// session; the outcome decides (model seed 20642 found two PENDING).
func TestSubmittedSessionPastItsLifetimeIsNotDoubled(t *testing.T) {
	h := newHarness(t, "NATURAL")
	first := h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(7*day-time.Minute, func() {
		set := simtest.FastSettings()
		set.OutcomeDelaySeconds = 2 * 3600 // the outcome lands 2 h after the submission
		require.NoError(t, h.sim.SetSettings(set))
		require.NoError(t, h.sim.SubmitOutcome(first.value.IdvSessionID, validated))
	})
	late := h.ensure(7*day+20*time.Minute, workflows.EnsureSessionRequest{})
	var pending int
	var after workflows.StateView
	h.at(7*day+30*time.Minute, func() {
		for _, s := range h.sessions() {
			if s.Status == mangopay.IdentityVerificationPending {
				pending++
			}
		}
	})
	h.at(7*day+3*time.Hour, func() { h.deliver(); h.signal("IDENTITY_VERIFICATION_VALIDATED", first.value.IdvSessionID) })
	h.at(7*day+4*time.Hour, func() { after = h.state() })
	h.cancel(7*day + 5*time.Hour)
	h.run(workflows.Config{})

	require.True(t, late.done)
	require.NoError(t, late.err)
	assert.Empty(t, late.value.HostedURL, "a link past its expiry is never handed out")
	assert.Equal(t, 1, late.value.Attempt, "no second session")
	assert.Equal(t, 1, pending, "one PENDING session at Mangopay")
	assert.Equal(t, workflows.StatusVerified, after.Status, "the outcome decides")
}

// A cancel while a submit-document retries its Mangopay call through an
// outage: once FinalNotifyWait has passed, the handler is stopped and
// answers with an error, and the run completes CANCELLED; no update is left
// unanswered (model seed 145 found one).
func TestCancelDuringAStuckSubmissionAnswersIt(t *testing.T) {
	h := newHarness(t, "NATURAL")
	// As on the server, an unlimited retry policy is unlimited (the test
	// environment otherwise gives up after 10 attempts).
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Hour-time.Minute, func() { h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 503}) })
	doc := h.submitIdentityProof(time.Hour)
	h.cancel(time.Hour + time.Minute)
	h.run(workflows.Config{})

	require.True(t, doc.done, "the submission was answered")
	require.Error(t, doc.err, "it could not be done")
	assert.Equal(t, workflows.StatusCancelled, h.result().Status)
	assert.LessOrEqual(t, h.env.Now().Sub(h.start), time.Hour+time.Minute+10*time.Minute+2*time.Minute,
		"the run completes within FinalNotifyWait of the cancel, plus the stop")
}

// A submit-document that Mangopay answers with 401/403 answers at once
// instead of retrying for as long as the denial lasts (weeks, in a
// credential rollout): a handler still running holds the run past its
// continue-as-new point, and its history grows with every webhook.
func TestAccessDeniedSubmitDocumentLetsTheRunContinueAsNew(t *testing.T) {
	h := newHarness(t, "NATURAL")
	// Unlimited retries, as on a Temporal server (the model test's).
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	h.ensure(0, workflows.EnsureSessionRequest{})
	page, err := h.pages.Put(context.Background(), append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
	require.NoError(t, err)
	h.at(8*day, func() { h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 403}) })
	doc := &updateResult[workflows.SubmitDocumentResult]{}
	h.at(8*day+time.Minute, func() {
		h.update(workflows.UpdateSubmitDocument, doc, workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Pages: []string{page}})
	})
	h.at(9*day, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.signal("KYC_SUCCEEDED", "kyc_m_unknown") // any webhook wakes the loop
	})
	h.cancel(60 * day)
	h.run(workflows.Config{})
	next := nextInput(t, h.env.GetWorkflowError())
	assert.Less(t, h.env.Now().Sub(h.start), 30*day, "continued as new while Mangopay denied access")
	require.True(t, doc.done, "the submit-document was answered")
	require.Error(t, doc.err)
	assert.Contains(t, doc.err.Error(), "denied access")
	assert.Empty(t, next.State.Documents, "nothing was created at Mangopay: the platform's retry starts afresh")
}
