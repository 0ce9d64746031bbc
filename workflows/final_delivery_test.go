package workflows_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// A platform that answers 401 for a day (a secret half rotated) while the
// onboarding is cancelled receives onboarding.cancelled, and everything
// before it, in order, once it answers 200: the finished run goes on
// delivering (FinalDeliveryWait), with no operator.
func TestPlatformDownForADayGetsTheFinalNotificationInOrder(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	var refusing atomic.Bool
	refusing.Store(true)
	h.platform.refuseStatus = http.StatusUnauthorized
	h.platform.setRefuse(func(notify.Event) bool { return refusing.Load() })
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.cancel(10 * time.Minute)
	h.at(24*time.Hour, func() { refusing.Store(false) })
	h.run(workflows.Config{})

	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.cancelled"}, h.platform.events())
	assertInOrder(t, h.platform.all())
	res := h.result()
	assert.Equal(t, workflows.StatusCancelled, res.Status)
	assert.Empty(t, res.Undelivered)
	assert.Zero(t, h.activities["NotificationsHeld"], "nothing was held for an operator")
}

// A signup that reaches a NOT_ELIGIBLE run still delivering its last
// notifications ends it at once (OnboardingClosing), with the events in its
// Result, unflagged for the operator's alert; the next run sends them
// first, with their ids, and reads the user again.
func TestASignupReleasesARunLingeringForDeliveries(t *testing.T) {
	h := newHarness(t, "PAYER")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	var refusing atomic.Bool
	refusing.Store(true)
	h.platform.refuseStatus = http.StatusUnauthorized
	h.platform.setRefuse(func(notify.Event) bool { return refusing.Load() })
	first := h.ensure(0, workflows.EnsureSessionRequest{})
	again := h.ensure(time.Hour, workflows.EnsureSessionRequest{})
	h.run(workflows.Config{})

	require.True(t, first.done)
	require.NoError(t, first.err)
	assert.Equal(t, workflows.StatusNotEligible, first.value.Status)
	require.True(t, again.done, "the signup was answered")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(again.err, &appErr), "%v", again.err)
	assert.Equal(t, workflows.ErrTypeOnboardingClosing, appErr.Type())
	res := h.result()
	assert.Equal(t, workflows.StatusNotEligible, res.Status)
	require.Len(t, res.Undelivered, 1)
	assert.Equal(t, notify.OnboardingNotEligible, res.Undelivered[0].Type)
	assert.Zero(t, h.activities["NotificationsHeld"], "the next onboarding sends them: no operator's alert")
	assert.Empty(t, h.platform.events())

	// The next onboarding (what EnsureSession starts after a closed run).
	refusing.Store(false)
	n := h.nextRun()
	n.ensure(0, workflows.EnsureSessionRequest{})
	n.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL, Carried: res.Undelivered})
	require.True(t, n.env.IsWorkflowCompleted())
	assert.Positive(t, n.mangopayCalls(), "the user is read again")
	var next workflows.Result
	require.NoError(t, n.env.GetWorkflowResult(&next))
	assert.Equal(t, workflows.StatusNotEligible, next.Status)
	assert.Empty(t, next.Undelivered, "everything delivered")
	// The test environment gives every run the same id, and so the new
	// run's own event the carried one's id (the sink keeps one): the
	// dev-server test below sees both.
	all := h.platform.all()
	require.NotEmpty(t, all)
	assert.Equal(t, res.Undelivered[0].ID, all[0].ID, "the carried event first, with its id")
}

// EnsureSession on a NOT_ELIGIBLE onboarding still delivering to a platform
// that answers 401 starts a new onboarding as for a closed one: the closing
// run completes, and the new one sends its undelivered event first, then
// its own, once the platform answers 200.
func TestEnsureSessionAfterALingeringRunStartsANewOne(t *testing.T) {
	p, refusing := refusingPlatform(t)
	d := startDevWorkerNotifying(t, &notify.Notifier{URL: p.srv.URL, Secrets: [][]byte{platformKey}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	user := createUser(t, d.mp, "PAYER")
	_, err := d.c.ExecuteWorkflow(ctx, workflows.StartOptions(user), workflows.WorkflowType, workflows.Input{
		UserID: user, ReturnURL: returnURL, Config: workflows.Config{FinalNotifyWait: time.Second, FinalDeliveryWait: time.Hour},
	})
	require.NoError(t, err)
	firstRun := d.runID(t, user)
	require.Eventually(t, func() bool {
		s, err := workflows.GetState(ctx, d.c, user)
		return err == nil && s.Status == workflows.StatusNotEligible
	}, time.Minute, 100*time.Millisecond)

	res, err := workflows.EnsureSession(ctx, d.c, user, workflows.EnsureSessionRequest{ReturnURL: returnURL})
	require.NoError(t, err)
	assert.Equal(t, workflows.StatusNotEligible, res.Status, "the new onboarding read the user")
	require.NotEqual(t, firstRun, d.runID(t, user), "a new onboarding")
	var closed workflows.Result
	require.NoError(t, d.c.GetWorkflow(ctx, workflows.WorkflowID(user), firstRun).Get(ctx, &closed))
	require.Len(t, closed.Undelivered, 1)

	refusing.Store(false)
	require.Eventually(t, func() bool { return len(p.all()) >= 2 }, 2*time.Minute, 200*time.Millisecond,
		"the platform receives both once it answers 200")
	got := p.all()
	require.Len(t, got, 2)
	assert.Equal(t, closed.Undelivered[0].ID, got[0].ID, "the closed run's event first, with its id")
	assert.Equal(t, notify.OnboardingNotEligible, got[1].Type)
}

// An operator's Reopen of a FAILED onboarding still delivering its last
// notifications starts a new one at once (a plain signup gets FAILED), and
// the new one carries the undelivered events.
func TestReopenAfterALingeringFailedRunStartsANewOne(t *testing.T) {
	p, refusing := refusingPlatform(t)
	d := startDevWorkerNotifying(t, &notify.Notifier{URL: p.srv.URL, Secrets: [][]byte{platformKey}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req := workflows.EnsureSessionRequest{ReturnURL: returnURL}

	user := createUser(t, d.mp, "NATURAL")
	_, err := d.c.ExecuteWorkflow(ctx, workflows.StartOptions(user), workflows.WorkflowType, workflows.Input{
		UserID: user, ReturnURL: returnURL, Config: workflows.Config{FinalNotifyWait: time.Second, FinalDeliveryWait: time.Hour},
	})
	require.NoError(t, err)
	got, err := workflows.EnsureSession(ctx, d.c, user, req)
	require.NoError(t, err)
	require.Equal(t, workflows.StatusAwaitingUser, got.Status)
	require.NoError(t, d.sim.SubmitOutcome(got.IdvSessionID, falsified)) // a final refusal
	ev := webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_FAILED", ResourceID: got.IdvSessionID, Date: time.Now().Unix()}
	ev.EventKey = ev.Key()
	require.NoError(t, d.c.SignalWorkflow(ctx, workflows.WorkflowID(user), "", workflows.SignalMangopayEvent, ev))
	require.Eventually(t, func() bool {
		s, err := workflows.GetState(ctx, d.c, user)
		return err == nil && s.Status == workflows.StatusFailed
	}, time.Minute, 100*time.Millisecond)
	first := d.runID(t, user)

	again, err := workflows.EnsureSession(ctx, d.c, user, req)
	require.NoError(t, err)
	assert.Equal(t, workflows.StatusFailed, again.Status, "a signup gets FAILED")
	assert.Equal(t, first, d.runID(t, user))

	reopened, err := workflows.Reopen(ctx, d.c, user, req)
	require.NoError(t, err)
	assert.Equal(t, workflows.StatusAwaitingUser, reopened.Status)
	assert.NotEqual(t, first, d.runID(t, user), "a new onboarding")
	var closed workflows.Result
	require.NoError(t, d.c.GetWorkflow(ctx, workflows.WorkflowID(user), first).Get(ctx, &closed))
	require.NotEmpty(t, closed.Undelivered)
	refusing.Store(false)
	require.Eventually(t, func() bool { return len(p.all()) > len(closed.Undelivered) }, 2*time.Minute, 200*time.Millisecond,
		"the platform receives the carried events, then the new onboarding's")
	for i, ev := range closed.Undelivered {
		assert.Equal(t, ev.ID, p.all()[i].ID, "carried event %d first, in order, with its id", i)
	}
}

// refusingPlatform is the platform's endpoint answering 401 (a secret it
// cannot check) until refusing is cleared, then taking every notification.
func refusingPlatform(t *testing.T) (*platformSink, *atomic.Bool) {
	p := newPlatformSink(t)
	refusing := new(atomic.Bool)
	refusing.Store(true)
	p.refuseStatus = http.StatusUnauthorized
	p.setRefuse(func(notify.Event) bool { return refusing.Load() })
	return p, refusing
}

// A cancel from Temporal (an operator in the Web UI) ends the wait for
// deliveries too: the run closes within FinalNotifyWait of the cancel, its
// undelivered notifications in the cancellation's details, although the
// platform would have come back within their schedule.
func TestATemporalCancelEndsTheWaitForDeliveries(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	var refusing atomic.Bool
	refusing.Store(true)
	h.platform.setRefuse(func(notify.Event) bool { return refusing.Load() })
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Hour, func() { h.env.CancelWorkflow() })
	h.at(48*time.Hour, func() { refusing.Store(false) })
	h.run(workflows.Config{FinalNotifyWait: 2 * time.Minute}) // FinalDeliveryWait: the default, days

	assert.LessOrEqual(t, h.env.Now().Sub(h.start), time.Hour+3*time.Minute+time.Second,
		"closed within FinalNotifyWait of the cancel, plus the stopped handlers' minute")
	var canceled *temporal.CanceledError
	require.True(t, errors.As(h.env.GetWorkflowError(), &canceled), "%v", h.env.GetWorkflowError())
	var res workflows.Result
	require.NoError(t, canceled.Details(&res))
	assert.NotEmpty(t, res.Undelivered)
}
