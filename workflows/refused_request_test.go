package workflows_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/workflows"
)

// requestError reads the RequestError an ensure-session answered with.
func requestError(t *testing.T, err error) workflows.RequestError {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "an application error, got %v", err)
	require.Equal(t, workflows.ErrTypeRequestRefused, appErr.Type())
	var rerr workflows.RequestError
	require.NoError(t, appErr.Details(&rerr))
	return rerr
}

// A mistake in what the platform sent is answered to its call and leaves
// no final status: the run ends before any session, with nothing notified,
// so that the corrected call starts a new onboarding.
func TestPlatformMistakeIsNoFinalStatus(t *testing.T) {
	t.Run("a user Mangopay does not know", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		h.userID = "user_m_doesnotexist"
		h.newEnv()
		ensured := h.ensure(0, workflows.EnsureSessionRequest{})
		h.run(workflows.Config{})
		require.True(t, ensured.done)
		rerr := requestError(t, ensured.err)
		assert.Equal(t, "UserId", rerr.Field)
		assert.Contains(t, rerr.Message, "does not exist")
		res := h.result()
		assert.False(t, res.Status.Final(), "no final status for a typo: %s", res.Status)
		require.NotNil(t, res.Rejected)
		assert.Empty(t, h.platform.events(), "nothing happened to a user: nothing to notify")
	})
	t.Run("a field Mangopay refuses that kycflow cannot check", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		set := simtest.FastSettings()
		set.ReturnURLMaxLength = len(returnURL) - 1 // stricter than kycflow knows
		require.NoError(t, h.sim.SetSettings(set))
		ensured := h.ensure(0, workflows.EnsureSessionRequest{})
		h.run(workflows.Config{})
		require.True(t, ensured.done)
		rerr := requestError(t, ensured.err)
		assert.Equal(t, "ReturnUrl", rerr.Field)
		assert.Contains(t, rerr.Message, "maximum length", "Mangopay's own words")
		res := h.result()
		assert.NotEqual(t, workflows.StatusFailed, res.Status)
		assert.False(t, res.Status.Final())
		assert.Empty(t, h.sessions())
		assert.Empty(t, h.platform.events())
	})
	t.Run("a later attempt waits for a corrected request", func(t *testing.T) {
		h := newHarness(t, "NATURAL")
		ensured := h.ensure(0, workflows.EnsureSessionRequest{})
		// The session expires unused; the platform then sends a ReturnUrl
		// Mangopay refuses (its limit tightened), then a corrected one.
		tooLong := "https://platform.example/kyc/done/and/again" // within kycflow's limit
		h.at(8*24*time.Hour, func() {
			set := simtest.FastSettings()
			set.ReturnURLMaxLength = len(tooLong) - 1
			require.NoError(h.t, h.sim.SetSettings(set))
		})
		refused := h.ensure(8*24*time.Hour+time.Minute, workflows.EnsureSessionRequest{ReturnURL: tooLong})
		fixed := h.ensure(8*24*time.Hour+2*time.Minute, workflows.EnsureSessionRequest{ReturnURL: returnURL})
		h.cancel(9 * 24 * time.Hour)
		h.run(workflows.Config{})
		require.NoError(t, ensured.err)
		assert.Equal(t, "ReturnUrl", requestError(t, refused.err).Field)
		require.NoError(t, fixed.err)
		assert.Equal(t, workflows.StatusAwaitingUser, fixed.value.Status)
		assert.NotEmpty(t, fixed.value.HostedURL)
		assert.Equal(t, 2, fixed.value.Attempt)
		assert.NotContains(t, h.platform.events(), "onboarding.failed")
	})
}

// Every final notification says why.
func TestFinalNotificationCarriesItsReason(t *testing.T) {
	h := newHarness(t, "PAYER")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.run(workflows.Config{})
	evs := h.platform.all()
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	assert.Equal(t, "onboarding.not_eligible", last.Type)
	assert.Contains(t, last.Reason, "only OWNER users")
}
