package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/workflows"
)

// KycReviewSince is set while Mangopay reviews, and only then: overdue
// reviews are a visibility filter (KycReviewSince < now - 5 days), not only
// a line in the details.
func TestReviewSinceIsASearchAttribute(t *testing.T) {
	h := newHarness(t, "BUSINESS")
	h.ensure(0, workflows.EnsureSessionRequest{})
	var inReview workflows.StateView
	var during any
	h.at(time.Minute, func() { h.decide(businessKO); h.deliver() })
	h.at(2*time.Minute, func() {
		inReview = h.state()
		during = h.sa[workflows.SearchAttrReviewSince.GetName()]
	})
	h.at(6*24*time.Hour, func() {
		require.NoError(t, h.sim.DecideReview(inReview.IdvSessionID, "VALIDATED", ""))
		h.deliver()
	})
	var after any = "unread"
	h.at(6*24*time.Hour+time.Hour, func() { after = h.sa[workflows.SearchAttrReviewSince.GetName()] })
	h.cancel(7 * 24 * time.Hour)
	h.run(workflows.Config{})

	require.Equal(t, workflows.StatusInReview, inReview.Status)
	since, ok := during.(time.Time)
	require.True(t, ok, "KycReviewSince set during the review: %v", during)
	assert.Equal(t, inReview.ReviewSince, since.UTC().Format(time.RFC3339))
	assert.Nil(t, after, "unset once the review is decided")
}
