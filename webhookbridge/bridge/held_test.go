package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// pscBeforeListing is a business whose main session was validated at the
// simulator, so that Mangopay opened a PSC session no onboarding has listed
// yet: the PSC's webhooks can arrive before the workflow reads it.
func pscBeforeListing(t *testing.T) (mp *mangopay.Client, userID, sessionID, pscID string) {
	t.Helper()
	sim, mp, _ := newSim(t)
	ctx := context.Background()
	u, err := mp.CreateLegalUserSCA(ctx, simtest.LegalOwner(mangopay.LegalPersonType("BUSINESS")))
	require.NoError(t, err)
	iv, err := mp.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: platformReturnURL})
	require.NoError(t, err)
	require.NoError(t, sim.SubmitOutcome(iv.ID, nil))
	pscs, _, err := mp.ListUserPSCs(ctx, u.ID, nil)
	require.NoError(t, err)
	require.NotEmpty(t, pscs, "Mangopay opens the PSC sessions once the main session is VALIDATED")
	return mp, u.ID, iv.ID, pscs[0].ID
}

// TestForwarderHoldsPSCWebhookUntilListed: a webhook naming a PSC session
// that no onboarding has listed yet (Mangopay has no GET for a PSC by its
// ID) is held, not dropped as unrouted; once a read lists the PSC (which
// indexes it) the webhook reaches the user's onboarding.
func TestForwarderHoldsPSCWebhookUntilListed(t *testing.T) {
	mp, userID, _, pscID := pscBeforeListing(t)
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	f := e.forwarder("a", tc, mp)
	f.HoldRecheck = 20 * time.Millisecond
	startForwarder(t, f)

	event := e.append("IDENTITY_VERIFICATION_PSC_VALIDATED", pscID)
	require.Eventually(t, func() bool { return len(e.entries(webhookstream.HeldKey)) == 1 && e.pending() == 0 }, waitFor, tick,
		"the webhook is held aside, the stream goes on")
	time.Sleep(100 * time.Millisecond) // several rechecks: nothing to route yet
	_, got, _ := tc.snapshot()
	assert.Empty(t, got, "no onboarding is known for the PSC yet")
	assert.Empty(t, e.entries(webhookstream.UnroutedKey), "held, not recorded as unrouted")

	// The onboarding lists the business's PSC sessions: the index learns the PSC.
	acts := &activities.Activities{Mangopay: mp, Index: e.index, Logger: quietLogger()}
	_, err := acts.ReadPSCs(context.Background(), activities.ReadPSCsInput{UserID: userID})
	require.NoError(t, err)

	require.Eventually(t, func() bool { _, got, _ := tc.snapshot(); return len(got) == 1 }, waitFor, tick,
		"the held webhook reaches the onboarding once its PSC is indexed")
	_, got, _ = tc.snapshot()
	assert.Equal(t, sent{WorkflowID: workflows.WorkflowID(userID), Signal: workflows.SignalMangopayEvent, Event: event}, got[0])
	assert.Empty(t, e.entries(webhookstream.HeldKey), "no longer held")
	assert.Empty(t, e.entries(webhookstream.UnroutedKey))
	assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Held))
	assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Rerouted))
}

// TestForwarderHeldPSCWebhookExpires: a PSC webhook no onboarding claims
// within HoldFor (a forged ID, a business kycflow does not onboard) ends in
// the unrouted stream, with the reason.
func TestForwarderHeldPSCWebhookExpires(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	f := e.forwarder("a", tc, nil)
	f.HoldRecheck, f.HoldFor = 20*time.Millisecond, 200*time.Millisecond
	startForwarder(t, f)

	e.append("IDENTITY_VERIFICATION_PSC_REJECTED", "psc_m_nobody")
	require.Eventually(t, func() bool { return len(e.entries(webhookstream.UnroutedKey)) == 1 }, waitFor, tick)
	unrouted := e.entries(webhookstream.UnroutedKey)[0]
	assert.Equal(t, "psc_m_nobody", unrouted["r"])
	assert.Contains(t, unrouted["err"], "no onboarding listed PSC psc_m_nobody")
	assert.NotEmpty(t, unrouted["id"], "the original entry id is kept for operators")
	assert.Empty(t, e.entries(webhookstream.HeldKey))
	_, got, _ := tc.snapshot()
	assert.Empty(t, got)
}

// Mangopay delivers a PSC webhook twice (its retries). The first copy is
// held (the PSC is not indexed yet) and releases the dedupe key; the second
// arrives once the index knows the PSC and is forwarded. The held copy,
// routed again, is then a duplicate: the event is signalled once.
func TestHeldCopyOfAForwardedWebhookIsNotForwardedAgain(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	f := e.forwarder("a", tc, nil)
	f.HoldRecheck = 700 * time.Millisecond
	startForwarder(t, f)
	time.Sleep(100 * time.Millisecond) // the first recheck ran on an empty held stream

	e.append("IDENTITY_VERIFICATION_PSC_VALIDATED", "psc_m_1")
	require.Eventually(t, func() bool { return len(e.entries(webhookstream.HeldKey)) == 1 && e.pending() == 0 }, waitFor, tick)

	// The workflow lists the PSC; Mangopay's second delivery of the same event arrives.
	require.NoError(t, e.index.Put(context.Background(), routing.KindPSC, "psc_m_1", "u_1"))
	e.append("IDENTITY_VERIFICATION_PSC_VALIDATED", "psc_m_1")

	// Both copies handled: the second forwarded, the held one routed again.
	require.Eventually(t, func() bool {
		return e.handled() == 2 && len(e.entries(webhookstream.HeldKey)) == 0 && e.pending() == 0
	}, waitFor, tick)
	_, got, _ := tc.snapshot()
	assert.Len(t, got, 1, "one event, signalled once: %+v", got)
	assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Duplicates), "the held copy is a duplicate")
}
