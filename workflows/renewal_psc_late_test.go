package workflows_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// A business renewing its KYC: a PSC Mangopay adds to the renewal session
// after the onboarding first listed its PSCs is followed (listed, told to
// the platform), its webhook naming only the new PSC.
func TestLateRenewalPSCIsFollowed(t *testing.T) {
	const day = 24 * time.Hour
	h := newHarness(t, "BUSINESS")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(businessValidated); h.deliver() })
	h.at(time.Hour, func() {
		s := h.state()
		require.Len(t, s.PSCs, 1)
		require.NoError(t, h.sim.DecidePsc(s.PSCs[0].PscID, "VALIDATED"))
		h.deliver()
	})
	h.requireRenewal(3*time.Hour, 90)
	h.ensure(day, workflows.EnsureSessionRequest{})
	h.at(day+time.Minute, func() { h.decide(businessValidated); h.deliver() })
	var listed, after workflows.StateView
	var added string
	var before int
	h.at(day+time.Hour, func() {
		listed = h.state()
		before = count(h.platform.events(), "psc.pending_validation")
		var err error
		added, err = h.sim.AddPsc(listed.IdvSessionID, sandbox.PscPerson{FirstName: "Ada", LastName: "Late", PscType: sandbox.PscTypeUBO})
		require.NoError(t, err)
		h.deliver() // IDENTITY_VERIFICATION_PSC_PENDING naming the new PSC
	})
	h.at(day+2*time.Hour, func() { after = h.state() })
	h.cancel(2 * day)
	h.run(workflows.Config{})

	require.Equal(t, workflows.StatusRenewal, listed.Status)
	require.Len(t, listed.PSCs, 1, "the renewal session's first PSC")
	assert.Equal(t, workflows.StatusRenewal, after.Status)
	assert.True(t, slices.ContainsFunc(after.PSCs, func(p workflows.PSC) bool { return p.PscID == added }),
		"the PSC Mangopay added is listed: %+v", after.PSCs)
	assert.Equal(t, before+1, count(h.platform.events(), "psc.pending_validation"), "the platform hears of the added PSC: %v", h.platform.events())
}
