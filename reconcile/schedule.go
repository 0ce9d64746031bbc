package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// Names in Temporal (the Web UI shows them).
const (
	// ScheduleID is the one schedule of the fleet reconciliation.
	ScheduleID = "kycflow-reconcile-events"
	// WorkflowType is the workflow the schedule starts.
	WorkflowType = "ReconcileEvents"
	// WorkflowID is the ID of its runs (the schedule appends the time).
	WorkflowID = "kycflow-reconcile-events"
	// ActivityFeed is the activity that feeds the window.
	ActivityFeed = "FeedEventsSinceCursor"
	// ErrTypeRateLimited: Mangopay or the budget asked to wait; the error
	// carries Temporal's NextRetryDelay.
	ErrTypeRateLimited = "MangopayRateLimited"
)

// resetMargin is added to the wait for a rate-limit window's reset: the reset
// is a whole second of Mangopay's clock, and clocks differ a little.
const resetMargin = time.Second

// runTimeout bounds one reconciliation: a run that cannot finish (Mangopay
// away for an hour) leaves the window to the next one, which starts from
// the same cursor.
const runTimeout = time.Hour

// FeedInput is the feed activity's input (the window comes from the cursor).
type FeedInput struct{}

// FeedResult says what a run fed.
type FeedResult struct {
	From     time.Time `json:"From"`
	To       time.Time `json:"To"`
	Events   int       `json:"Events"`
	Fed      int       `json:"Fed"`
	Rejected int       `json:"Rejected"`
	Calls    int       `json:"Calls"`
}

// feedHeartbeatTimeout is how soon Temporal gives a feed up when its worker
// is gone: the next attempt starts then, and until it ends every scheduled
// run is skipped (overlap policy SKIP), so the dropped webhooks wait.
const feedHeartbeatTimeout = 30 * time.Second

// DefaultHeartbeatEvery is how often a feed says it is alive, pages or not:
// one page can wait longer than feedHeartbeatTimeout for the call budget (a
// rate-limit pause) or for a slow Mangopay, and a live attempt must not be
// timed out and started again for that.
const DefaultHeartbeatEvery = feedHeartbeatTimeout / 3

// Activities are the reconciliation's activities.
type Activities struct {
	Feeder *Feeder
	Redis  redis.UniversalClient
	Config Config
	// HeartbeatEvery is the feed's liveness heartbeat; zero:
	// DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
}

// heartbeatFeed records a heartbeat every interval until stop is called,
// with the last page the feed reported (none before the first).
func heartbeatFeed(ctx context.Context, every time.Duration) (progress func(eventType string, page int), stop func()) {
	var mu sync.Mutex
	var last []any
	beat := func() {
		mu.Lock()
		details := last
		mu.Unlock()
		activity.RecordHeartbeat(ctx, details...)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				beat()
			}
		}
	}()
	progress = func(eventType string, page int) {
		mu.Lock()
		last = []any{eventType, page}
		mu.Unlock()
		beat()
	}
	return progress, func() { close(done); wg.Wait() }
}

// FeedEventsSinceCursor feeds the events after the cursor (Run), with a
// heartbeat per page.
func (a *Activities) FeedEventsSinceCursor(ctx context.Context, _ FeedInput) (FeedResult, error) {
	f := *a.Feeder
	every := a.HeartbeatEvery
	if every <= 0 {
		every = DefaultHeartbeatEvery
	}
	progress, stop := heartbeatFeed(ctx, every)
	f.Progress = progress
	began := time.Now()
	counts, from, to, err := Run(ctx, &f, a.Redis, a.Config)
	stop()
	res := FeedResult{From: from, To: to, Events: counts.Total(), Fed: counts.Fed, Rejected: counts.Rejected, Calls: counts.Calls}
	// One line a run: an operator tells a stalled reconciliation from a
	// quiet one by these.
	attrs := []any{"from", from.UTC().Format(time.RFC3339), "to", to.UTC().Format(time.RFC3339), "events", res.Events,
		"fed", res.Fed, "rejected", res.Rejected, "calls", res.Calls, "attempt", activity.GetInfo(ctx).Attempt,
		"took_ms", time.Since(began).Milliseconds()}
	if err == nil {
		f.log().Info("events reconciled", attrs...)
		return res, nil
	}
	f.log().Warn("events reconciliation failed", append(attrs, "error", err)...)
	if d, ok := mangopay.RetryDelay(err, time.Now()); ok {
		return res, temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: d + resetMargin})
	}
	return res, err
}

// Workflow is one reconciliation run: the feed activity, retried (a
// Mangopay outage, a 429) until the run's timeout.
func Workflow(ctx workflow.Context) (FeedResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    feedHeartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		Summary:             "feed Mangopay's events since the cursor into the webhook stream",
	})
	var res FeedResult
	err := workflow.ExecuteActivity(ctx, ActivityFeed, FeedInput{}).Get(ctx, &res)
	return res, err
}

// Register puts the workflow and its activity on a worker.
func Register(w worker.Registry, acts *Activities) {
	w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowType})
	w.RegisterActivityWithOptions(acts.FeedEventsSinceCursor, activity.RegisterOptions{Name: ActivityFeed})
}

// EnsureSchedule creates the schedule, or updates an existing one to every:
// each worker calls it at start, so the last configuration wins and a
// restart never adds a second schedule. A run still going when the next is
// due makes that one skip.
func EnsureSchedule(ctx context.Context, c client.Client, every time.Duration) error {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	action := &client.ScheduleWorkflowAction{
		ID: WorkflowID, Workflow: WorkflowType, TaskQueue: workflows.TaskQueue, WorkflowRunTimeout: runTimeout,
	}
	sc := c.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID: ScheduleID, Spec: spec, Action: action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note: "kycflow: fleet reconciliation through Mangopay's Events API (created by the worker)",
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		if err != nil {
			return fmt.Errorf("create schedule %s: %w", ScheduleID, err)
		}
		return nil
	}
	err = sc.GetHandle(ctx, ScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec, s.Action = &spec, action
			if s.Policy == nil {
				s.Policy = &client.SchedulePolicies{}
			}
			s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", ScheduleID, err)
	}
	return nil
}
