package workflows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/audit"
)

// Errors of the client helpers, for callers to map (HTTP statuses, exit codes).
var (
	// ErrNoOnboarding: no onboarding workflow exists for the user.
	ErrNoOnboarding = errors.New("no onboarding for this user")
	// ErrRejected: the request is invalid, or the workflow's validator
	// refused it.
	ErrRejected = errors.New("request rejected")
	// ErrTemporalUnavailable: Temporal could not be reached.
	ErrTemporalUnavailable = errors.New("temporal is unavailable")
	// ErrStillWorking: Temporal took the request and the onboarding is
	// working on it (a slow Mangopay, a call budget), but it did not answer
	// before the caller's deadline. The answer arrives by notification and
	// by GetState; asking again is safe.
	ErrStillWorking = errors.New("the onboarding is still working on it")
)

// StartOptions are the options of every start of a user's onboarding, by the
// starter, the platform API and the bridge alike.
//
// One onboarding per user: a running one is used as it is (conflict policy
// use-existing), and a closed one is never replaced by a plain start (reuse
// policy reject-duplicate). So a webhook can never revive a cancelled or
// failed onboarding; EnsureSession decides which closed ones a platform may
// start again (see there), and Reopen is the operator's explicit override.
func StartOptions(userID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(userID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchAttrUserID.ValueSet(userID), SearchAttrStatus.ValueSet(string(StatusStarting)),
		),
		StaticSummary: "KYC/KYB onboarding of Mangopay user " + userID,
	}
}

// Validate checks a request the way the workflow's validator does, so that an
// invalid one starts nothing.
func (r EnsureSessionRequest) Validate() error {
	if r.ReturnURL == "" {
		return errors.New("ReturnUrl is required")
	}
	if err := ValidateReturnURL(r.ReturnURL); err != nil {
		return err
	}
	if err := ValidateSessionLanguage(r.SessionLanguage); err != nil {
		return err
	}
	return ValidateTag(r.Tag)
}

// EnsureSession starts the user's onboarding or finds the running one
// (update-with-start) and returns its current usable session: what a signup
// flow calls to get the HostedUrl.
//
// Mangopay refusing what the platform sent (a user that does not exist, a
// field it refuses) is an error wrapping ErrRejected and a *RequestError:
// the platform's mistake, answered to its call, never the user's final
// status. The run it started ends leaving nothing behind, so the corrected
// call starts afresh.
//
// A closed onboarding decides what comes next:
//   - FAILED stays so: the answer is that status and its reason (no error),
//     until an operator calls Reopen. Temporal keeps the closed onboarding
//     for the namespace's retention period; after that the next signup
//     starts afresh.
//   - NOT_ELIGIBLE: the next signup starts a new onboarding, which reads
//     the user again (the platform may have made it an OWNER since).
//   - CANCELLED (by the platform or in Temporal), terminated or timed out,
//     or ended on a refused request: the platform asks again, so a new
//     onboarding starts.
//
// An onboarding that ended but still delivers its last notifications (a
// platform that is down; Config.FinalDeliveryWait) counts as closed: it
// completes at once, and the new onboarding sends them first.
//
// A new onboarding after a closed one that held notifications undelivered
// sends those first, in order and with their ids (Input.Carried): the
// platform hears the old story before the new one, and the closed run is
// no longer listed by ListHeldNotifications.
func EnsureSession(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest) (EnsureSessionResult, error) {
	if err := req.Validate(); err != nil {
		return EnsureSessionResult{}, fmt.Errorf("ensure session: %w: %w", ErrRejected, err)
	}
	// Asked again from the top when Temporal drops the update: what the
	// user's last run holds is read anew each time.
	return retryAborted(ctx, func() (EnsureSessionResult, error) { return ensureSession(ctx, c, userID, req) })
}

func ensureSession(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest) (EnsureSessionResult, error) {
	return afterLastRun(ctx, c, userID, req, func(ctx context.Context, closed Result) (EnsureSessionResult, error) {
		if closed.Status == StatusFailed {
			return EnsureSessionResult{UserID: userID, Status: closed.Status, Reason: closed.Reason, Attempt: closed.Attempt}, nil
		}
		// Not an operator's Reopen: the refusals (and the attempt
		// numbering) go on from the closed run, so a cancel before the
		// last refusal does not buy the user MaxAttempts more sessions.
		return reopen(ctx, c, userID, req, Input{Carried: closed.Undelivered, Refusals: closed.Refusals, Attempt: closed.Attempt})
	})
}

// afterLastRun sends req to the user's running onboarding, or starts one
// when there is none. The start refuses a closed run's ID: when the last
// onboarding is closed, or was lingering and closes now for this call
// (OnboardingClosing), next decides from how it ended (its undelivered
// notifications go to the new one, first). After a release next runs even
// if the caller goes away (afterRelease).
func afterLastRun(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest,
	next func(context.Context, Result) (EnsureSessionResult, error)) (EnsureSessionResult, error) {
	res, err := updateWithStart(ctx, c, userID, req, StartOptions(userID))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var closing *errClosing
	var closed Result
	switch {
	case errors.As(err, &closing):
		var cancel context.CancelFunc
		ctx, cancel = afterRelease(ctx)
		defer cancel()
		if closed, err = awaitClosed(ctx, c, userID, closing); err != nil {
			return EnsureSessionResult{}, err
		}
	case !errors.As(err, &started):
		return res, err
	default:
		if closed, err = closedResult(ctx, c, userID, ""); err != nil {
			return EnsureSessionResult{}, err
		}
	}
	return next(ctx, closed)
}

// Reopen starts a new onboarding for a user whose last one is closed, whatever
// its outcome (an operator's explicit decision after FAILED or NOT_ELIGIBLE:
// the new one counts refusals from zero), or acts as EnsureSession when one
// is running.
func Reopen(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest) (EnsureSessionResult, error) {
	if err := req.Validate(); err != nil {
		return EnsureSessionResult{}, fmt.Errorf("reopen: %w: %w", ErrRejected, err)
	}
	req.Reopen = true
	return retryAborted(ctx, func() (EnsureSessionResult, error) { return reopenOnce(ctx, c, userID, req) })
}

func reopenOnce(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest) (EnsureSessionResult, error) {
	// A running onboarding takes the reopen itself; after a closed one,
	// an operator's decision: refusals count from zero again.
	return afterLastRun(ctx, c, userID, req, func(ctx context.Context, closed Result) (EnsureSessionResult, error) {
		return reopen(ctx, c, userID, req, Input{Carried: closed.Undelivered})
	})
}

// reopen starts a new onboarding after a closed one (or finds the running
// one), carrying the closed run's undelivered notifications and its trail
// into it. from holds what goes on from the closed run (Carried, and for a
// restart that is not an operator's, Refusals and Attempt).
func reopen(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest, from Input) (EnsureSessionResult, error) {
	opts := StartOptions(userID)
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	in := from
	in.UserID, in.ReturnURL, in.Tag = userID, req.ReturnURL, req.Tag
	// The closed onboarding's trail goes on in the new one (best effort:
	// the platform's notifications hold a copy of every entry anyway). When
	// it cannot be read, the new onboarding starts a trail of its own under
	// a new OnboardingId, so the platform's keys never repeat; the log says
	// so. When one runs, this start is not used.
	if !running(ctx, c, userID) {
		prior, err := GetTimeline(ctx, c, userID)
		if err == nil {
			in.PriorTimeline = prior.Entries
		} else if !errors.Is(err, ErrNoOnboarding) {
			slog.WarnContext(ctx, "reopen: the closed onboarding's timeline could not be read; the new one starts a trail of its own (a new OnboardingId)",
				"user_id", userID, "error", err)
		}
	}
	return updateWithStartInput(ctx, c, req, opts, in)
}

func updateWithStart(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest, opts client.StartWorkflowOptions) (EnsureSessionResult, error) {
	return updateWithStartInput(ctx, c, req, opts, Input{UserID: userID, ReturnURL: req.ReturnURL, Tag: req.Tag})
}

// Temporal drops an update the run had not yet accepted when the workflow
// task carrying it fails on the server ("unexpected workflow task failure",
// WorkflowNotReady) or when the run closes first: nothing was recorded.
// EnsureSession and Reopen then ask again from the top (what the user's
// last run holds is read anew, and a closed run leads to the next
// onboarding): a few quick retries absorb the race of a signup with a run
// that is closing. The other updates are not asked again here: one aimed
// at a run that closed must not land on the next onboarding; their callers
// get ErrTemporalUnavailable (WorkflowNotReady: ask again) or ErrNoOnboarding.
const (
	abortedUpdateRetries = 5
	abortedUpdatePause   = 50 * time.Millisecond
)

// abortedUpdate reports whether err is Temporal dropping an update before
// the run took it.
func abortedUpdate(err error) bool {
	var notReady *serviceerror.WorkflowNotReady
	var notFound *serviceerror.NotFound
	return errors.As(err, &notReady) ||
		errors.As(err, &notFound) && strings.Contains(notFound.Error(), "aborted by closing workflow")
}

// retryAborted runs call again while Temporal drops its update before the
// run took it (abortedUpdate), a few times, pausing longer each time.
func retryAborted[T any](ctx context.Context, call func() (T, error)) (T, error) {
	pause := abortedUpdatePause
	for attempt := 1; ; attempt++ {
		res, err := call()
		if err == nil || attempt > abortedUpdateRetries || !abortedUpdate(err) {
			return res, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, err
		case <-t.C:
		}
		pause *= 2
	}
}

func updateWithStartInput(ctx context.Context, c client.Client, req EnsureSessionRequest, opts client.StartWorkflowOptions, in Input) (EnsureSessionResult, error) {
	userID := in.UserID
	op := c.NewWithStartWorkflowOperation(opts, WorkflowType, in)
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: UpdateEnsureSession, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return EnsureSessionResult{}, fmt.Errorf("ensure session: %w", err)
		}
		return EnsureSessionResult{}, clientError(ctx, c, userID, "ensure session", err)
	}
	var res EnsureSessionResult
	if err := h.Get(ctx, &res); err != nil {
		if runID, ok := asClosing(err); ok {
			if runID == "" {
				runID = h.RunID()
			}
			return EnsureSessionResult{}, fmt.Errorf("ensure session: %w", &errClosing{runID: runID})
		}
		return EnsureSessionResult{}, clientError(ctx, c, userID, "ensure session", err)
	}
	return res.UsableAt(time.Now()), nil
}

// closedResult reads how the user's last onboarding (or run runID) ended,
// waiting for it to close. Only a completed
// run has a Result; a cancelled, terminated or timed-out one reads as
// CANCELLED.
func closedResult(ctx context.Context, c client.Client, userID, runID string) (Result, error) {
	var res Result
	err := c.GetWorkflow(ctx, WorkflowID(userID), runID).Get(ctx, &res)
	var appErr *temporal.ApplicationError
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &canceled) && canceled.HasDetails() && canceled.Details(&res) == nil && res.UserID != "":
		// Cancelled in Temporal: the Result (with its undelivered
		// notifications) rides in the details.
		return res, nil
	case errors.As(err, new(*temporal.CanceledError)), errors.As(err, new(*temporal.TerminatedError)),
		errors.As(err, new(*temporal.TimeoutError)), errors.As(err, &appErr):
		return Result{UserID: userID, Status: StatusCancelled, Reason: "the last onboarding ended in Temporal: " + err.Error()}, nil
	}
	return Result{}, clientError(ctx, c, userID, "read the closed onboarding", err)
}

// Adoption outcomes of Adopt.
const (
	AdoptStarted = "started" // a watching onboarding was started
	AdoptRunning = "running" // the user already had a running onboarding
	AdoptClosed  = "closed"  // the user's onboarding ended (FAILED, NOT_ELIGIBLE, …): left as it is
)

// Adopt starts a watching onboarding for a user kycflow did not onboard (a
// platform adopting kycflow with users verified before): the workflow reads
// the user and is VERIFIED without a session when Mangopay says REGULAR, and
// then watches for renewal and downgrades. returnURL (optional) lets it open
// a session at once for a user who is not verified. Idempotent: a running
// onboarding is left alone, and so is a closed one.
func Adopt(ctx context.Context, c client.Client, userID, returnURL string) (string, error) {
	if returnURL != "" {
		if err := ValidateReturnURL(returnURL); err != nil {
			return "", fmt.Errorf("adopt: %w: %w", ErrRejected, err)
		}
	}
	if running(ctx, c, userID) {
		return AdoptRunning, nil
	}
	opts := StartOptions(userID)
	opts.StaticSummary = "KYC/KYB onboarding of Mangopay user " + userID + " (adopted)"
	_, err := c.ExecuteWorkflow(ctx, opts, WorkflowType, Input{UserID: userID, ReturnURL: returnURL})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return AdoptClosed, nil
	case err != nil:
		return "", clientError(ctx, c, userID, "adopt", err)
	}
	return AdoptStarted, nil
}

// SubmitDocument sends the submit-document update to a running onboarding.
// req.IdempotencyKey, when set, is the update's ID: a retry with the same key
// (after a timeout, say) gets the first call's answer, not a second document.
func SubmitDocument(ctx context.Context, c client.Client, userID string, req SubmitDocumentRequest) (SubmitDocumentResult, error) {
	var res SubmitDocumentResult
	err := update(ctx, c, userID, UpdateSubmitDocument, req.IdempotencyKey, req, &res)
	return res, err
}

// RetryPSC sends the retry-psc update: a new link for a business's PSC
// session (REJECTED, or VALIDATED data to redo), the same one while pending.
func RetryPSC(ctx context.Context, c client.Client, userID string, req RetryPSCRequest) (PSC, error) {
	var res PSC
	err := update(ctx, c, userID, UpdateRetryPSC, "", req, &res)
	return res, err
}

// Cancel sends the cancel update to a running onboarding.
func Cancel(ctx context.Context, c client.Client, userID string, req CancelRequest) (StateView, error) {
	var res StateView
	err := update(ctx, c, userID, UpdateCancel, "", req, &res)
	return res.UsableAt(time.Now()), err
}

// Reencode asks the user's open onboarding to continue as new, so that its
// state is encoded again with the current payload key (payloadcodec: the
// first of PAYLOAD_ENCRYPTION_KEY). It returns once the run has agreed; the
// new run starts at the run's next safe point.
func Reencode(ctx context.Context, c client.Client, userID string) error {
	return update(ctx, c, userID, UpdateReencode, "", ReencodeRequest{}, nil)
}

// GetState queries the state of the user's onboarding (running or closed
// within retention).
func GetState(ctx context.Context, c client.Client, userID string) (StateView, error) {
	v, err := c.QueryWorkflow(ctx, WorkflowID(userID), "", QueryState)
	if err != nil {
		return StateView{}, clientError(ctx, c, userID, "query state", err)
	}
	var s StateView
	if err := v.Get(&s); err != nil {
		return StateView{}, fmt.Errorf("query state: decode: %w", err)
	}
	if s.Status == StatusStarting && closedRun(ctx, c, userID) {
		// A run that ended STARTING was withdrawn: Mangopay refused what
		// the platform sent. Its answer is that refusal (a 422 naming the
		// field), as the call that started it got, not a STARTING with no
		// reason until retention ends.
		if res, err := closedResult(ctx, c, userID, ""); err == nil && res.Rejected != nil {
			return StateView{}, fmt.Errorf("query state: %w: %w", ErrRejected, res.Rejected)
		}
	}
	// The workflow's clock in a query is the time of its last task, maybe
	// days ago: a link that expired since is dropped here.
	return s.UsableAt(time.Now()), nil
}

// GetTimeline queries the audit trail of the user's onboarding (running or
// closed within retention): its latest run, which carries the trail of the
// runs it continued from.
func GetTimeline(ctx context.Context, c client.Client, userID string) (TimelineView, error) {
	v, err := c.QueryWorkflow(ctx, WorkflowID(userID), "", QueryTimeline)
	if err != nil {
		return TimelineView{}, clientError(ctx, c, userID, "query timeline", err)
	}
	var t TimelineView
	if err := v.Get(&t); err != nil {
		return TimelineView{}, fmt.Errorf("query timeline: decode: %w", err)
	}
	if t.Entries == nil {
		t.Entries = []audit.Entry{}
	}
	return t, nil
}

func update(ctx context.Context, c client.Client, userID, name, updateID string, arg, out any) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID: updateID, WorkflowID: WorkflowID(userID), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return clientError(ctx, c, userID, name, err)
	}
	if err := h.Get(ctx, out); err != nil {
		return clientError(ctx, c, userID, name, err)
	}
	return nil
}

// clientError classifies Temporal client errors into the sentinels above,
// keeping the original for errors.As. A deadline is told apart by asking
// Temporal, briefly, whether the onboarding runs: if it does, Temporal is
// there and the onboarding is merely slow to answer.
func clientError(ctx context.Context, c client.Client, userID, op string, err error) error {
	var notFound *serviceerror.NotFound
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &notFound):
		return fmt.Errorf("%s: %w: %w", op, ErrNoOnboarding, err)
	case errors.As(err, &unavailable):
		return fmt.Errorf("%s: %w: %w", op, ErrTemporalUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &deadline):
		if running(context.WithoutCancel(ctx), c, userID) {
			return fmt.Errorf("%s: %w: %w", op, ErrStillWorking, err)
		}
		return fmt.Errorf("%s: %w: %w", op, ErrTemporalUnavailable, err)
	case errors.As(err, new(*serviceerror.WorkflowNotReady)):
		// Temporal dropped the update before the run accepted it (a
		// workflow task failed): nothing was recorded, so it is not "still
		// working" on it; asking again is safe.
		return fmt.Errorf("%s: %w: %w", op, ErrTemporalUnavailable, err)
	case errors.As(err, &appErr) && strings.HasPrefix(appErr.Message(), busyRejection):
		// The run could not take the request now (and recorded nothing):
		// asking again is safe.
		return fmt.Errorf("%s: %w: %s", op, ErrStillWorking, appErr.Message())
	case errors.As(err, &appErr) && appErr.Type() == ErrTypeRequestRefused:
		// Mangopay refused what the caller sent: the field and Mangopay's
		// words, for the caller to correct.
		rerr := &RequestError{Message: appErr.Message()}
		if appErr.HasDetails() {
			_ = appErr.Details(rerr)
		}
		return fmt.Errorf("%s: %w: %w", op, ErrRejected, rerr)
	case errors.As(err, &appErr):
		// Validator rejections and handler errors come back as application errors.
		return fmt.Errorf("%s: %w: %s", op, ErrRejected, appErr.Message())
	}
	return fmt.Errorf("%s: %w", op, err)
}

// running reports whether the user's onboarding is running, asking Temporal
// for at most two seconds.
// closedRun reports whether the user's last run is known to be closed (not
// on an error: reading a running run's result would wait for its end).
func closedRun(ctx context.Context, c client.Client, userID string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := c.DescribeWorkflowExecution(ctx, WorkflowID(userID), "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

func running(ctx context.Context, c client.Client, userID string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := c.DescribeWorkflowExecution(ctx, WorkflowID(userID), "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}
