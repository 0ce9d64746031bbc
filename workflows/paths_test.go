package workflows_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samber/lo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

func TestWebhookLostReconciliationFinishes(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() {
		h.decide(validated)
		h.skipEvents() // every webhook is lost
	})
	var before, after workflows.StateView
	h.at(14*time.Minute, func() { before = h.state() })
	h.at(16*time.Minute, func() { after = h.state() })
	h.cancel(time.Hour)
	h.run(pollingConfig)
	assert.Equal(t, workflows.StatusAwaitingUser, before.Status, "nothing happens before the first poll")
	assert.Equal(t, workflows.StatusVerified, after.Status, "the 15-minute reconciliation finds the outcome")
}

func TestReconciliationIsSpacedOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   workflows.Config
		reads int
	}{
		// The default leaves lost webhooks to the fleet reconciliation:
		// nothing before the expiry read.
		{"default", workflows.Config{}, 0},
		// At 15 min, then 6 h and 48 h after the previous poll: two by 32 h.
		{"polling", pollingConfig, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "NATURAL")
			h.ensure(0, workflows.EnsureSessionRequest{})
			var reads int
			h.at(32*time.Hour, func() { reads = h.sim.APICalls()["GET /identity-verifications/{id}"] })
			h.cancel(33 * time.Hour)
			h.run(tc.cfg)
			assert.Equal(t, tc.reads, reads)
		})
	}
}

// pollingConfig is the workflow re-reading pending sessions itself, as a
// deployment without the fleet reconciliation would set it.
var pollingConfig = workflows.Config{
	ReconcileSchedule:       []time.Duration{15 * time.Minute, 6 * time.Hour, 48 * time.Hour},
	ReviewReconcileInterval: 12 * time.Hour,
}

func TestDuplicateOutOfOrderAndForgedWebhooks(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	var afterForged workflows.StateView
	var readsAfterForged int
	h.at(time.Minute, func() {
		id := h.state().IdvSessionID
		// Forged: the session is still PENDING at Mangopay.
		h.signal("IDENTITY_VERIFICATION_VALIDATED", id)
		h.signal("IDENTITY_VERIFICATION_VALIDATED", "idnver_01FORGED0000000000000000000")
		h.signal("USER_KYC_LIGHT", "user_m_someone_else")
		h.signal("KYC_SUCCEEDED", "kyc_unknown")
	})
	h.at(2*time.Minute, func() {
		afterForged = h.state()
		readsAfterForged = h.sim.APICalls()["GET /identity-verifications/{id}"]
		h.decide(validated)
		// Out of order (the user's level first) and duplicated.
		h.signal("USER_KYC_REGULAR", h.userID)
		h.deliver()
		h.signal("IDENTITY_VERIFICATION_VALIDATED", h.state().IdvSessionID)
	})
	var final workflows.StateView
	var reads int
	h.at(3*time.Minute, func() {
		final = h.state()
		reads = h.sim.APICalls()["GET /identity-verifications/{id}"]
		// The same webhook again, as Mangopay's retries deliver it.
		h.deliver()
	})
	h.cancel(time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusAwaitingUser, afterForged.Status, "a forged webhook changes nothing")
	assert.Equal(t, 1, readsAfterForged, "only the event naming the current session is checked with the API")
	assert.Equal(t, workflows.StatusVerified, final.Status)
	assert.Equal(t, 2, reads, "the out-of-order USER_KYC_REGULAR triggers the read; the VALIDATED webhooks then add nothing")
	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.verified", "onboarding.cancelled"}, h.platform.events())
}

func TestRefusedRetriedThenValidated(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	var refused workflows.StateView
	h.at(time.Minute, func() { h.decide(faceMismatch); h.deliver() })
	h.at(90*time.Second, func() { refused = h.state() })
	// The backoff (1 min) passes and attempt 2 opens by itself.
	var second workflows.StateView
	h.at(3*time.Minute, func() {
		second = h.state()
		h.decide(validated)
		h.deliver()
	})
	var done workflows.StateView
	h.at(4*time.Minute, func() { done = h.state() })
	h.cancel(time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusRefused, refused.Status)
	assert.Contains(t, refused.Reason, "FACE_MATCH_FAIL")
	assert.Equal(t, workflows.StatusAwaitingUser, second.Status)
	assert.Equal(t, 2, second.Attempt)
	assert.NotEqual(t, refused.IdvSessionID, second.IdvSessionID)
	require.Len(t, second.History, 1)
	assert.Equal(t, []string{"FACE_MATCH_FAIL"}, second.History[0].Reasons)
	assert.Equal(t, workflows.StatusVerified, done.Status)
	assert.Len(t, h.sessions(), 2)
	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.refused", "onboarding.awaiting_user", "onboarding.verified", "onboarding.cancelled"}, h.platform.events())
}

func TestUserBackSkipsRetryBackoff(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(faceMismatch); h.deliver() })
	again := h.ensure(61*time.Second, workflows.EnsureSessionRequest{})
	h.cancel(2 * time.Minute)
	h.run(workflows.Config{RetryBackoff: time.Hour})
	require.NoError(t, again.err)
	assert.Equal(t, workflows.StatusAwaitingUser, again.value.Status)
	assert.Equal(t, 2, again.value.Attempt)
	assert.NotEmpty(t, again.value.HostedURL)
}

func TestRefusedUntilCapFails(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	for i := range 3 {
		h.at(time.Duration(10*i+5)*time.Minute, func() { h.decide(faceMismatch); h.deliver() })
	}
	h.run(workflows.Config{})
	res := h.result()
	assert.Equal(t, workflows.StatusFailed, res.Status)
	assert.Equal(t, 3, res.Attempt)
	assert.Contains(t, res.Reason, "refused 3 times")
	assert.Len(t, h.sessions(), 3)
	assert.Equal(t, "onboarding.failed", h.platform.events()[len(h.platform.events())-1])
}

func TestFinalRefusalIsNotRetried(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(falsified); h.deliver() })
	h.run(workflows.Config{})
	res := h.result()
	assert.Equal(t, workflows.StatusFailed, res.Status)
	assert.Equal(t, 1, res.Attempt)
	assert.Contains(t, res.Reason, "DOCUMENT_FALSIFIED")
	assert.Len(t, h.sessions(), 1)
}

func TestLegalReview(t *testing.T) {
	for _, decision := range []string{"VALIDATED", "REFUSED"} {
		t.Run(decision, func(t *testing.T) {
			h := newHarness(t, "BUSINESS")
			h.ensure(0, workflows.EnsureSessionRequest{})
			var inReview workflows.StateView
			h.at(time.Minute, func() { h.decide(businessKO); h.deliver() })
			h.at(2*time.Minute, func() { inReview = h.state() })
			h.at(48*time.Hour, func() {
				require.NoError(t, h.sim.DecideReview(inReview.IdvSessionID, decision, "registry extract unreadable"))
				h.deliver()
			})
			var after workflows.StateView
			h.at(49*time.Hour, func() { after = h.state() })
			h.cancel(50 * time.Hour)
			h.run(workflows.Config{})

			assert.Equal(t, workflows.StatusInReview, inReview.Status)
			assert.NotEmpty(t, inReview.ReviewSince)
			assert.Equal(t, "BUSINESS", inReview.UserType)
			if decision == "VALIDATED" {
				// A business is verified once its PSCs are (lifecycle_test.go).
				assert.Equal(t, workflows.StatusAwaitingPSCs, after.Status)
				return
			}
			// A refusal after review opens a new attempt.
			assert.Equal(t, 2, after.Attempt)
			assert.Equal(t, workflows.StatusAwaitingUser, after.Status)
		})
	}
}

func TestReviewReconciledWithoutWebhooks(t *testing.T) {
	h := newHarness(t, "SOLETRADER")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(businessKO); h.skipEvents() })
	var reviewing workflows.StateView
	h.at(20*time.Minute, func() {
		reviewing = h.state()
		require.NoError(t, h.sim.DecideReview(reviewing.IdvSessionID, "VALIDATED", ""))
		h.skipEvents()
	})
	var after workflows.StateView
	h.at(13*time.Hour, func() { after = h.state() })
	h.cancel(14 * time.Hour)
	h.run(pollingConfig)
	assert.Equal(t, workflows.StatusInReview, reviewing.Status)
	assert.Equal(t, workflows.StatusVerified, after.Status, "the 12-hour review poll finds the decision")
}

func TestExpiryThenEnsureSessionOpensANewOne(t *testing.T) {
	h := newHarness(t, "NATURAL")
	first := h.ensure(0, workflows.EnsureSessionRequest{})
	var expired workflows.StateView
	// Declared EXPIRED once the grace period after the 7 days is over.
	h.at(7*24*time.Hour+time.Hour+time.Minute, func() { expired = h.state() })
	again := h.ensure(8*24*time.Hour, workflows.EnsureSessionRequest{ReturnURL: "https://platform.example/back"})
	h.cancel(9 * 24 * time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusExpired, expired.Status)
	require.NoError(t, again.err)
	assert.Equal(t, workflows.StatusAwaitingUser, again.value.Status)
	assert.Equal(t, 2, again.value.Attempt)
	assert.NotEqual(t, first.value.IdvSessionID, again.value.IdvSessionID)
	assert.Len(t, h.sessions(), 2)
}

func TestDowngradeLongAfterVerification(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	var renewed workflows.StateView
	h.at(90*24*time.Hour, func() {
		require.NoError(t, h.sim.Downgrade(h.userID))
		h.deliver() // IDENTITY_VERIFICATION_OUTDATED and USER_KYC_LIGHT
	})
	h.at(90*24*time.Hour+time.Minute, func() { renewed = h.state() })
	var reverified workflows.StateView
	h.at(91*24*time.Hour, func() { h.decide(validated); h.deliver() })
	h.at(91*24*time.Hour+time.Minute, func() { reverified = h.state() })
	h.cancel(92 * 24 * time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusAwaitingUser, renewed.Status)
	assert.Equal(t, 2, renewed.Attempt)
	assert.Equal(t, "OUT_OF_DATE", renewed.History[0].Status)
	assert.Equal(t, workflows.StatusVerified, reverified.Status)
	assert.Contains(t, h.platform.events(), "onboarding.out_of_date")
}

func TestExtraDocuments(t *testing.T) {
	for _, tc := range []struct{ tag, want string }{{"accept", "VALIDATED"}, {"refuse_unreadable", "REFUSED"}} {
		t.Run(tc.tag, func(t *testing.T) {
			h := newHarness(t, "NATURAL")
			h.ensure(0, workflows.EnsureSessionRequest{})
			h.at(time.Minute, func() { h.decide(validated); h.deliver() })
			submitted := &updateResult[workflows.SubmitDocumentResult]{}
			var keys []string
			h.at(time.Hour, func() {
				for range 2 {
					k, err := h.pages.Put(context.Background(), append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
					require.NoError(t, err)
					keys = append(keys, k)
				}
				h.update(workflows.UpdateSubmitDocument, submitted, workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Pages: keys, Tag: tc.tag})
			})
			var after workflows.StateView
			h.at(2*time.Hour, func() {
				h.sim.Advance(time.Minute) // Mangopay processes the document
				h.deliver()
			})
			h.at(3*time.Hour, func() { after = h.state() })
			h.cancel(4 * time.Hour)
			h.run(workflows.Config{})

			require.True(t, submitted.done)
			require.NoError(t, submitted.err)
			assert.Equal(t, "VALIDATION_ASKED", submitted.value.Status)
			require.Len(t, after.Documents, 1)
			assert.Equal(t, submitted.value.KycDocumentID, after.Documents[0].KycDocumentID)
			assert.Equal(t, tc.want, after.Documents[0].Status)
			for _, k := range keys {
				_, err := h.pages.Get(context.Background(), k)
				assert.Error(t, err, "pages are deleted once uploaded")
			}
			assert.Contains(t, h.platform.events(), "document."+map[string]string{"VALIDATED": "validated", "REFUSED": "refused"}[tc.want])
		})
	}
}

func TestSubmitDocumentValidation(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	results := map[string]*updateResult[workflows.SubmitDocumentResult]{}
	for name, req := range map[string]workflows.SubmitDocumentRequest{
		"unknown type":    {Type: "SELFIE", Pages: []string{"kycflow:page:0123456789abcdef0123456789abcdef"}},
		"no pages":        {Type: "IDENTITY_PROOF"},
		"six pages":       {Type: "IDENTITY_PROOF", Pages: make([]string, 6)},
		"not a claim key": {Type: "IDENTITY_PROOF", Pages: []string{"kycflow:route:session:x"}},
	} {
		res := &updateResult[workflows.SubmitDocumentResult]{}
		results[name] = res
		h.at(time.Minute, func() { h.update(workflows.UpdateSubmitDocument, res, req) })
	}
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	for name, res := range results {
		assert.Error(t, res.rejected, name)
	}
}

func TestEnsureSessionValidation(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	bad := h.ensure(time.Minute, workflows.EnsureSessionRequest{ReturnURL: "javascript:alert(1)"})
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	assert.ErrorContains(t, bad.rejected, "ReturnUrl")
}

func TestNotEligible(t *testing.T) {
	// Hosted KYC not activated for the client is not the user's problem: see
	// TestCredentialAndPermissionErrorsWait.
	for _, tc := range []struct {
		name, kind, reason string
	}{
		{"payer", "PAYER", "only OWNER users"},
		{"partnership", "PARTNERSHIP", "PARTNERSHIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.kind)
			ensured := h.ensure(0, workflows.EnsureSessionRequest{})
			h.run(workflows.Config{})
			res := h.result()
			assert.Equal(t, workflows.StatusNotEligible, res.Status)
			assert.Contains(t, res.Reason, tc.reason)
			require.NoError(t, ensured.err)
			assert.Equal(t, workflows.StatusNotEligible, ensured.value.Status)
			assert.Empty(t, ensured.value.HostedURL)
			assert.Equal(t, 1, h.activities["ReadUser"], "no retries")
		})
	}
}

func TestAlreadyRegularUserIsVerifiedWithoutSession(t *testing.T) {
	h := newHarness(t, "NATURAL")
	// The user was verified before kycflow (KYCLevel REGULAR).
	s, err := h.mp.CreateIdentityVerification(context.Background(), h.userID, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
	require.NoError(t, err)
	require.NoError(t, h.sim.SubmitOutcome(s.ID, validated))
	ensured := h.ensure(0, workflows.EnsureSessionRequest{})
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	require.NoError(t, ensured.err)
	assert.Equal(t, workflows.StatusVerified, ensured.value.Status)
	assert.Equal(t, 0, h.activities["CreateSession"])
}

func TestMangopayErrorsAreRetried(t *testing.T) {
	for _, status := range []int{500, 503, 429} {
		t.Run(itoa(int64(status)), func(t *testing.T) {
			h := newHarness(t, "NATURAL")
			h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: status})
			// Mangopay recovers after a while; Temporal's retries carry on.
			h.at(30*time.Second, func() { h.sim.SetFaults(sandbox.Faults{}) })
			ensured := h.ensure(0, workflows.EnsureSessionRequest{})
			h.cancel(time.Hour)
			h.run(workflows.Config{})
			require.NoError(t, ensured.err)
			assert.Equal(t, workflows.StatusAwaitingUser, ensured.value.Status)
			assert.Greater(t, h.activities["ReadUser"], 1, "the failed reads were retried")
			assert.Len(t, h.sessions(), 1)
		})
	}
}

func TestSessionCreationSurvivesALostResponse(t *testing.T) {
	h := newHarness(t, "NATURAL")
	// The first creation succeeds at Mangopay but its response is lost.
	h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorAfterCommit: true})
	h.at(time.Second, func() { h.sim.SetFaults(sandbox.Faults{}) })
	ensured := h.ensure(0, workflows.EnsureSessionRequest{})
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	require.NoError(t, ensured.err)
	assert.Equal(t, workflows.StatusAwaitingUser, ensured.value.Status)
	assert.Len(t, h.sessions(), 1, "the retry recovered the first session instead of creating a second")
}

func TestCancel(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.cancel(time.Minute)
	h.run(workflows.Config{})
	res := h.result()
	assert.Equal(t, workflows.StatusCancelled, res.Status)
	assert.Equal(t, "test over", res.Reason)
}

func TestCancelledFromTemporal(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	assert.True(t, temporal.IsCanceledError(h.env.GetWorkflowError()), "got %v", h.env.GetWorkflowError())
	assert.Equal(t, "CANCELLED", h.sa["KycStatus"])
	assert.Contains(t, h.platform.events(), "onboarding.cancelled")
}

func TestConcurrentEnsureSessionGivesOneSession(t *testing.T) {
	h := newHarness(t, "NATURAL")
	a := h.ensure(0, workflows.EnsureSessionRequest{})
	b := h.ensure(0, workflows.EnsureSessionRequest{})
	c := h.ensure(time.Second, workflows.EnsureSessionRequest{})
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	for _, r := range []*updateResult[workflows.EnsureSessionResult]{a, b, c} {
		require.NoError(t, r.err)
		assert.Equal(t, a.value.IdvSessionID, r.value.IdvSessionID)
		assert.Equal(t, a.value.HostedURL, r.value.HostedURL)
	}
	assert.Len(t, h.sessions(), 1)
}

func TestContinueAsNewKeepsStateAndDedupe(t *testing.T) {
	h := newHarness(t, "NATURAL")
	ctx := context.Background()
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	// While a submit-document is uploading (a handler in flight, which
	// continue-as-new waits for), two webhooks arrive: the loop takes the
	// first, the second is still buffered when the run hands over.
	first := webhookstream.MangopayEvent{EventType: "KYC_SUCCEEDED", ResourceID: "kyc_m_first", Date: 1}
	second := webhookstream.MangopayEvent{EventType: "KYC_SUCCEEDED", ResourceID: "kyc_m_second", Date: 2}
	var once sync.Once
	h.onActivity = func(name string) {
		if name == "UploadPages" {
			once.Do(func() {
				for _, ev := range []webhookstream.MangopayEvent{first, second} {
					ev.EventKey = ev.Key()
					h.env.SignalWorkflow(workflows.SignalMangopayEvent, ev)
				}
			})
		}
	}
	doc := &updateResult[workflows.SubmitDocumentResult]{}
	h.at(time.Hour, func() {
		h.env.SetContinueAsNewSuggested(true)
		k, err := h.pages.Put(ctx, append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
		require.NoError(t, err)
		h.update(workflows.UpdateSubmitDocument, doc, workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Pages: []string{k}})
	})
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	require.True(t, h.env.IsWorkflowCompleted())
	require.True(t, doc.done, "continue-as-new waits for the handler")
	require.NoError(t, doc.err)

	next := nextInput(t, h.env.GetWorkflowError())
	assert.Equal(t, workflows.StatusVerified, next.State.Status)
	assert.Equal(t, 1, next.State.Attempt)
	assert.Equal(t, returnURL, next.ReturnURL)
	require.Len(t, next.State.Documents, 1)
	assert.Contains(t, next.State.SeenEvents, first.Key(), "dedupe keys are carried over")
	// The loop goes on taking webhooks while the handler runs (it never
	// waits for handlers); whatever it had not taken is carried over.
	pending := lo.Map(next.State.PendingEvents, func(e webhookstream.MangopayEvent, _ int) string { return e.Key() })
	assert.True(t, slices.Contains(next.State.SeenEvents, second.Key()) || slices.Contains(pending, second.Key()),
		"the second webhook is handled or carried over, never lost")
}

func TestCarriedStateDrivesTheNextRun(t *testing.T) {
	h := newHarness(t, "NATURAL")
	ctx := context.Background()
	s, err := h.mp.CreateIdentityVerification(ctx, h.userID, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
	require.NoError(t, err)
	require.NoError(t, h.sim.SubmitOutcome(s.ID, validated))
	require.NoError(t, h.sim.Downgrade(h.userID))
	seen := webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_OUTDATED", ResourceID: s.ID, Date: 1}
	pending := []webhookstream.MangopayEvent{
		seen, // already handled by the previous run: dropped
		{EventType: "USER_KYC_LIGHT", ResourceID: h.userID, Date: 2},
	}
	state := &workflows.State{
		UserID: h.userID, UserType: "NATURAL", Status: workflows.StatusVerified, Attempt: 1, ReturnURL: returnURL,
		Session:    &workflows.Session{IdvSessionID: s.ID, HostedURL: s.HostedURL, Status: "VALIDATED", CreatedAt: time.Unix(1, 0), ExpiresAt: time.Unix(2, 0)},
		SeenEvents: []string{seen.Key()}, PendingEvents: pending,
	}
	var after workflows.StateView
	h.at(time.Minute, func() { after = h.state() })
	h.cancel(time.Hour)
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL, State: state})
	require.True(t, h.env.IsWorkflowCompleted())
	assert.Equal(t, workflows.StatusAwaitingUser, after.Status, "the carried USER_KYC_LIGHT was handled: a new session")
	assert.Equal(t, 2, after.Attempt)
	assert.Equal(t, 1, h.activities["ReadUser"], "no new preflight: one read, for the downgrade")
}

func TestEnsureSessionReturnsWhileMangopayDeniesAccess(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(faceMismatch); h.deliver() })
	h.at(2*time.Minute, func() {
		// Mangopay turns the feature off before the user comes back.
		set := simtest.FastSettings()
		set.IdvActivated = false
		require.NoError(t, h.sim.SetSettings(set))
	})
	again := h.ensure(3*time.Minute, workflows.EnsureSessionRequest{})
	h.at(3*time.Hour, func() { require.NoError(t, h.sim.SetSettings(simtest.FastSettings())) })
	var after workflows.StateView
	h.at(5*time.Hour, func() { after = h.state() })
	h.cancel(6 * time.Hour)
	h.run(workflows.Config{RetryBackoff: time.Hour})
	require.True(t, again.done, "the update must not hang")
	require.NoError(t, again.err)
	assert.Equal(t, workflows.StatusRefused, again.value.Status)
	assert.Contains(t, again.value.Reason, "Mangopay denies kycflow access")
	assert.Empty(t, again.value.HostedURL)
	// Once Mangopay activates the feature again, the onboarding carries on.
	assert.Equal(t, workflows.StatusAwaitingUser, after.Status)
	assert.Equal(t, 2, after.Attempt)
}

func TestDowngradeUserEventFirstRecordsOutOfDate(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	var renewed workflows.StateView
	h.at(30*24*time.Hour, func() {
		require.NoError(t, h.sim.Downgrade(h.userID))
		id := h.state().IdvSessionID
		// The user's webhook first, the session's after (the bridge forwards concurrently).
		h.signal("USER_KYC_LIGHT", h.userID)
		h.signal("IDENTITY_VERIFICATION_OUTDATED", id)
		h.skipEvents()
	})
	h.at(30*24*time.Hour+time.Minute, func() { renewed = h.state() })
	h.cancel(31 * 24 * time.Hour)
	h.run(workflows.Config{})
	assert.Equal(t, workflows.StatusAwaitingUser, renewed.Status)
	assert.Equal(t, 2, renewed.Attempt)
	require.Len(t, renewed.History, 1)
	assert.Equal(t, "OUT_OF_DATE", renewed.History[0].Status, "the archived session shows what Mangopay says of it")
	assert.Len(t, h.sessions(), 2, "one new session, not two")
}
