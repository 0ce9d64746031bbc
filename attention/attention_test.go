package attention_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/attention"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/workflows"
)

// TestQueriesFindTheOnboardingsNeedingAPerson runs the queries against a
// Temporal dev server's visibility, over onboardings started with the
// search attributes the workflow writes (on a task queue no worker polls,
// so they stay as started): each reason counts its own, no other.
func TestQueriesFindTheOnboardingsNeedingAPerson(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Skipf("no Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	tc := srv.Client()
	now := time.Now()
	start := func(user string, attrs ...temporal.SearchAttributeUpdate) {
		_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.WorkflowID(user), TaskQueue: "attention-test-nobody-polls",
			TypedSearchAttributes: temporal.NewSearchAttributes(append(attrs, workflows.SearchAttrUserID.ValueSet(user))...),
		}, workflows.WorkflowType)
		require.NoError(t, err)
	}
	status := func(s workflows.Status) temporal.SearchAttributeUpdate {
		return workflows.SearchAttrStatus.ValueSet(string(s))
	}
	start("user_denied", status(workflows.StatusAwaitingUser), workflows.SearchAttrAttention.ValueSet(workflows.AttentionAccessDenied))
	start("user_psc", status(workflows.StatusAwaitingPSCs), workflows.SearchAttrAttention.ValueSet(workflows.AttentionPSCAbandoned))
	start("user_review_overdue", status(workflows.StatusInReview), workflows.SearchAttrReviewSince.ValueSet(now.Add(-6*24*time.Hour)))
	start("user_review_recent", status(workflows.StatusInReview), workflows.SearchAttrReviewSince.ValueSet(now.Add(-24*time.Hour)))
	start("user_held", status(workflows.StatusVerified), workflows.SearchAttrAttention.ValueSet(workflows.AttentionNotificationsUndelivered))
	start("user_renew_soon", status(workflows.StatusRenewal), workflows.SearchAttrRenewalDeadline.ValueSet(now.Add(3*24*time.Hour)))
	start("user_renew_later", status(workflows.StatusRenewal), workflows.SearchAttrRenewalDeadline.ValueSet(now.Add(30*24*time.Hour)))
	start("user_fine", status(workflows.StatusVerified))

	want := map[attention.Reason]int64{attention.AccessDenied: 1, attention.PSCAbandoned: 1, attention.NotificationsUndelivered: 1,
		attention.ReviewOverdue: 1, attention.RenewalNear: 1}
	var got map[attention.Reason]int64
	require.Eventually(t, func() bool {
		got, err = attention.Counts(ctx, tc, now)
		require.NoError(t, err)
		return assert.ObjectsAreEqual(want, got)
	}, time.Minute, 100*time.Millisecond, "counts %v", got)

	reg := prometheus.NewRegistry()
	g, err := attention.NewGauge(reg)
	require.NoError(t, err)
	require.NoError(t, g.Refresh(ctx, tc, now))
	n, err := testutil.GatherAndCount(reg, attention.MetricNeedingAttention)
	require.NoError(t, err)
	assert.Equal(t, len(attention.Reasons), n, "one series per reason")
}

func TestQueryNamesTheSearchAttributes(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		reason attention.Reason
		want   string
	}{
		{attention.AccessDenied, `KycAttention="MANGOPAY_ACCESS_DENIED"`},
		{attention.PSCAbandoned, `KycAttention="PSC_ABANDONED"`},
		{attention.NotificationsUndelivered, `KycAttention="NOTIFICATIONS_UNDELIVERED"`},
		{attention.ReviewOverdue, `KycStatus="IN_REVIEW" AND KycReviewSince < "2026-12-02T12:00:00Z"`},
		{attention.RenewalNear, `KycStatus="RENEWAL_REQUIRED" AND KycRenewalDeadline < "2026-12-14T12:00:00Z"`},
	}
	for _, tt := range tests {
		t.Run(string(tt.reason), func(t *testing.T) {
			q := attention.Query(tt.reason, now)
			assert.Contains(t, q, `WorkflowType="KYCOnboarding" AND ExecutionStatus="Running" AND `)
			assert.Contains(t, q, tt.want)
		})
	}
}
