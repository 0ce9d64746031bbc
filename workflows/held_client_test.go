package workflows_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
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
		UserID: user, ReturnURL: returnURL, Config: workflows.Config{FinalNotifyWait: time.Second, FinalDeliveryWait: time.Second},
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
			// Visibility may still say Running for a moment after the
			// run closed (the hold was indexed before the close).
			if h.UserID == user && !h.Running {
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

// A run cancelled in Temporal (Web UI, CLI) while its platform refuses keeps
// its undelivered notifications: they are listed and re-sent like a
// completed run's, and the listing goes on past it.
func TestCancelledOnboardingsNotificationsAreListedAndResent(t *testing.T) {
	d := startDevWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	t.Cleanup(refusing.Close)
	const queue = "kyc-onboarding-held-cancel-test"
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

	user := createUser(t, d.mp, "NATURAL")
	opts := workflows.StartOptions(user)
	opts.TaskQueue = queue
	run, err := d.c.ExecuteWorkflow(ctx, opts, workflows.WorkflowType, workflows.Input{
		UserID: user, ReturnURL: returnURL, Config: workflows.Config{FinalNotifyWait: time.Second, FinalDeliveryWait: time.Second},
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := workflows.GetState(ctx, d.c, user)
		return err == nil && st.Status == workflows.StatusAwaitingUser
	}, time.Minute, 100*time.Millisecond)
	require.NoError(t, d.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
	require.Error(t, run.Get(ctx, nil), "cancelled")

	var mine *workflows.HeldOnboarding
	require.Eventually(t, func() bool {
		held, err := workflows.ListHeldNotifications(ctx, d.c)
		require.NoError(t, err, "one run cannot stop the listing")
		for i := range held {
			if held[i].UserID == user && !held[i].Running {
				mine = &held[i]
				return true
			}
		}
		return false
	}, time.Minute, 200*time.Millisecond, "the cancelled onboarding is listed (KycAttention)")
	require.NoError(t, mine.Err)
	assert.Equal(t, workflows.StatusCancelled, mine.Status)
	require.NotEmpty(t, mine.Events)
	assert.Equal(t, notify.OnboardingAwaitingUser, mine.Events[0].Type)

	var sent []string
	resent, err := workflows.ResendNotifications(ctx, d.c, user, workflows.ResendRequest{Actor: "operator:alice", Reason: "endpoint fixed"}, func(_ context.Context, ev notify.Event) error {
		sent = append(sent, ev.Type)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, len(mine.Events), resent.Queued)
	assert.Equal(t, notify.OnboardingAwaitingUser, sent[0])
	assert.Equal(t, notify.OnboardingCancelled, sent[len(sent)-1])
}

// A user signing up again after a run that closed with notifications
// undelivered: the new run sends the old events first, with their ids, then
// its own, and the closed run is no longer listed as holding anything.
func TestANewRunSendsTheClosedRunsHeldNotificationsFirst(t *testing.T) {
	var refusing atomic.Bool
	refusing.Store(true)
	var mu sync.Mutex
	var got []notify.Event
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refusing.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body struct {
			Type string `json:"type"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, notify.Event{ID: r.Header.Get(notify.HeaderID), Type: body.Type})
		mu.Unlock()
	}))
	t.Cleanup(platform.Close)
	d := startDevWorkerNotifying(t, &notify.Notifier{URL: platform.URL, Secrets: [][]byte{platformKey}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	user := createUser(t, d.mp, "PAYER") // NOT_ELIGIBLE at once: the run ends
	run, err := d.c.ExecuteWorkflow(ctx, workflows.StartOptions(user), workflows.WorkflowType, workflows.Input{
		UserID: user, ReturnURL: returnURL, Config: workflows.Config{FinalNotifyWait: time.Second, FinalDeliveryWait: time.Second},
	})
	require.NoError(t, err)
	var closed workflows.Result
	require.NoError(t, run.Get(ctx, &closed))
	require.Len(t, closed.Undelivered, 1)

	refusing.Store(false)
	again, err := workflows.EnsureSession(ctx, d.c, user, workflows.EnsureSessionRequest{ReturnURL: returnURL})
	require.NoError(t, err)
	assert.Equal(t, workflows.StatusNotEligible, again.Status)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	}, time.Minute, 100*time.Millisecond, "both runs' notifications reach the platform")
	mu.Lock()
	assert.Equal(t, closed.Undelivered[0].ID, got[0].ID, "the closed run's event first, with its id")
	assert.NotEqual(t, got[0].ID, got[1].ID)
	assert.Equal(t, notify.OnboardingNotEligible, got[1].Type)
	mu.Unlock()

	require.Eventually(t, func() bool {
		held, err := workflows.ListHeldNotifications(ctx, d.c)
		require.NoError(t, err)
		for _, h := range held {
			if h.UserID == user {
				return false
			}
		}
		return true
	}, time.Minute, 200*time.Millisecond, "the closed run's events went with the new run: nothing is listed")
}
