package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// Mangopay's 2026 lifecycle: PSC sessions of businesses, KYC renewal,
// SessionLanguage.

var businessValidated = map[string]sandbox.Choice{}

func TestBusinessThroughPSCSessions(t *testing.T) {
	h := newHarness(t, "BUSINESS")
	require.NoError(t, h.sim.DeclarePscs(h.userID, []sandbox.PscPerson{
		{FirstName: "Ada", LastName: "Owner", PscType: "UBO"},
		{FirstName: "Bob", LastName: "Director", PscType: "LEGAL_REPRESENTATIVE"},
	}))
	h.ensure(0, workflows.EnsureSessionRequest{})
	var awaiting, rejected, afterRetry, done workflows.StateView
	h.at(time.Minute, func() { h.decide(businessValidated); h.deliver() })
	h.at(2*time.Minute, func() { awaiting = h.state() })
	h.at(time.Hour, func() {
		require.Len(t, awaiting.PSCs, 2)
		require.NoError(t, h.sim.DecidePsc(awaiting.PSCs[0].PscID, "VALIDATED"))
		require.NoError(t, h.sim.DecidePsc(awaiting.PSCs[1].PscID, "REJECTED"))
		h.deliver()
	})
	retried := &updateResult[workflows.PSC]{}
	h.at(2*time.Hour, func() {
		rejected = h.state()
		h.update(workflows.UpdateRetryPSC, retried, workflows.RetryPSCRequest{PscID: awaiting.PSCs[1].PscID})
	})
	h.at(3*time.Hour, func() {
		afterRetry = h.state()
		require.NoError(t, h.sim.DecidePsc(awaiting.PSCs[1].PscID, "VALIDATED"))
		h.deliver()
	})
	h.at(4*time.Hour, func() { done = h.state() })
	h.cancel(5 * time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusAwaitingPSCs, awaiting.Status, "validated, but its PSCs are not yet")
	for _, p := range awaiting.PSCs {
		assert.Equal(t, "PENDING_VALIDATION", p.Status)
		assert.NotEmpty(t, p.HostedURL, "each PSC has its own link")
	}
	assert.Equal(t, workflows.StatusAwaitingPSCs, rejected.Status)
	assert.Equal(t, "REJECTED", rejected.PSCs[1].Status)
	require.True(t, retried.done)
	require.NoError(t, retried.err)
	assert.Equal(t, "PENDING_VALIDATION", retried.value.Status)
	assert.NotEqual(t, awaiting.PSCs[1].HostedURL, retried.value.HostedURL, "a new link after a rejection")
	assert.Equal(t, workflows.StatusAwaitingPSCs, afterRetry.Status)
	assert.Equal(t, workflows.StatusVerified, done.Status, "every PSC validated: Mangopay says REGULAR")
	events := h.platform.events()
	assert.Contains(t, events, "onboarding.awaiting_pscs")
	assert.Contains(t, events, "psc.pending_validation")
	assert.Contains(t, events, "psc.rejected")
	assert.Contains(t, events, "psc.validated")
}

func TestRetryPSCValidation(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	unknown := &updateResult[workflows.PSC]{}
	h.at(time.Minute, func() {
		h.update(workflows.UpdateRetryPSC, unknown, workflows.RetryPSCRequest{PscID: "psc_m_unknown"})
	})
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	require.True(t, unknown.done)
	assert.ErrorContains(t, unknown.rejected, "not a PSC session of this onboarding")
}

func TestRenewalBeforeTheDeadline(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	var required, renewing, renewed workflows.StateView
	h.at(time.Hour, func() {
		_, err := h.sim.RequireRenewal(h.userID, 90)
		require.NoError(t, err)
		h.deliver() // USER_KYC_RENEWAL_REQUIRED
	})
	h.at(2*time.Hour, func() { required = h.state() })
	// 65 days later (after the reminder 30 days before the deadline) the user renews.
	again := h.ensure(65*day, workflows.EnsureSessionRequest{SessionLanguage: "fr-FR"})
	h.at(65*day+time.Minute, func() { renewing = h.state(); h.decide(validated); h.deliver() })
	h.at(65*day+time.Hour, func() { renewed = h.state() })
	h.cancel(66 * day)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusRenewal, required.Status)
	require.NotEmpty(t, required.RenewalDeadline)
	deadline, err := time.Parse(time.RFC3339, required.RenewalDeadline)
	require.NoError(t, err)
	assert.WithinDuration(t, h.start.Add(90*day), deadline, 2*day)
	require.NoError(t, again.err)
	assert.Equal(t, workflows.StatusRenewal, again.value.Status, "the user is still REGULAR: RENEWAL_REQUIRED, with the renewal session's link")
	assert.Equal(t, 2, again.value.Attempt)
	assert.Contains(t, again.value.HostedURL, "lng=fr-FR")
	assert.Equal(t, workflows.StatusRenewal, renewing.Status)
	assert.NotEmpty(t, renewing.HostedURL)
	assert.Equal(t, workflows.StatusVerified, renewed.Status)
	assert.Empty(t, renewed.RenewalDeadline)
	events := h.platform.events()
	assert.Contains(t, events, "onboarding.renewal_required")
	assert.Contains(t, events, "onboarding.renewal_reminder", "30 days before the deadline")
	assert.Equal(t, "onboarding.verified", events[len(events)-2])
}

func TestRenewalDeadlineMissed(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	h.at(time.Hour, func() {
		_, err := h.sim.RequireRenewal(h.userID, 10)
		require.NoError(t, err)
		h.deliver()
	})
	// Every later webhook is lost: the workflow's own deadline check finds
	// the downgrade.
	var after workflows.StateView
	h.at(13*day, func() { h.skipEvents(); after = h.state() })
	var reverified workflows.StateView
	h.at(13*day+time.Hour, func() { h.decide(validated); h.deliver() })
	h.at(13*day+2*time.Hour, func() { reverified = h.state() })
	h.cancel(14 * day)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusAwaitingUser, after.Status, "downgraded at the deadline, a new session opened: %+v", after)
	assert.Equal(t, 2, after.Attempt)
	assert.Equal(t, workflows.StatusVerified, reverified.Status)
	assert.Contains(t, h.platform.events(), "onboarding.out_of_date")
}

// From model-test seed 1825: USER_KYC_RENEWAL_REQUIRED arrives while the
// onboarding still awaits the user (the VALIDATED webhook was lost); once
// reconciliation finds the user verified, the renewal is not forgotten.
func TestRenewalAskedBeforeTheWorkflowKnewTheUserVerified(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() {
		h.decide(validated)
		h.skipEvents() // IDENTITY_VERIFICATION_VALIDATED lost
		_, err := h.sim.RequireRenewal(h.userID, 30)
		require.NoError(t, err)
		h.deliver() // USER_KYC_RENEWAL_REQUIRED, while AWAITING_USER
	})
	var after workflows.StateView
	h.at(time.Hour, func() { after = h.state() }) // the 15-minute reconciliation found VALIDATED
	h.cancel(2 * time.Hour)
	h.run(pollingConfig)
	assert.Equal(t, workflows.StatusRenewal, after.Status, "%+v", after)
	assert.NotEmpty(t, after.RenewalDeadline)
}

func TestAddressProofRefusedForLegalUsers(t *testing.T) {
	h := newHarness(t, "BUSINESS")
	h.ensure(0, workflows.EnsureSessionRequest{})
	res := &updateResult[workflows.SubmitDocumentResult]{}
	h.at(time.Minute, func() {
		h.update(workflows.UpdateSubmitDocument, res, workflows.SubmitDocumentRequest{
			Type: "ADDRESS_PROOF", Pages: []string{"kycflow:page:0123456789abcdef0123456789abcdef"},
		})
	})
	h.cancel(time.Hour)
	h.run(workflows.Config{})
	require.True(t, res.done)
	assert.ErrorContains(t, res.rejected, "ADDRESS_PROOF cannot be submitted for a BUSINESS user")
}

func TestAbandonedPSCNeedsAnOperator(t *testing.T) {
	h := newHarness(t, "ORGANIZATION")
	h.ensure(0, workflows.EnsureSessionRequest{})
	var abandoned workflows.StateView
	h.at(time.Minute, func() { h.decide(businessValidated); h.deliver() })
	h.at(time.Hour, func() {
		v := h.state()
		require.Len(t, v.PSCs, 1)
		require.NoError(t, h.sim.DecidePsc(v.PSCs[0].PscID, "ABANDONED"))
		h.deliver()
	})
	retry := &updateResult[workflows.PSC]{}
	var attention any
	h.at(2*time.Hour, func() {
		abandoned, attention = h.state(), h.sa["KycAttention"]
		h.update(workflows.UpdateRetryPSC, retry, workflows.RetryPSCRequest{PscID: abandoned.PSCs[0].PscID})
	})
	h.cancel(3 * time.Hour)
	h.run(workflows.Config{})
	assert.Equal(t, workflows.StatusAwaitingPSCs, abandoned.Status)
	assert.Contains(t, abandoned.Reason, "abandoned by Mangopay")
	assert.Equal(t, workflows.AttentionPSCAbandoned, attention)
	assert.Empty(t, h.sa["KycAttention"], "a cancelled onboarding needs no operator")
	assert.Contains(t, h.platform.events(), "psc.abandoned")
	require.True(t, retry.done)
	assert.ErrorContains(t, retry.rejected, "abandoned")
}

// Mangopay's IDENTITY_VERIFICATION_EXPIRED (2026) ends the wait at once: the
// workflow re-reads the session and finds it EXPIRED, well before its own
// expiry timer (7 days and the grace) would have fired.
func TestExpiredWebhookEndsTheWait(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	var before, after workflows.StateView
	var delivered []string
	h.at(7*day+time.Minute, func() {
		before = h.state()
		for _, ev := range h.sim.EventLog() {
			delivered = append(delivered, ev.EventType)
		}
		h.deliver()
	})
	h.at(7*day+10*time.Minute, func() { after = h.state() })
	h.cancel(7*day + 2*time.Hour)
	h.run(workflows.Config{ExpiryGrace: time.Hour})
	require.Equal(t, workflows.StatusAwaitingUser, before.Status, "the workflow's own expiry is still an hour away")
	require.Contains(t, delivered, "IDENTITY_VERIFICATION_EXPIRED")
	assert.Equal(t, workflows.StatusExpired, after.Status)
	assert.Contains(t, h.platform.events(), "onboarding.expired")
}
