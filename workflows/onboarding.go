package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/samber/lo"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
)

// Change IDs of workflow.GetVersion: each names a change to the workflow's
// commands that running onboardings must replay around.
const (
	// changeDowngradeRereadsSession: a USER_KYC_LIGHT downgrade re-reads the
	// session before archiving it.
	changeDowngradeRereadsSession = "downgrade-rereads-session"
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
		w.st = &State{UserID: in.UserID, Status: StatusStarting, ReturnURL: in.ReturnURL, Tag: in.Tag}
	}
	w.logger = log.With(w.logger, "user_id", w.st.UserID)
	if err := w.register(ctx); err != nil {
		return Result{}, err
	}
	return w.run(ctx)
}

type onboarding struct {
	cfg       Config
	rawCfg    Config // passed on unchanged at continue-as-new
	st        *State
	logger    log.Logger
	events    workflow.ReceiveChannel
	creating  bool // a session is being created
	notifying int  // notifications in flight
	wake      workflow.Settable
	saUserSet bool
	// The pending timer of waitUntil, kept across wake-ups.
	timer       workflow.Future
	timerAt     time.Time
	cancelTimer workflow.CancelFunc
}

func (w *onboarding) register(ctx workflow.Context) error {
	w.events = workflow.GetSignalChannel(ctx, SignalMangopayEvent)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (StateView, error) { return w.view(), nil }); err != nil {
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
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, w.cancel,
		workflow.UpdateHandlerOptions{Validator: validateCancel})
}

func (w *onboarding) run(ctx workflow.Context) (Result, error) {
	// Events carried over from the previous run come first.
	for len(w.st.PendingEvents) > 0 {
		ev := w.st.PendingEvents[0]
		w.st.PendingEvents = w.st.PendingEvents[1:]
		w.handleEvent(ctx, ev)
	}
	if w.st.Status == StatusStarting {
		w.preflight(ctx)
	}
	for {
		switch {
		case ctx.Err() != nil:
			// Cancelled from Temporal (Web UI, CLI): record it, then stop.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			w.setStatus(dctx, StatusCancelled, "the workflow was cancelled in Temporal")
			res, _ := w.finish(dctx)
			return res, temporal.NewCanceledError()
		case w.st.Status.Final():
			return w.finish(ctx)
		case w.shouldContinueAsNew(ctx):
			return Result{}, w.continueAsNew(ctx)
		case w.st.Status == StatusOutOfDate,
			w.st.WantSession && (w.st.Status == StatusExpired || w.st.Status == StatusRefused):
			w.createSession(ctx)
		case w.st.Status == StatusAwaitingUser || w.st.Status == StatusInReview:
			w.waitPending(ctx)
		case w.st.Status == StatusRefused:
			if w.waitUntil(ctx, w.st.RetryAt, "retry after refusal") {
				w.createSession(ctx)
			}
		default: // VERIFIED, EXPIRED: wait for webhooks or the platform
			w.waitUntil(ctx, time.Time{}, "")
		}
	}
}

// preflight reads the user and decides whether a session makes sense.
func (w *onboarding) preflight(ctx workflow.Context) {
	var u activities.ReadUserResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read user (SCA view)"), a.ReadUser, activities.ReadUserInput{UserID: w.st.UserID}).Get(ctx, &u)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if errType(err) == activities.ErrTypeUserNotFound {
			w.setStatus(ctx, StatusNotEligible, "the Mangopay user does not exist")
			return
		}
		w.setStatus(ctx, StatusFailed, "reading the Mangopay user failed: "+errMessage(err))
		return
	}
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
	w.creating = true
	defer func() { w.creating = false }()
	info := workflow.GetInfo(ctx)
	attempt := w.st.Attempt + 1
	in := activities.CreateSessionInput{
		UserID: w.st.UserID, ReturnURL: w.st.ReturnURL, Tag: w.st.Tag,
		// Stable across activity retries and worker crashes, distinct per
		// attempt and per onboarding.
		IdempotencyKey: mangopay.DeriveIdempotencyKey(info.WorkflowExecution.ID, info.FirstRunID, "idv-session", strconv.Itoa(attempt)),
	}
	var res activities.CreateSessionResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, fmt.Sprintf("create IDV session (attempt %d)", attempt)), a.CreateSession, in).Get(ctx, &res)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if errType(err) == activities.ErrTypeNotEligible {
			w.setStatus(ctx, StatusNotEligible, errMessage(err))
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
	w.setStatus(ctx, StatusAwaitingUser, "")
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

// waitPending waits on a pending session: webhooks, the next reconciliation
// poll or the expiry, whichever comes first.
func (w *onboarding) waitPending(ctx workflow.Context) {
	deadline, summary := w.st.NextReconcileAt, "reconcile session"
	if s := w.st.Session; w.st.Status == StatusAwaitingUser && s != nil && !s.ExpiresAt.After(deadline) {
		deadline, summary = s.ExpiresAt, "7-day session expiry"
	}
	if !w.waitUntil(ctx, deadline, summary) {
		return
	}
	w.reconcile(ctx)
}

// waitUntil blocks until a webhook arrives (handled here), a handler pokes
// the loop, or deadline passes (zero: no deadline). It reports whether the
// deadline passed. A timer still pending for the same deadline is reused, so
// a burst of webhooks does not start a timer each.
func (w *onboarding) waitUntil(ctx workflow.Context, deadline time.Time, summary string) bool {
	if !deadline.IsZero() && !deadline.After(workflow.Now(ctx)) {
		w.dropTimer()
		return true
	}
	if w.timer == nil || !w.timerAt.Equal(deadline) {
		w.dropTimer()
		if !deadline.IsZero() {
			tctx, cancel := workflow.WithCancel(ctx)
			w.timer = workflow.NewTimerWithOptions(tctx, deadline.Sub(workflow.Now(ctx)), workflow.TimerOptions{Summary: summary})
			w.timerAt, w.cancelTimer = deadline, cancel
		}
	}
	sel := workflow.NewSelector(ctx)
	var ev MangopayEvent
	received, fired := false, false
	sel.AddReceive(w.events, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &ev)
		received = true
	})
	if w.timer != nil {
		sel.AddFuture(w.timer, func(f workflow.Future) {
			fired = f.Get(ctx, nil) == nil
			w.timer = nil
		})
	}
	wakeF, wake := workflow.NewFuture(ctx)
	w.wake = wake
	sel.AddFuture(wakeF, func(workflow.Future) {})
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	w.wake = nil
	if received {
		w.handleEvent(ctx, ev)
	}
	return fired
}

// dropTimer cancels the pending timer, if any.
func (w *onboarding) dropTimer() {
	if w.timer != nil {
		w.cancelTimer()
		w.timer = nil
	}
}

// poke wakes the main loop if it is waiting.
func (w *onboarding) poke() {
	if w.wake != nil {
		w.wake.SetValue(nil)
		w.wake = nil
	}
}

// reconcile re-reads the session when no webhook came.
func (w *onboarding) reconcile(ctx workflow.Context) {
	if res, ok := w.readSession(ctx); ok {
		w.applySession(ctx, res)
	}
	if w.st.Status == StatusAwaitingUser || w.st.Status == StatusInReview {
		w.st.ReconcileStep++
		delay := w.cfg.ReconcileSchedule[min(w.st.ReconcileStep, len(w.cfg.ReconcileSchedule)-1)]
		if w.st.Status == StatusInReview {
			delay = w.cfg.ReviewReconcileInterval
		}
		w.st.NextReconcileAt = workflow.Now(ctx).Add(delay)
		workflow.SetCurrentDetails(ctx, w.details(ctx))
	}
}

func (w *onboarding) readSession(ctx workflow.Context) (activities.GetSessionResult, bool) {
	var res activities.GetSessionResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read IDV session"), a.GetSession,
		activities.GetSessionInput{SessionID: w.st.Session.IdvSessionID}).Get(ctx, &res)
	if err != nil {
		w.logger.Warn("reading the IDV session failed", "idv_session_id", w.st.Session.IdvSessionID, "error", errMessage(err))
		return res, false
	}
	return res, true
}

// applySession acts on what Mangopay says of the current session.
func (w *onboarding) applySession(ctx workflow.Context, res activities.GetSessionResult) {
	s := w.st.Session
	s.Status, s.Checks = res.Status, res.Checks
	now := workflow.Now(ctx)
	switch mangopay.IdentityVerificationStatus(res.Status) {
	case mangopay.IdentityVerificationPending:
		if !now.Before(s.ExpiresAt) {
			w.setStatus(ctx, StatusExpired, "the session was not submitted within its lifetime")
		}
	case mangopay.IdentityVerificationExpired, mangopay.IdentityVerificationTimeout:
		w.setStatus(ctx, StatusExpired, "the session expired before it was submitted")
	case mangopay.IdentityVerificationReview:
		if w.st.Status != StatusInReview {
			w.st.ReviewSince = &now
			w.st.NextReconcileAt = now.Add(w.cfg.ReviewReconcileInterval)
			w.setStatus(ctx, StatusInReview, "")
		}
	case mangopay.IdentityVerificationValidated:
		w.st.Refusals = 0
		w.setStatus(ctx, StatusVerified, "")
	case mangopay.IdentityVerificationRefused, mangopay.IdentityVerificationError:
		if w.st.Status != StatusRefused && w.st.Status != StatusFailed {
			w.refused(ctx)
		}
	case mangopay.IdentityVerificationOutOfDate:
		if w.st.Status != StatusOutOfDate {
			w.st.Refusals = 0
			w.setStatus(ctx, StatusOutOfDate, "KYC downgraded by Mangopay: a new session is needed")
		}
	default:
		w.logger.Warn("unknown IDV session status: waiting", "idv_session_id", s.IdvSessionID, "status", res.Status)
	}
}

// refused decides between another attempt and FAILED.
func (w *onboarding) refused(ctx workflow.Context) {
	w.st.Refusals++
	reasons := reasonTypes(w.st.Session.Checks)
	summary := "refused: " + strings.Join(reasons, ", ")
	if final, why := finalRefusal(w.st.Session.Checks); final {
		w.setStatus(ctx, StatusFailed, "refused for a reason that a new attempt cannot fix ("+why+")")
		return
	}
	if w.st.Refusals >= w.cfg.MaxAttempts {
		w.setStatus(ctx, StatusFailed, fmt.Sprintf("refused %d times in a row (%s)", w.st.Refusals, summary))
		return
	}
	w.st.RetryAt = workflow.Now(ctx).Add(w.cfg.RetryBackoff << (w.st.Refusals - 1))
	w.setStatus(ctx, StatusRefused, summary)
}

// finalRefusal tells the reasons a new session cannot fix: a falsified
// document, or a user under age.
func finalRefusal(checks []activities.CheckSummary) (bool, string) {
	for _, c := range checks {
		if c.Status != string(mangopay.CheckStatusRefused) {
			continue
		}
		if c.Type == string(mangopay.CheckAge) {
			return true, "age check failed"
		}
		for _, r := range c.Reasons {
			if r.Type == string(mangopay.RefusedDocumentFalsified) || r.Type == string(mangopay.RefusedUnderagePerson) {
				return true, r.Type
			}
		}
	}
	return false, ""
}

func reasonTypes(checks []activities.CheckSummary) []string {
	var out []string
	for _, c := range checks {
		for _, r := range c.Reasons {
			out = append(out, r.Type)
		}
	}
	return lo.Uniq(out)
}

// handleEvent treats a webhook as a hint: it re-reads the resource and acts
// on what the API says. Duplicates, stale and forged events change nothing.
func (w *onboarding) handleEvent(ctx workflow.Context, ev MangopayEvent) {
	key := ev.Key()
	if lo.Contains(w.st.SeenEvents, key) {
		w.logger.Info("duplicate webhook ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	}
	w.st.SeenEvents = append(w.st.SeenEvents, key)
	if over := len(w.st.SeenEvents) - w.cfg.MaxDedupeKeys; over > 0 {
		w.st.SeenEvents = w.st.SeenEvents[over:]
	}
	if w.st.Status.Final() || w.st.Status == StatusStarting {
		w.logger.Info("webhook ignored in this status", "event_type", ev.EventType, "status", string(w.st.Status))
		return
	}
	switch {
	case strings.HasPrefix(ev.EventType, "IDENTITY_VERIFICATION_"):
		w.sessionEvent(ctx, ev)
	case strings.HasPrefix(ev.EventType, "KYC_"):
		w.documentEvent(ctx, ev)
	case ev.EventType == string(mangopay.EventUserKYCLight) || ev.EventType == string(mangopay.EventUserKYCRegular):
		w.userEvent(ctx, ev)
	default:
		w.logger.Info("webhook of an unhandled type ignored", "event_type", ev.EventType)
	}
}

// impliedStatus is the session status a webhook announces.
var impliedStatus = map[string]string{
	"IDENTITY_VERIFICATION_PENDING":      "PENDING",
	"IDENTITY_VERIFICATION_VALIDATED":    "VALIDATED",
	"IDENTITY_VERIFICATION_FAILED":       "REFUSED",
	"IDENTITY_VERIFICATION_INCONCLUSIVE": "REVIEW",
	"IDENTITY_VERIFICATION_OUTDATED":     "OUT_OF_DATE",
	"IDENTITY_VERIFICATION_EXPIRED":      "EXPIRED",
}

func (w *onboarding) sessionEvent(ctx workflow.Context, ev MangopayEvent) {
	s := w.st.Session
	if s == nil || ev.ResourceID != s.IdvSessionID {
		stale := lo.ContainsBy(w.st.History, func(r AttemptRecord) bool { return r.IdvSessionID == ev.ResourceID })
		w.logger.Info("webhook for another session ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID, "earlier_session", stale)
		return
	}
	if impliedStatus[ev.EventType] == s.Status {
		return // nothing new: the API already told us
	}
	if res, ok := w.readSession(ctx); ok {
		w.applySession(ctx, res)
	}
}

func (w *onboarding) userEvent(ctx workflow.Context, ev MangopayEvent) {
	if ev.ResourceID != w.st.UserID {
		w.logger.Info("webhook for another user ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	}
	switch {
	case ev.EventType == string(mangopay.EventUserKYCLight) && w.st.Status == StatusVerified:
		var u activities.ReadUserResult
		err := workflow.ExecuteActivity(mangopayCtx(ctx, "read user (downgrade?)"), a.ReadUser, activities.ReadUserInput{UserID: w.st.UserID}).Get(ctx, &u)
		if err != nil {
			w.logger.Warn("reading the user failed", "error", errMessage(err))
			return
		}
		if u.KYCLevel == string(mangopay.KYCLevelLight) {
			w.st.Refusals = 0
			// The session's own webhook may come later and would then be
			// ignored: record now what Mangopay says of it (OUT_OF_DATE), so
			// the history of attempts is right whichever webhook comes first.
			if workflow.GetVersion(ctx, changeDowngradeRereadsSession, workflow.DefaultVersion, 1) >= 1 && w.st.Session != nil {
				if res, ok := w.readSession(ctx); ok {
					w.st.Session.Status, w.st.Session.Checks = res.Status, res.Checks
				}
			}
			w.setStatus(ctx, StatusOutOfDate, "KYC downgraded by Mangopay (KYCLevel LIGHT): a new session is needed")
		}
	case ev.EventType == string(mangopay.EventUserKYCRegular) && w.st.Session != nil &&
		(w.st.Status == StatusAwaitingUser || w.st.Status == StatusInReview):
		if res, ok := w.readSession(ctx); ok {
			w.applySession(ctx, res)
		}
	}
}

func (w *onboarding) documentEvent(ctx workflow.Context, ev MangopayEvent) {
	i := lo.IndexOf(lo.Map(w.st.Documents, func(d Document, _ int) string { return d.KycDocumentID }), ev.ResourceID)
	if i < 0 {
		w.logger.Info("webhook for an unknown document ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	}
	var res activities.DocumentResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read KYC document"), a.GetDocument, activities.GetDocumentInput{DocumentID: ev.ResourceID}).Get(ctx, &res)
	if err != nil {
		w.logger.Warn("reading the KYC document failed", "kyc_document_id", ev.ResourceID, "error", errMessage(err))
		return
	}
	d := &w.st.Documents[i]
	if d.Status == res.Status {
		return
	}
	d.Status, d.RefusedReasonType = res.Status, res.RefusedReasonType
	w.notifyDocument(ctx, *d)
}

// setStatus records a status change: search attributes, Web UI details and
// a platform notification.
func (w *onboarding) setStatus(ctx workflow.Context, s Status, reason string) {
	if w.st.Status == s && w.st.Reason == reason {
		return
	}
	w.st.Status, w.st.Reason, w.st.UpdatedAt = s, reason, workflow.Now(ctx)
	w.logger.Info("onboarding status changed", "status", string(s), "attempt", w.st.Attempt)
	updates := []temporal.SearchAttributeUpdate{
		SearchAttrStatus.ValueSet(string(s)),
		SearchAttrAttempt.ValueSet(int64(w.st.Attempt)),
	}
	if w.st.Session != nil {
		updates = append(updates, SearchAttrSessionID.ValueSet(w.st.Session.IdvSessionID))
	}
	if w.st.UserType != "" {
		updates = append(updates, SearchAttrUserType.ValueSet(w.st.UserType))
	}
	if !w.saUserSet {
		updates = append(updates, SearchAttrUserID.ValueSet(w.st.UserID))
		w.saUserSet = true
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		w.logger.Warn("upsert search attributes", "error", err)
	}
	workflow.SetCurrentDetails(ctx, w.details(ctx))
	w.notifyStatus(ctx)
	w.poke()
}

// details is the Web UI's "current details": the story in one line.
func (w *onboarding) details(ctx workflow.Context) string {
	b := &strings.Builder{}
	fmt.Fprintf(b, "**%s**", w.st.Status)
	if w.st.Attempt > 0 {
		fmt.Fprintf(b, " · attempt %d", w.st.Attempt)
	}
	if s := w.st.Session; s != nil {
		fmt.Fprintf(b, " · session `%s` (%s)", s.IdvSessionID, s.Status)
		if w.st.Status == StatusAwaitingUser {
			fmt.Fprintf(b, " · expires %s", s.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	if w.st.Status == StatusInReview && w.st.ReviewSince != nil {
		fmt.Fprintf(b, " · in review since %s", w.st.ReviewSince.UTC().Format(time.RFC3339))
		if workflow.Now(ctx).Sub(*w.st.ReviewSince) > w.cfg.ReviewOverdueAfter {
			b.WriteString(" · **OVERDUE**")
		}
	}
	if w.st.Status == StatusRefused {
		fmt.Fprintf(b, " · retry at %s", w.st.RetryAt.UTC().Format(time.RFC3339))
	}
	if w.st.Reason != "" {
		fmt.Fprintf(b, " · %s", w.st.Reason)
	}
	return b.String()
}

func (w *onboarding) notifyStatus(ctx workflow.Context) {
	ev := notify.Event{
		Type: "onboarding." + strings.ToLower(string(w.st.Status)), UserID: w.st.UserID, Status: string(w.st.Status),
		Attempt: w.st.Attempt, OccurredAt: workflow.Now(ctx),
	}
	if s := w.st.Session; s != nil {
		ev.IdvSessionID = s.IdvSessionID
		ev.Reasons = reasonTypes(s.Checks)
		if w.st.Status == StatusAwaitingUser {
			ev.HostedURL, ev.ExpiresAt = s.HostedURL, s.ExpiresAt.UTC().Format(time.RFC3339)
			if len(w.st.History) > 0 {
				ev.Reasons = w.st.History[len(w.st.History)-1].Reasons // why a new attempt
			}
		}
	}
	w.send(ctx, ev, ev.Type, strconv.Itoa(w.st.Attempt), ev.IdvSessionID, w.st.Reason)
}

func (w *onboarding) notifyDocument(ctx workflow.Context, d Document) {
	ev := notify.Event{
		Type: "document." + strings.ToLower(d.Status), UserID: w.st.UserID, Status: d.Status, DocumentID: d.KycDocumentID,
		OccurredAt: workflow.Now(ctx),
	}
	if d.RefusedReasonType != "" {
		ev.Reasons = []string{d.RefusedReasonType}
	}
	w.send(ctx, ev, ev.Type, d.KycDocumentID)
}

// send notifies the platform in the background: a platform that is down
// must not hold the onboarding up. The event id is derived from the
// workflow, so Temporal's retries reach the platform with the same id.
func (w *onboarding) send(ctx workflow.Context, ev notify.Event, idParts ...string) {
	info := workflow.GetInfo(ctx)
	ev.ID = mangopay.DeriveIdempotencyKey(append([]string{info.WorkflowExecution.ID, info.FirstRunID}, idParts...)...)
	w.notifying++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() { w.notifying-- }()
		opts := workflow.ActivityOptions{
			StartToCloseTimeout:    30 * time.Second,
			ScheduleToCloseTimeout: 72 * time.Hour, // then the platform has to reconcile through the API
			RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Minute},
			Summary:                "notify platform: " + ev.Type,
		}
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(gctx, opts), a.NotifyPlatform, activities.NotifyInput{Event: ev}).Get(gctx, nil); err != nil {
			w.logger.Warn("platform notification failed", "event_type", ev.Type, "event_id", ev.ID, "error", errMessage(err))
		}
	})
}

func (w *onboarding) shouldContinueAsNew(ctx workflow.Context) bool {
	if w.creating {
		return false
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || (w.cfg.MaxHistoryEvents > 0 && info.GetCurrentHistoryLength() >= w.cfg.MaxHistoryEvents)
}

// quiesce waits for update handlers and notifications, then takes every
// signal still buffered so that none is lost.
func (w *onboarding) quiesce(ctx workflow.Context) []MangopayEvent {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && w.notifying == 0 })
	var left []MangopayEvent
	for {
		var ev MangopayEvent
		if !w.events.ReceiveAsync(&ev) {
			return left
		}
		left = append(left, ev)
	}
}

func (w *onboarding) continueAsNew(ctx workflow.Context) error {
	w.st.PendingEvents = append(w.st.PendingEvents, w.quiesce(ctx)...)
	w.logger.Info("continuing as new", "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, KYCOnboarding, Input{
		UserID: w.st.UserID, ReturnURL: w.st.ReturnURL, Tag: w.st.Tag, Config: w.rawCfg, State: w.st,
	})
}

func (w *onboarding) finish(ctx workflow.Context) (Result, error) {
	for {
		left := w.quiesce(ctx)
		if len(left) == 0 {
			break
		}
		for _, ev := range left {
			w.handleEvent(ctx, ev) // only remembered and logged now
		}
	}
	return Result{UserID: w.st.UserID, Status: w.st.Status, Reason: w.st.Reason, Attempt: w.st.Attempt}, nil
}

// mangopayCtx sets the options of Mangopay activities: Temporal retries 5xx,
// 429 and network errors without limit (the onboarding waits for Mangopay);
// the activities mark 4xx answers non-retryable.
func mangopayCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
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
