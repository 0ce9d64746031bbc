package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

func TestEnsureSessionValidatesBeforeStarting(t *testing.T) {
	// No Temporal client at all: an invalid request must not reach it.
	for _, req := range []workflows.EnsureSessionRequest{
		{},
		{ReturnURL: "/relative"},
		{ReturnURL: "javascript:alert(1)"},
		{ReturnURL: returnURL, Tag: string(make([]byte, workflows.MaxTag+1))},
	} {
		_, err := workflows.EnsureSession(context.Background(), nil, "user_m_1", req)
		assert.ErrorIs(t, err, workflows.ErrRejected, "%+v", req)
	}
}

// devWorker is a Temporal dev server with a worker running the onboarding
// against the in-process simulator.
type devWorker struct {
	c   client.Client
	sim *sandbox.Sandbox
	mp  *mangopay.Client
}

func startDevWorker(t *testing.T) *devWorker {
	t.Helper()
	return startDevWorkerNotifying(t, &notify.Notifier{})
}

// startDevWorkerNotifying is startDevWorker whose worker notifies the
// platform through n.
func startDevWorkerNotifying(t *testing.T, n *notify.Notifier) *devWorker {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Temporal dev server: skipped in -short mode")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skipf("needs a Temporal dev server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	serverLog := &syncbuf.Buffer{}
	srv, err := devtemporal.Start(ctx, devtemporal.Options{Logger: sdkLogger(logger), Stdout: serverLog, Stderr: serverLog})
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Client().Close()
		_ = srv.Stop()
		if t.Failed() {
			t.Logf("dev server output:\n%s", serverLog)
		}
	})
	s := simtest.Start(t, sandbox.Config{Settings: simtest.FastSettings()})
	rdb := redistest.New(t)
	w := worker.New(srv.Client(), workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
	w.RegisterActivity(&activities.Activities{
		Mangopay: s.Client, Index: routing.NewIndex(rdb, 0), Pages: claimcheck.NewStore(rdb, 0, 0),
		Notifier: n, Logger: logger,
	})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return &devWorker{c: srv.Client(), sim: s.Sandbox, mp: s.Client}
}

func (d *devWorker) runID(t *testing.T, userID string) string {
	t.Helper()
	desc, err := d.c.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(userID), "")
	require.NoError(t, err)
	return desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

func TestClosedOnboardings(t *testing.T) {
	d := startDevWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := workflows.EnsureSessionRequest{ReturnURL: returnURL}

	t.Run("NOT_ELIGIBLE reads the user again on the next signup", func(t *testing.T) {
		user := createUser(t, d.mp, "PAYER")
		got, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		require.Equal(t, workflows.StatusNotEligible, got.Status)
		assert.Contains(t, got.Reason, "only OWNER users")
		require.NoError(t, d.c.GetWorkflow(ctx, workflows.WorkflowID(user), "").Get(ctx, nil))
		first := d.runID(t, user)

		// The next signup reads the user again (the platform may have made
		// it an OWNER since), with no operator: a new run, which reads it.
		again, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		assert.Equal(t, workflows.StatusNotEligible, again.Status, "still a PAYER")
		assert.NotEqual(t, first, d.runID(t, user), "a new onboarding, which read the user")
	})
	t.Run("a request Mangopay refuses, then the corrected one", func(t *testing.T) {
		// A user Mangopay does not know: the caller's error, naming UserId.
		_, err := workflows.EnsureSession(ctx, d.c, "user_m_doesnotexist", req)
		require.ErrorIs(t, err, workflows.ErrRejected)
		var rerr *workflows.RequestError
		require.ErrorAs(t, err, &rerr)
		assert.Equal(t, "UserId", rerr.Field)
		// Reading it afterwards (GET /v1/onboardings/{id}) answers the same
		// refusal, never a STARTING with no reason: a platform that got a
		// 202 learns what to correct.
		_, err = workflows.GetState(ctx, d.c, "user_m_doesnotexist")
		require.ErrorIs(t, err, workflows.ErrRejected)
		var read *workflows.RequestError
		require.ErrorAs(t, err, &read)
		assert.Equal(t, *rerr, *read)

		// A ReturnUrl kycflow takes but Mangopay refuses (its limit
		// tightened below kycflow's), then the corrected signup.
		user := createUser(t, d.mp, "NATURAL")
		set := simtest.FastSettings()
		set.ReturnURLMaxLength = len(returnURL) - 1
		require.NoError(t, d.sim.SetSettings(set))
		_, err = workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, d.sim.SetSettings(simtest.FastSettings()))
		require.ErrorAs(t, err, &rerr)
		assert.Equal(t, "ReturnUrl", rerr.Field)
		assert.Contains(t, rerr.Message, "maximum length")

		got, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		assert.Equal(t, workflows.StatusAwaitingUser, got.Status)
		assert.NotEmpty(t, got.HostedURL)
	})
	t.Run("FAILED stays so, with its reason, until an operator reopens it", func(t *testing.T) {
		user := createUser(t, d.mp, "NATURAL")
		got, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		require.Equal(t, workflows.StatusAwaitingUser, got.Status)
		require.NoError(t, d.sim.SubmitOutcome(got.IdvSessionID, falsified)) // a final refusal
		ev := webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_FAILED", ResourceID: got.IdvSessionID, Date: time.Now().Unix()}
		ev.EventKey = ev.Key()
		require.NoError(t, d.c.SignalWorkflow(ctx, workflows.WorkflowID(user), "", workflows.SignalMangopayEvent, ev))
		require.NoError(t, d.c.GetWorkflow(ctx, workflows.WorkflowID(user), "").Get(ctx, nil))
		first := d.runID(t, user)

		// The next signup: FAILED and why, not a fresh run with no refusals.
		again, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		assert.Equal(t, workflows.StatusFailed, again.Status)
		assert.Contains(t, again.Reason, "DOCUMENT_FALSIFIED")
		assert.Equal(t, first, d.runID(t, user), "a closed FAILED onboarding must not be restarted by a signup")

		reopened, err := workflows.Reopen(ctx, d.c, user, req)
		require.NoError(t, err)
		assert.Equal(t, workflows.StatusAwaitingUser, reopened.Status)
		assert.NotEqual(t, got.IdvSessionID, reopened.IdvSessionID)
		assert.NotEqual(t, first, d.runID(t, user))
	})
	t.Run("CANCELLED: the platform may start again", func(t *testing.T) {
		user := createUser(t, d.mp, "NATURAL")
		got, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		require.Equal(t, workflows.StatusAwaitingUser, got.Status)
		_, err = workflows.Cancel(ctx, d.c, user, workflows.CancelRequest{})
		require.NoError(t, err)
		require.NoError(t, d.c.GetWorkflow(ctx, workflows.WorkflowID(user), "").Get(ctx, nil))

		again, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		assert.Equal(t, workflows.StatusAwaitingUser, again.Status)
		assert.NotEqual(t, got.IdvSessionID, again.IdvSessionID)
	})
	t.Run("a cancel before the last refusal does not reset the refusals", func(t *testing.T) {
		// The platform's own cancel and signup are not an operator's
		// Reopen: the new run goes on from the closed run's refusals and
		// attempts, so the default MaxAttempts (3) still ends it FAILED.
		user := createUser(t, d.mp, "NATURAL")
		faceMatch := map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "FACE_MATCH_FAIL"}}
		refuse := func(t *testing.T, got workflows.EnsureSessionResult, date int64) {
			t.Helper()
			require.NoError(t, d.sim.SubmitOutcome(got.IdvSessionID, faceMatch))
			ev := webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_FAILED", ResourceID: got.IdvSessionID, Date: date}
			ev.EventKey = ev.Key()
			require.NoError(t, d.c.SignalWorkflow(ctx, workflows.WorkflowID(user), "", workflows.SignalMangopayEvent, ev))
		}
		for i := 1; i <= 2; i++ {
			got, err := workflows.EnsureSession(ctx, d.c, user, req)
			require.NoError(t, err)
			require.Equal(t, i, got.Attempt)
			refuse(t, got, time.Now().Unix()+int64(i))
			require.Eventually(t, func() bool {
				v, err := workflows.GetState(ctx, d.c, user)
				return err == nil && v.Status == workflows.StatusRefused && v.Attempt == i
			}, time.Minute, 50*time.Millisecond)
		}
		_, err := workflows.Cancel(ctx, d.c, user, workflows.CancelRequest{Reason: "the user asked", Actor: "platform"})
		require.NoError(t, err)
		require.NoError(t, d.c.GetWorkflow(ctx, workflows.WorkflowID(user), "").Get(ctx, nil))

		again, err := workflows.EnsureSession(ctx, d.c, user, req)
		require.NoError(t, err)
		require.Equal(t, workflows.StatusAwaitingUser, again.Status)
		assert.Equal(t, 3, again.Attempt, "the attempt numbering goes on from the cancelled run")
		refuse(t, again, time.Now().Unix()+3)
		var res workflows.Result
		require.NoError(t, d.c.GetWorkflow(ctx, workflows.WorkflowID(user), "").Get(ctx, &res))
		assert.Equal(t, workflows.StatusFailed, res.Status, "the third refusal in a row ends it, cancel or not")
		assert.Equal(t, 3, res.Refusals)

		// Only an operator's Reopen counts from zero again.
		reopened, err := workflows.Reopen(ctx, d.c, user, workflows.EnsureSessionRequest{
			ReturnURL: returnURL, Actor: "operator:alice", Reason: "checked the documents by hand",
		})
		require.NoError(t, err)
		assert.Equal(t, workflows.StatusAwaitingUser, reopened.Status)
		assert.Equal(t, 1, reopened.Attempt)
	})
	t.Run("a slow Mangopay is not an unavailable Temporal", func(t *testing.T) {
		user := createUser(t, d.mp, "NATURAL")
		d.sim.SetFaults(sandbox.Faults{APILatencyMs: 3000})
		defer d.sim.SetFaults(sandbox.Faults{})
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := workflows.EnsureSession(short, d.c, user, req)
		require.ErrorIs(t, err, workflows.ErrStillWorking)
		assert.NotErrorIs(t, err, workflows.ErrTemporalUnavailable)
	})
}
