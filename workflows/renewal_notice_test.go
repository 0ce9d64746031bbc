package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// regularBeforeStart makes the harness's user REGULAR before the onboarding
// starts (verified before kycflow) and gives it a renewal deadline days
// ahead, whose USER_KYC_RENEWAL_REQUIRED (if any) the onboarding never sees.
func regularBeforeStart(t *testing.T, days int) *harness {
	h := newHarness(t, "NATURAL")
	s, err := h.mp.CreateIdentityVerification(context.Background(), h.userID, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
	require.NoError(t, err)
	require.NoError(t, h.sim.SubmitOutcome(s.ID, validated))
	_, err = h.sim.RequireRenewal(h.userID, days)
	require.NoError(t, err)
	h.skipEvents()
	return h
}

// Every OWNER has a KycRenewalDeadline; a renewal is due only within its 90
// days' notice. The preflight of a REGULAR user reads the regulatory status:
// a deadline within the notice is RENEWAL_REQUIRED at once (its webhook came
// before the onboarding), one further away is VERIFIED, and becomes
// RENEWAL_REQUIRED when its notice comes, the webhook lost or not.
func TestPreflightOfARegularUserFollowsTheRenewalNotice(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("deadline within the notice", func(t *testing.T) {
		h := regularBeforeStart(t, 30)
		ensured := h.ensure(0, workflows.EnsureSessionRequest{})
		var first workflows.StateView
		h.at(time.Hour, func() { first = h.state() })
		h.cancel(2 * time.Hour)
		h.run(workflows.Config{})

		require.NoError(t, ensured.err)
		assert.Equal(t, workflows.StatusRenewal, first.Status, "the renewal Mangopay asked for before the onboarding")
		assert.NotEmpty(t, first.RenewalDeadline)
	})
	t.Run("deadline further away", func(t *testing.T) {
		h := regularBeforeStart(t, 120)
		h.ensure(0, workflows.EnsureSessionRequest{})
		var before, after workflows.StateView
		h.at(29*day, func() { before = h.state() })
		h.at(31*day, func() {
			h.skipEvents() // USER_KYC_RENEWAL_REQUIRED is lost
			after = h.state()
		})
		h.cancel(32 * day)
		h.run(workflows.Config{})

		assert.Equal(t, workflows.StatusVerified, before.Status, "a deadline 90 days away or more is not a renewal due")
		assert.Empty(t, before.RenewalDeadline)
		assert.Equal(t, workflows.StatusRenewal, after.Status, "the notice came (its webhook lost)")
		assert.NotEmpty(t, after.RenewalDeadline)
	})
}

// A downgrade (USER_KYC_LIGHT) while a renewal session is open ends the
// renewal: the session is now the way back to REGULAR. The platform must
// hear of it (the downgrade, then the session awaiting the user, the
// renewal deadline gone), not learn it only by reading the state.
func TestDowngradeDuringARenewalSessionIsTold(t *testing.T) {
	h := verifiedNatural(t)
	h.requireRenewal(time.Hour, 30)
	h.ensure(2*time.Hour, workflows.EnsureSessionRequest{})
	var renewing, after workflows.StateView
	var before int
	h.at(3*time.Hour, func() {
		renewing = h.state()
		before = count(h.platform.events(), "onboarding.awaiting_user")
		require.NoError(t, h.sim.Downgrade(h.userID))
		h.deliver() // USER_KYC_LIGHT
	})
	h.at(4*time.Hour, func() { after = h.state() })
	h.cancel(5 * time.Hour)
	h.run(workflows.Config{})

	require.Equal(t, workflows.StatusRenewal, renewing.Status, "the renewal session is open")
	require.NotEmpty(t, renewing.HostedURL)
	require.NotEmpty(t, renewing.RenewalDeadline)
	assert.Equal(t, workflows.StatusAwaitingUser, after.Status)
	assert.Equal(t, renewing.IdvSessionID, after.IdvSessionID, "the renewal session is the way back")
	assert.Equal(t, renewing.HostedURL, after.HostedURL)
	assert.Empty(t, after.RenewalDeadline, "the renewal is over")
	assert.Contains(t, h.platform.events(), "onboarding.out_of_date", "the platform is told of the downgrade")
	assert.Equal(t, before+1, count(h.platform.events(), "onboarding.awaiting_user"), "then of the session awaiting the user")
}

// A renewal session the user submitted in its last minutes, refused by
// Mangopay after kycflow's own expiry check (which found it still PENDING
// and said it was not submitted): the refusal is the renewal's news, and
// the onboarding says so (RENEWAL_REQUIRED with the refusal as reason).
func TestRenewalRefusedAfterTheExpiryCheckIsTold(t *testing.T) {
	const day = 24 * time.Hour
	h := verifiedNatural(t)
	h.requireRenewal(time.Hour, 30)
	h.ensure(2*time.Hour, workflows.EnsureSessionRequest{})
	var expired, after workflows.StateView
	h.at(2*time.Hour+7*day-30*time.Minute, func() {
		set := simtest.FastSettings()
		set.OutcomeDelaySeconds = (2 * time.Hour).Seconds()
		require.NoError(t, h.sim.SetSettings(set))
		h.decide(faceMismatch) // submitted; the outcome lands two hours later
	})
	h.at(2*time.Hour+7*day+90*time.Minute, func() { expired = h.state() })
	h.at(2*time.Hour+7*day+2*time.Hour, func() { h.deliver() }) // IDENTITY_VERIFICATION_FAILED
	h.at(2*time.Hour+7*day+3*time.Hour, func() { after = h.state() })
	h.cancel(2*time.Hour + 8*day)
	h.run(workflows.Config{})

	require.Equal(t, workflows.StatusRenewal, expired.Status, "kycflow's expiry check found the session still PENDING")
	assert.Equal(t, workflows.StatusRenewal, after.Status, "a refused renewal session never demotes")
	assert.Contains(t, after.Reason, "refused", "the renewal session's outcome is told")
}
