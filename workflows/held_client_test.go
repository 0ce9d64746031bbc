package workflows_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/workflows"
)

// A closed onboarding's undelivered notifications are listed and re-sent,
// in order, by the operator's command (ListHeldNotifications,
// ResendNotifications).
func TestClosedOnboardingsNotificationsAreListedAndResent(t *testing.T) {
	d := startDevWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A second worker on its own task queue, whose platform answers 401.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	t.Cleanup(refusing.Close)
	const queue = "kyc-onboarding-held-test"
	w := worker.New(d.c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
	rdb := redistest.New(t)
	w.RegisterActivity(&activities.Activities{
		Mangopay: d.mp, Index: routing.NewIndex(rdb, 0), Pages: claimcheck.NewStore(rdb, 0, 0),
		Notifier: &notify.Notifier{URL: refusing.URL, Secrets: [][]byte{platformKey}},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	user := createUser(t, d.mp, "PAYER") // NOT_ELIGIBLE at once: the run ends
	opts := workflows.StartOptions(user)
	opts.TaskQueue = queue
	run, err := d.c.ExecuteWorkflow(ctx, opts, workflows.WorkflowType, workflows.Input{
		UserID: user, ReturnURL: returnURL, Config: workflows.Config{FinalNotifyWait: time.Second},
	})
	require.NoError(t, err)
	var res workflows.Result
	require.NoError(t, run.Get(ctx, &res))
	require.Len(t, res.Undelivered, 1)

	var held []workflows.HeldOnboarding
	require.Eventually(t, func() bool {
		held, err = workflows.ListHeldNotifications(ctx, d.c)
		require.NoError(t, err)
		for _, h := range held {
			if h.UserID == user {
				return true
			}
		}
		return false
	}, time.Minute, 200*time.Millisecond, "the closed onboarding is listed (KycAttention)")
	for _, h := range held {
		if h.UserID == user {
			assert.False(t, h.Running)
			assert.Equal(t, workflows.StatusNotEligible, h.Status)
			require.Len(t, h.Events, 1)
			assert.Equal(t, notify.OnboardingNotEligible, h.Events[0].Type)
		}
	}

	var mu sync.Mutex
	var sent []notify.Event
	resent, err := workflows.ResendNotifications(ctx, d.c, user, workflows.ResendRequest{Actor: "operator:alice", Reason: "endpoint fixed"}, func(_ context.Context, ev notify.Event) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, ev)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, resent.Queued)
	require.Len(t, sent, 1)
	assert.Equal(t, res.Undelivered[0].ID, sent[0].ID, "the same event id: a platform that had it drops the duplicate")
	assert.NotEmpty(t, sent[0].Reason, "the final notification says why")
}
