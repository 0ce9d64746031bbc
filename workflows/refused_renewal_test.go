package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/workflows"
)

// A field Mangopay refuses on a renewal session is the platform's mistake:
// it is answered as such, and the verified user in renewal stays
// RENEWAL_REQUIRED (Mangopay still says REGULAR), with its deadline, its
// reminders and its deadline check, never EXPIRED.
func TestARefusedFieldDuringRenewalKeepsTheUserInRenewal(t *testing.T) {
	h := verifiedNatural(t)
	h.requireRenewal(time.Hour, 90)
	tooLong := "https://platform.example/kyc/done/and/again"
	h.at(day, func() {
		set := simtest.FastSettings()
		set.ReturnURLMaxLength = len(tooLong) - 1
		require.NoError(t, h.sim.SetSettings(set))
	})
	refused := h.ensure(day+time.Minute, workflows.EnsureSessionRequest{ReturnURL: tooLong})
	var after workflows.StateView
	h.at(day+time.Hour, func() { after = h.state() })
	corrected := h.ensure(2*day, workflows.EnsureSessionRequest{ReturnURL: returnURL})
	h.cancel(3 * day)
	h.run(workflows.Config{})

	assert.Equal(t, "ReturnUrl", requestError(t, refused.err).Field)
	assert.Equal(t, workflows.StatusRenewal, after.Status)
	assert.NotEmpty(t, after.RenewalDeadline, "the deadline is kept")
	assert.NotContains(t, h.platform.events(), "onboarding.expired")
	require.NoError(t, corrected.err)
	assert.Equal(t, workflows.StatusRenewal, corrected.value.Status)
	assert.NotEmpty(t, corrected.value.HostedURL, "a corrected call opens the renewal session")
}
