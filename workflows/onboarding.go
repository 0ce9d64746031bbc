package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/mangopay"
)

// Change IDs (workflow.GetVersion) since release 0.1.0, each never reused
// or renamed (docs/workflow-versioning.md).
const (
	// changeQuickCalls: the Mangopay calls a person waits on (a run's
	// preflight read and first session, a session the platform or an
	// operator asks for) run first inside the workflow task, as a local
	// activity, and go on as the activity only when that one try fails
	// (quick.go).
	changeQuickCalls = "quick-calls"
)

// a is how the workflow names activities; the worker registers the real one.
var a *activities.Activities

// KYCOnboarding runs one user's hosted KYC/KYB onboarding: preflight, IDV
// session, waiting on webhooks (as hints), reconciliation polls and the 7-day
// expiry, manual review, retries after refusals, new sessions after
// downgrades, and extra KYC documents. It completes only when the onboarding
// is over (FAILED, NOT_ELIGIBLE, CANCELLED); a VERIFIED user stays watched
// for downgrades, continuing as new to keep history bounded.
func KYCOnboarding(ctx workflow.Context, in Input) (Result, error) {
	if in.UserID == "" {
		return Result{}, temporal.NewNonRetryableApplicationError("UserId is required", "InvalidInput", nil)
	}
	w := &onboarding{cfg: in.Config.withDefaults(), rawCfg: in.Config, logger: workflow.GetLogger(ctx)}
	w.st = in.State
	if w.st == nil {
		w.st = &State{UserID: in.UserID, Status: StatusStarting, ReturnURL: in.ReturnURL, Tag: in.Tag, Timeline: in.PriorTimeline,
			Refusals: in.Refusals, Attempt: in.Attempt}
		// The previous run's held notifications go out first (run's
		// startSender), keeping their ids: a platform that had one drops
		// the duplicate.
		w.st.Outbox = append(w.st.Outbox, in.Carried...)
	}
	if w.st.OnboardingID == "" {
		w.st.OnboardingID = trailID(ctx, w.st.Timeline)
	}
	w.logger = log.With(w.logger, "user_id", w.st.UserID)
	if err := w.register(ctx); err != nil {
		return Result{}, err
	}
	return w.run(ctx)
}

type onboarding struct {
	cfg        Config
	rawCfg     Config // passed on unchanged at continue-as-new
	st         *State
	logger     log.Logger
	events     workflow.ReceiveChannel
	creating   bool                // a session is being created
	stopCreate workflow.CancelFunc // cancels a session creation (a final status); it then looks up what Mangopay made
	reencode   bool                // an operator asked for a continue-as-new (UpdateReencode)
	waiting    bool                // the main loop waits (waitUntil), in no activity
	stopLoop   workflow.CancelFunc // cancels the loop's calls (a final status)
	runCtx     workflow.Context    // the run's context, which only Temporal cancels
	sending    bool                // the outbox sender runs
	released   bool                // a new signup or reopen ends finish's wait for deliveries (releaseForNext)
	wake       workflow.Settable
	saUserSet  bool
	// stops are the running update handlers finish may cancel (stoppable).
	stops    []handlerStop
	nextStop int
	// The pending timer of waitUntil, kept across wake-ups.
	timer       workflow.Future
	timerAt     time.Time
	cancelTimer workflow.CancelFunc
	// outboxSpans are the trace spans of the notifications queued, by
	// event id (rememberSpan): never state, never replayed.
	outboxSpans map[string]any
	// The timer of the held hints (hintTimer), kept across wake-ups.
	hintT      workflow.Future
	hintAt     time.Time
	cancelHint workflow.CancelFunc
	// quick is the run's changeQuickCalls decision (quickCalls): 0 not
	// taken yet, 1 the activities only, 2 the quick path.
	quick int
}

func (w *onboarding) register(ctx workflow.Context) error {
	w.events = workflow.GetSignalChannel(ctx, SignalMangopayEvent)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (StateView, error) { return w.view(workflow.Now(ctx)), nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryTimeline, func() (TimelineView, error) { return w.timelineView(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateEnsureSession, w.ensureSession,
		workflow.UpdateHandlerOptions{Validator: w.validateEnsureSession}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSubmitDocument, w.submitDocument,
		workflow.UpdateHandlerOptions{Validator: w.validateSubmitDocument}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRetryPSC, w.retryPSC,
		workflow.UpdateHandlerOptions{Validator: w.validateRetryPSC}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateResendNotifications, w.resendNotifications,
		workflow.UpdateHandlerOptions{Validator: validateResend}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateReencode, w.reencodeState); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, w.cancel,
		workflow.UpdateHandlerOptions{Validator: validateCancel})
}

func (w *onboarding) run(ctx workflow.Context) (Result, error) {
	w.startSender(ctx) // notifications carried over from the previous run
	// The loop's own Mangopay calls run on lctx, which a final status
	// cancels (stopLoop): a cancel that lands while a read retries through
	// an outage must not hold the run's completion until Mangopay answers.
	lctx, stop := workflow.WithCancel(ctx)
	w.runCtx, w.stopLoop = ctx, stop
	// Events carried over from the previous run come first.
	for len(w.st.PendingEvents) > 0 {
		ev := w.st.PendingEvents[0]
		w.st.PendingEvents = w.st.PendingEvents[1:]
		w.handleEvent(lctx, ev)
	}
	if w.st.Status == StatusStarting && w.st.AccessDenied == "" {
		// A signup waits for the preflight and the session it leads to.
		// Starts no one waits on (an adoption, the bridge's restart after a
		// downgrade) take the same path: the same calls, made in the task.
		w.preflight(waitedOn(withCause(lctx, audit.Cause{Kind: audit.CauseWorkflow, Action: "start"})))
	}
	for {
		switch {
		case ctx.Err() != nil:
			// Cancelled from Temporal (Web UI, CLI): record it, then stop.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			dctx = withCause(dctx, audit.Cause{Kind: audit.CauseTemporal, Action: "cancel"})
			w.setStatus(dctx, StatusCancelled, "the workflow was cancelled in Temporal")
			res, _ := w.finish(dctx)
			// The Result rides in the cancellation's details: its
			// Undelivered events are what `worker notifications` re-sends.
			return res, temporal.NewCanceledError(res)
		case w.withdrawn():
			return w.withdraw(ctx)
		case w.st.Status.Final():
			return w.finish(ctx)
		case w.st.AccessDenied != "" && !w.accessWaitNeeded():
			w.accessGranted(lctx) // the wait became moot (a late outcome, say)
		case w.st.AccessDenied != "":
			// Mangopay denies kycflow access (401, 403): the loop waits here,
			// outside session creation, so that a wait of weeks continues
			// as new like any other.
			if w.shouldContinueAsNew(ctx) && w.readyToContinueAsNew(ctx) {
				return Result{}, w.continueAsNew(ctx)
			}
			if what := "retry: Mangopay denies kycflow access"; w.waitUntil(lctx, w.st.AccessRetryAt, what) {
				w.retryAfterAccessDenied(scheduled(lctx, what))
			}
		case w.sessionWanted():
			// Before continue-as-new: an ensure-session may be waiting for it.
			w.openWantedSession(lctx)
		case w.shouldContinueAsNew(ctx) && w.readyToContinueAsNew(ctx):
			return Result{}, w.continueAsNew(ctx)
		case w.st.Status == StatusAwaitingUser || w.st.Status == StatusInReview:
			w.waitPending(lctx)
		case w.st.Status == StatusAwaitingPSCs:
			if what := "reconcile PSC sessions"; w.waitUntil(lctx, w.st.NextReconcileAt, what) {
				_ = w.checkPSCs(scheduled(lctx, what))
				w.advanceReconcile(lctx)
			}
		case w.st.Status == StatusRenewal:
			if at, what := w.nextRenewalEvent(); w.waitUntil(lctx, at, what) {
				w.renewalTick(scheduled(lctx, what))
			}
		case w.st.Status == StatusRefused:
			if what := "retry after refusal"; w.waitUntil(lctx, w.st.RetryAt, what) {
				w.createSession(scheduled(lctx, what))
			}
		case w.st.Status == StatusVerified && !w.st.RenewalNoticeAt.IsZero():
			// The deadline on record comes within its 90 days' notice:
			// the regulatory status says whether it was moved or is due,
			// USER_KYC_RENEWAL_REQUIRED lost or not.
			if what := "KYC renewal notice"; w.waitUntil(lctx, w.st.RenewalNoticeAt, what) {
				w.st.RenewalNoticeAt = time.Time{}
				w.refreshRenewal(scheduled(lctx, what))
			}
		default: // VERIFIED, EXPIRED: wait for webhooks or the platform
			w.waitUntil(lctx, time.Time{}, "")
		}
	}
}

// sessionWanted reports whether the loop must open a new attempt now: after a
// downgrade, or when the user is back (ensure-session) after an expiry or a
// refusal.
//
// WantSession in AWAITING_USER is a user back after the session's 7 days
// (ensure-session in the expiry grace hour): the session is re-read and, if
// Mangopay still has it PENDING, replaced, so that an expired link is never
// handed out.
func (w *onboarding) sessionWanted() bool {
	return w.st.Status == StatusOutOfDate ||
		w.st.WantSession && (w.st.Status == StatusExpired || w.st.Status == StatusRefused || w.st.Status == StatusRenewal ||
			w.st.Status == StatusAwaitingUser)
}

// openWantedSession opens the attempt sessionWanted asks for. A session past
// its 7 days is re-read first: an outcome reached in its last minutes wins
// over a new session.
func (w *onboarding) openWantedSession(ctx workflow.Context) {
	if c := w.st.WantCause; c != nil && w.st.WantSession {
		ctx = withCause(ctx, *c) // the call that asked for it
	} else if w.st.Status == StatusOutOfDate {
		ctx = withCause(ctx, audit.Cause{Kind: audit.CauseWorkflow, Action: "new session after a downgrade"})
	}
	w.st.WantCause = nil
	if w.st.Status == StatusAwaitingUser && w.st.Session != nil {
		if res, ok := w.readSession(ctx); ok {
			w.applySession(ctx, res)
		}
		if w.st.Status != StatusAwaitingUser && !w.sessionWanted() {
			w.st.WantSession = false // an outcome came: nothing to open
			return
		}
		if w.st.Status == StatusAwaitingUser &&
			mangopay.IdentityVerificationStatus(w.st.Session.Status) == mangopay.IdentityVerificationPending {
			// Mangopay still has it PENDING past its 7 days: the user
			// submitted it and its outcome is on its way (an unsubmitted
			// session expires on time). A second PENDING session would be
			// one too many; its link is past ExpiresAt, so none is shown,
			// and the outcome (or Mangopay's expiry) decides what follows.
			w.st.WantSession = false
			w.setStatus(ctx, StatusAwaitingUser, "the session is past its 7 days but Mangopay still has it pending: its outcome is awaited")
			return
		}
	}
	w.createSession(ctx)
}

// preflight reads the user and decides whether a session makes sense.
func (w *onboarding) preflight(ctx workflow.Context) {
	defer w.scopeAfterPreflight(ctx)
	var u activities.ReadUserResult
	err := w.mangopayCall(ctx, accessDeniedStops(mangopayCtx(ctx, "read user (SCA view)")), a.ReadUser, activities.ReadUserInput{UserID: w.st.UserID}, &u)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if errType(err) == activities.ErrTypeAccessDenied {
			w.accessDenied(ctx, err) // ensure-session answers at once, with the reason
			return
		}
		if isUserNotFound(err) {
			// A typo in the platform's call, not Mangopay's word on a user.
			w.refuseRequest(ctx, &RequestError{Field: "UserId", Message: "the Mangopay user " + w.st.UserID + " does not exist"})
			return
		}
		if rerr, ok := requestErrorOf(err); ok {
			w.refuseRequest(ctx, rerr)
			return
		}
		w.setStatus(ctx, StatusFailed, "reading the Mangopay user failed: "+errMessage(err))
		return
	}
	if ctx.Err() != nil {
		return // cancelled while the read ran in the workflow task (mangopayCall)
	}
	w.accessGranted(ctx)
	w.st.UserType = u.PersonType
	if u.PersonType == string(mangopay.PersonLegal) && u.LegalPersonType != "" {
		w.st.UserType = u.LegalPersonType
	}
	switch {
	case u.UserCategory != string(mangopay.UserCategoryOwner):
		w.setStatus(ctx, StatusNotEligible, "only OWNER users can be verified; this user is "+u.UserCategory)
	case u.LegalPersonType == string(mangopay.LegalPartnership):
		w.setStatus(ctx, StatusNotEligible, "Mangopay's hosted verification does not support PARTNERSHIP legal users")
	case u.KYCLevel == string(mangopay.KYCLevelRegular):
		w.setStatus(ctx, StatusVerified, "already KYC verified (KYCLevel REGULAR)")
		// Every OWNER has a renewal deadline: one within its 90 days'
		// notice makes the onboarding RENEWAL_REQUIRED now, whether or not
		// USER_KYC_RENEWAL_REQUIRED came before the onboarding started.
		w.renewalRequired(ctx)
	default:
		w.createSession(ctx)
	}
}

// createSession opens the next attempt.
func (w *onboarding) createSession(ctx workflow.Context) {
	w.st.WantSession = false // taken care of, whatever the outcome
	if w.st.ReturnURL == "" {
		// Only an ensure-session call can tell where to send the user back.
		w.setStatus(ctx, StatusExpired, "waiting for ensure-session with a ReturnUrl")
		return
	}
	w.st.Rejected = nil // a new request: the last refusal is answered
	w.creating = true
	defer func() { w.creating = false }()
	if w.reusePendingSession(ctx) {
		return
	}
	info := workflow.GetInfo(ctx)
	attempt := w.st.Attempt + 1
	in := activities.CreateSessionInput{
		UserID: w.st.UserID, ReturnURL: w.st.ReturnURL, Tag: w.st.Tag, SessionLanguage: w.st.SessionLanguage,
		// Stable across activity retries and worker crashes, distinct per
		// attempt and per onboarding.
		IdempotencyKey: mangopay.DeriveIdempotencyKey(info.WorkflowExecution.ID, info.FirstRunID, "idv-session", strconv.Itoa(attempt)),
	}
	if try := w.st.AccessTries + 1; try > 1 {
		// Mangopay answers a key with its first response for 24 hours, the
		// denial included, and a denied call created nothing: a new key.
		in.IdempotencyKey = mangopay.DeriveIdempotencyKey(in.IdempotencyKey, "access-retry", strconv.Itoa(try))
	}
	if n := w.st.RequestsRefused; n > 0 {
		// The corrected request: a new key, or Mangopay answers the refusal again.
		in.IdempotencyKey = mangopay.DeriveIdempotencyKey(in.IdempotencyKey, "refused", strconv.Itoa(n))
	}
	// A Redis outage never fails (and so never repeats) the Mangopay call:
	// the index is retried on its own.
	in.IndexBestEffort = true
	var res activities.CreateSessionResult
	// Not on the loop's context but on one of its own: a final status
	// (or a cancel in Temporal) stops a creation retrying through an
	// outage, after its running attempt ends (waitsForCancel); what
	// Mangopay made is then looked up by the idempotency key and recorded
	// (keepCreatedOnCancel), so the run completes within its bound and no
	// session of the user is unknown to it.
	cctx := ctx
	if w.runCtx != nil {
		cctx = w.runCtx
	}
	cctx, w.stopCreate = workflow.WithCancel(cctx)
	defer func() { w.stopCreate(); w.stopCreate = nil }()
	err := w.mangopayCall(ctx, waitsForCancel(accessDeniedStops(mangopayCtx(cctx, fmt.Sprintf("create IDV session (attempt %d)", attempt)))), a.CreateSession, in, &res)
	if errType(err) == activities.ErrTypeAccessDenied && ctx.Err() == nil {
		if !w.st.Status.Final() {
			w.accessDenied(ctx, err)
			w.st.WantSession = true // still owed once Mangopay lets kycflow in
		}
		return
	}
	if err == nil {
		w.accessGranted(ctx)
	}
	if err == nil && w.st.Status.Final() {
		// Cancelled meanwhile: keep what Mangopay created, change nothing else.
		now := workflow.Now(ctx)
		w.st.History = append(w.st.History, AttemptRecord{
			Attempt: attempt, IdvSessionID: res.SessionID, Status: res.Status, CreatedAt: res.CreationDate, EndedAt: now,
		})
		return
	}
	if err != nil {
		if ctx.Err() != nil || cctx.Err() != nil {
			w.keepCreatedOnCancel(ctx, in, attempt)
			return
		}
		if errType(err) == activities.ErrTypeNotEligible {
			w.setStatus(ctx, StatusNotEligible, errMessage(err))
			return
		}
		if rerr, ok := requestErrorOf(err); ok {
			// A field of the platform's request: its 4xx, not the user's end.
			w.refuseRequest(ctx, rerr)
			return
		}
		w.setStatus(ctx, StatusFailed, "Mangopay refused to create an IDV session: "+errMessage(err))
		return
	}
	now := workflow.Now(ctx)
	w.archiveSession(now)
	created := res.CreationDate
	if created.IsZero() {
		created = now
	}
	w.st.Attempt = attempt
	w.st.Session = &Session{
		IdvSessionID: res.SessionID, HostedURL: res.HostedURL, Status: res.Status,
		CreatedAt: created, ExpiresAt: created.Add(w.cfg.SessionLifetime),
	}
	w.st.ReviewSince = nil
	w.st.ReconcileStep = 0
	w.st.NextReconcileAt = now.Add(w.cfg.ReconcileSchedule[0])
	w.sessionOpen(ctx)
	if !res.Indexed {
		w.indexSession(ctx, res.SessionID)
	}
}

// waitsForCancel makes a cancel from Temporal wait for the running attempt
// of the activity to end, so that what it did at Mangopay is known before
// the onboarding ends.
func waitsForCancel(ctx workflow.Context) workflow.Context {
	opts := workflow.GetActivityOptions(ctx)
	opts.WaitForCancellation = true
	return workflow.WithActivityOptions(ctx, opts)
}

// keepCreatedOnCancel: cancelled from Temporal while a session was being
// created. Mangopay may have created it with its answer lost on the way (a
// 5xx or a timeout after the commit, the attempt retried): its stored
// response under the creation's idempotency key says, and a session found
// is kept in the history of attempts, as a cancel by update keeps it, so
// that no session of the user at Mangopay is unknown to the onboarding.
func (w *onboarding) keepCreatedOnCancel(ctx workflow.Context, in activities.CreateSessionInput, attempt int) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: MangopayActivityTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
		Summary:             fmt.Sprintf("find the IDV session of a cancelled creation (attempt %d)", attempt),
	})
	var found activities.FindCreatedSessionResult
	err := workflow.ExecuteActivity(dctx, a.FindCreatedSession,
		activities.FindCreatedSessionInput{UserID: w.st.UserID, IdempotencyKey: in.IdempotencyKey}).Get(dctx, &found)
	if err != nil {
		w.logger.Warn("finding the session of a cancelled creation failed", "error", errMessage(err))
		return
	}
	if !found.Found || slices.ContainsFunc(w.st.History, func(r AttemptRecord) bool { return r.IdvSessionID == found.Session.SessionID }) {
		return
	}
	w.st.History = append(w.st.History, AttemptRecord{
		Attempt: attempt, IdvSessionID: found.Session.SessionID, Status: found.Session.Status,
		CreatedAt: found.Session.CreationDate, EndedAt: workflow.Now(dctx),
	})
}

// sessionOpen sets the status of an open session: AWAITING_USER, or, for a
// renewal session (the user still REGULAR), RENEWAL_REQUIRED with the
// session's link: a REGULAR user is VERIFIED or RENEWAL_REQUIRED whatever
// its renewal sessions do.
func (w *onboarding) sessionOpen(ctx workflow.Context) {
	if d := w.st.RenewalDeadline; d != nil {
		w.setStatus(ctx, StatusRenewal, "renewal session open: the user renews with its HostedUrl before "+d.Format(time.RFC3339))
		return
	}
	w.setStatus(ctx, StatusAwaitingUser, "")
}

// reusePendingSession: the current session is still PENDING within its
// lifetime (the user became REGULAR by other means while it was open, and a
// renewal or a downgrade now asks for a session): it is the one to use,
// never a second PENDING session for the user.
func (w *onboarding) reusePendingSession(ctx workflow.Context) bool {
	s := w.st.Session
	if s == nil || s.Status != string(mangopay.IdentityVerificationPending) || !workflow.Now(ctx).Before(s.ExpiresAt) {
		return false
	}
	res, ok := w.readSession(ctx)
	if !ok || res.Status != string(mangopay.IdentityVerificationPending) || w.st.Status.Final() {
		return false
	}
	w.st.ReviewSince = nil
	w.sessionOpen(ctx)
	return true
}

// accessDeniedStops makes a Mangopay 401/403 end the activity at once
// instead of retrying it: the main loop waits for access (accessDenied), and
// can continue as new meanwhile, which an activity retrying for weeks would
// not let it.
func accessDeniedStops(ctx workflow.Context) workflow.Context {
	opts := workflow.GetActivityOptions(ctx)
	rp := *opts.RetryPolicy
	rp.NonRetryableErrorTypes = append(slices.Clone(rp.NonRetryableErrorTypes), activities.ErrTypeAccessDenied)
	opts.RetryPolicy = &rp
	return workflow.WithActivityOptions(ctx, opts)
}

// Pauses between tries while Mangopay denies kycflow access.
const (
	accessFirstPause = time.Minute
	accessMaxPause   = time.Hour
)

// accessDenied records that Mangopay denies kycflow access (401 after
// re-authentication, 403: a credential rollout, an IP allowlist, hosted KYC
// not activated yet): the platform's to fix, never the user's failure.
// ensure-session answers with the reason, KycAttention says it, and the
// loop tries again after a growing pause.
func (w *onboarding) accessDenied(ctx workflow.Context, err error) {
	w.st.AccessTries++
	pause := accessFirstPause
	for i := 1; i < w.st.AccessTries && pause < accessMaxPause; i++ {
		pause *= 2
	}
	pause = min(pause, accessMaxPause)
	w.st.AccessRetryAt = workflow.Now(ctx).Add(pause)
	first := w.st.AccessDenied == ""
	w.st.AccessDenied = "waiting: Mangopay denies kycflow access (" + errMessage(err) + ")"
	w.logger.Error("Mangopay denies kycflow access: waiting before the next try", "try", w.st.AccessTries, "pause", pause.String())
	if first {
		w.upsertVisibility(ctx) // KycAttention and the Web UI's details
	} else {
		workflow.SetCurrentDetails(ctx, w.details(ctx))
	}
}

// accessGranted ends a wait for access: Mangopay answered.
func (w *onboarding) accessGranted(ctx workflow.Context) {
	if w.st.AccessDenied == "" {
		return
	}
	w.st.AccessDenied, w.st.AccessTries, w.st.AccessRetryAt = "", 0, time.Time{}
	w.logger.Info("Mangopay lets kycflow in again")
	w.upsertVisibility(ctx)
}

// accessWaitNeeded: what the denied call was for is still to do.
func (w *onboarding) accessWaitNeeded() bool {
	return w.st.Status == StatusStarting || w.sessionWanted()
}

// retryAfterAccessDenied tries the denied call again.
func (w *onboarding) retryAfterAccessDenied(ctx workflow.Context) {
	if w.st.Status == StatusStarting && w.st.UserType == "" { // the user was never read
		w.preflight(ctx)
		return
	}
	if w.st.Status == StatusStarting {
		w.createSession(ctx) // read and eligible: its first session was denied
		w.scopeAfterPreflight(ctx)
		return
	}
	w.openWantedSession(ctx)
}

// indexSession records session→user in Redis for webhook routing. It runs
// after the session is the onboarding's, so a Redis outage delays only the
// index (the bridge falls back to reading Mangopay meanwhile).
func (w *onboarding) indexSession(ctx workflow.Context, sessionID string) {
	ictx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		Summary:             "index IDV session for webhook routing",
	})
	err := workflow.ExecuteActivity(ictx, a.IndexSession, activities.IndexSessionInput{SessionID: sessionID, UserID: w.st.UserID}).Get(ctx, nil)
	if err != nil && ctx.Err() == nil {
		w.logger.Warn("indexing the IDV session failed", "idv_session_id", sessionID, "error", errMessage(err))
	}
}

// archiveSession moves the current session into the history of attempts.
func (w *onboarding) archiveSession(now time.Time) {
	s := w.st.Session
	if s == nil {
		return
	}
	w.st.History = append(w.st.History, AttemptRecord{
		Attempt: w.st.Attempt, IdvSessionID: s.IdvSessionID, Status: s.Status,
		Reasons: reasonTypes(s.Checks), CreatedAt: s.CreatedAt, EndedAt: now,
	})
	w.st.Session = nil
}

// MangopayActivityTimeout bounds one try of a Mangopay activity: it may make
// three HTTP calls (a token, the call, the call again after a refresh on
// 401), each bounded by the client's timeout.
const MangopayActivityTimeout = 3*mangopay.DefaultTimeout + 10*time.Second

// mangopayCtx sets the options of Mangopay activities: Temporal retries 5xx,
// 429 and network errors without limit (the onboarding waits for Mangopay);
// the activities mark 4xx answers non-retryable.
func mangopayCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: MangopayActivityTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		},
		Summary: summary,
	})
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func errMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
