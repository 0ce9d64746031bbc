package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/audit"
)

type quickKey struct{}

// waitedOn marks ctx as the context of a call a person waits on: a run's
// preflight (a signup's; see run), or a session the platform or an
// operator asked for.
func waitedOn(ctx workflow.Context) workflow.Context {
	return workflow.WithValue(ctx, quickKey{}, true)
}

// isWaitedOn reports whether ctx is a call a person waits on: marked so
// (waitedOn), or caused by a platform's or an operator's call.
func isWaitedOn(ctx workflow.Context) bool {
	if v, ok := ctx.Value(quickKey{}).(bool); ok && v {
		return true
	}
	k := causeOf(ctx).Kind
	return k == audit.CausePlatform || k == audit.CauseOperator
}

// quickCalls reports whether this run takes the quick path, decided once
// (changeQuickCalls) where the run first needs it: runs that started before
// it replay their activities unchanged.
func (w *onboarding) quickCalls(ctx workflow.Context) bool {
	if w.quick == 0 {
		w.quick = 1
		if workflow.GetVersion(ctx, changeQuickCalls, workflow.DefaultVersion, 1) >= 1 {
			w.quick = 2
		}
	}
	return w.quick == 2
}

// mangopayCall runs a Mangopay activity with actx's options. One that a
// person waits on (isWaitedOn) runs first as a local activity, in the
// workflow task itself: no trip through the task queue to schedule it and
// none to hand its result back, which is where a signup's time went while
// a renewal sweep kept the queue busy (three workflow tasks and two
// activity dispatches in a row, now one task). That single try is not
// retried in place: a failure actx's retry policy would retry goes to the
// activity after the pause Temporal would take, with the same input, so
// that a session the try created at Mangopay comes back under the same
// idempotency key; a failure actx would not retry (a refusal, access
// denied) is the answer, as the activity would have given it.
//
// The try runs on a context that a cancel does not reach, like
// waitsForCancel: what it did at Mangopay is known before anything acts on
// the cancel.
func (w *onboarding) mangopayCall(ctx, actx workflow.Context, activity, in, out any) error {
	if actx.Err() != nil || !isWaitedOn(ctx) || !w.quickCalls(ctx) {
		// Cancelled already: the activity answers Canceled without a call.
		return workflow.ExecuteActivity(actx, activity, in).Get(actx, out)
	}
	opts := workflow.GetActivityOptions(actx)
	lctx, _ := workflow.NewDisconnectedContext(actx)
	lctx = workflow.WithLocalActivityOptions(lctx, workflow.LocalActivityOptions{
		// As long as the activity's try: a Mangopay call in flight is
		// never cut short (the SDK extends the workflow task meanwhile).
		StartToCloseTimeout: opts.StartToCloseTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:             opts.Summary,
	})
	err := workflow.ExecuteLocalActivity(lctx, activity, in).Get(lctx, out)
	if err == nil {
		return nil
	}
	if !retriedBy(opts.RetryPolicy, err) || actx.Err() != nil {
		return err
	}
	// The pause Temporal would take before the activity's second try: a
	// 429's window reset, or the policy's first interval.
	pause := workflow.NewTimerWithOptions(actx, retryPause(opts.RetryPolicy, err),
		workflow.TimerOptions{Summary: "pause before the activity retries: " + opts.Summary})
	if err := pause.Get(actx, nil); err != nil {
		return err
	}
	return workflow.ExecuteActivity(actx, activity, in).Get(actx, out)
}

// retryPause is how long Temporal waits after a first failed try under rp:
// the error's NextRetryDelay when it has one, else rp's first interval.
func retryPause(rp *temporal.RetryPolicy, err error) time.Duration {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NextRetryDelay() > 0 {
		return appErr.NextRetryDelay()
	}
	if rp == nil || rp.InitialInterval <= 0 {
		return time.Second // Temporal's default
	}
	return rp.InitialInterval
}

// retriedBy reports whether Temporal would retry a failure err under rp: not
// an application error marked non-retryable, nor one of rp's
// non-retryable types.
func retriedBy(rp *temporal.RetryPolicy, err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return true // a timeout, a panic, a worker gone: retried
	}
	if appErr.NonRetryable() {
		return false
	}
	return rp == nil || !slices.Contains(rp.NonRetryableErrorTypes, appErr.Type())
}
