package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/audit"
)

// ErrTypeOnboardingClosing is the application error type of an
// ensure-session that reached an onboarding with a final status still
// delivering its last notifications (finish): the run ends at once for the
// next onboarding, which EnsureSession and Reopen then start, carrying the
// undelivered events. Its details are the closing run's id.
const ErrTypeOnboardingClosing = "OnboardingClosing"

// releaseForNext ends finish's wait for deliveries when a signup (or an
// operator's reopen) reaches an onboarding that ended: had the run already
// closed, the call would start a new onboarding (NOT_ELIGIBLE re-reads the
// user, CANCELLED starts afresh), and a platform that is down must not
// change that answer. FAILED stays FAILED until an operator reopens it
// (Reopen, or an operator's ensure-session). It
// returns the error the caller gets, or nil when the run answers as usual.
func (w *onboarding) releaseForNext(ctx workflow.Context, req EnsureSessionRequest, cause audit.Cause) error {
	if !w.st.Status.Final() || w.st.Status == StatusFailed && cause.Kind != audit.CauseOperator && !req.Reopen {
		return nil
	}
	if !w.released {
		w.released = true
		w.logger.Info("a new onboarding is asked for: completing now", "status", w.st.Status, "outbox", len(w.st.Outbox))
	}
	return temporal.NewNonRetryableApplicationError("the onboarding ended ("+string(w.st.Status)+") and is closing for a new one",
		ErrTypeOnboardingClosing, nil, workflow.GetInfo(ctx).WorkflowExecution.RunID)
}

// errClosing is an ensure-session answered by a closing run (releaseForNext).
type errClosing struct{ runID string }

func (e *errClosing) Error() string {
	return "the onboarding is closing for a new one (run " + e.runID + ")"
}

// asClosing reports whether err is a closing run's answer, and its run id.
func asClosing(err error) (string, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeOnboardingClosing {
		return "", false
	}
	var runID string
	if appErr.HasDetails() {
		_ = appErr.Details(&runID)
	}
	return runID, true
}

// closingWait bounds what a call does for the next onboarding once a run
// let go for it (afterRelease).
const closingWait = 2 * time.Minute

// afterRelease is the context of what a call does once a lingering run let
// go for it: waiting for the close and starting the next onboarding, which
// carries the run's undelivered notifications. It goes on if the caller
// goes away (an HTTP client that gave up), or those notifications would sit
// in a closed run that nobody counts as holding them.
func afterRelease(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), closingWait)
}

// awaitClosed waits for the closing run to complete and reads how it ended
// (its undelivered notifications, for the next onboarding to carry); a run
// terminated meanwhile reads as for any closed run (closedResult).
func awaitClosed(ctx context.Context, c client.Client, userID string, closing *errClosing) (Result, error) {
	res, err := closedResult(ctx, c, userID, closing.runID)
	if err != nil {
		return Result{}, fmt.Errorf("wait for the closing onboarding: %w", err)
	}
	return res, nil
}
