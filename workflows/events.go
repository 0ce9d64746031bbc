package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/samber/lo"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/webhookstream"
)

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
	if w.st.Status.Final() {
		return // cancelled while the session was read
	}
	s := w.st.Session
	s.Status, s.Checks = res.Status, checksFrom(res.Checks)
	now := workflow.Now(ctx)
	expiry := s.ExpiresAt.Add(w.cfg.ExpiryGrace)
	st := mangopay.IdentityVerificationStatus(res.Status)
	if (w.st.Status == StatusVerified || w.st.Status == StatusRenewal) &&
		st != mangopay.IdentityVerificationValidated && st != mangopay.IdentityVerificationOutOfDate {
		// Mangopay says REGULAR: what a (renewal) session does, pending,
		// expired or refused, never ends or demotes the onboarding. A
		// refusal of the renewal session is still the renewal's news (it
		// may come after kycflow's own expiry check gave up on it).
		if w.st.Status == StatusRenewal && w.st.RenewalDeadline != nil {
			switch st {
			case mangopay.IdentityVerificationRefused, mangopay.IdentityVerificationError:
				w.renewalSessionEnded(ctx, "the renewal session was refused ("+strings.Join(reasonTypes(s.Checks), ", ")+"): ensure-session opens a new one")
			case mangopay.IdentityVerificationExpired, mangopay.IdentityVerificationTimeout:
				w.renewalSessionEnded(ctx, "the renewal session expired before it was submitted: ensure-session opens a new one")
			}
		}
		return
	}
	// A renewal session: the user stays REGULAR whatever it does.
	renewing := w.st.RenewalDeadline != nil
	switch st {
	case mangopay.IdentityVerificationPending:
		if !now.Before(expiry) && renewing {
			w.renewalSessionEnded(ctx, "the renewal session was not submitted within its lifetime: ensure-session opens a new one")
		} else if !now.Before(expiry) {
			w.setStatus(ctx, StatusExpired, "the session was not submitted within its lifetime")
		}
	case mangopay.IdentityVerificationExpired, mangopay.IdentityVerificationTimeout:
		if renewing {
			w.renewalSessionEnded(ctx, "the renewal session expired before it was submitted: ensure-session opens a new one")
			return
		}
		w.setStatus(ctx, StatusExpired, "the session expired before it was submitted")
	case mangopay.IdentityVerificationReview:
		if w.st.Status != StatusInReview {
			w.st.ReviewSince = &now
			w.st.NextReconcileAt = now.Add(w.cfg.ReviewReconcileInterval)
			w.setStatus(ctx, StatusInReview, "")
		}
	case mangopay.IdentityVerificationValidated:
		w.validated(ctx)
	case mangopay.IdentityVerificationRefused, mangopay.IdentityVerificationError:
		if renewing {
			w.renewalSessionEnded(ctx, "the renewal session was refused ("+strings.Join(reasonTypes(s.Checks), ", ")+"): ensure-session opens a new one")
			return
		}
		if w.st.Status != StatusRefused && w.st.Status != StatusFailed {
			w.refused(ctx)
		}
	case mangopay.IdentityVerificationOutOfDate:
		if w.st.Status == StatusOutOfDate {
			break
		}
		// The session is outdated; the user's level says whether the user
		// is (KYC documents may have verified the user again since).
		var u activities.ReadUserResult
		err := workflow.ExecuteActivity(mangopayCtx(ctx, "read user (session outdated)"), a.ReadUser, activities.ReadUserInput{UserID: w.st.UserID}).Get(ctx, &u)
		switch {
		case err != nil:
			w.logger.Warn("reading the user failed", "error", errMessage(err))
		case u.KYCLevel == string(mangopay.KYCLevelRegular):
			w.followUserLevel(ctx, u.KYCLevel)
		case !w.st.Status.Final():
			w.downgraded(ctx, "KYC downgraded by Mangopay: a new session is needed") // and any renewal is over
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
	w.st.RetryAt = workflow.Now(ctx).Add(retryBackoff(w.cfg.RetryBackoff, w.st.Refusals, w.cfg.MaxRetryBackoff))
	w.setStatus(ctx, StatusRefused, summary)
}

// retryBackoff is the wait after the n-th refusal in a row: base, doubled for
// each further one, capped at max (and never overflowing).
func retryBackoff(base time.Duration, n int, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// finalRefusal tells the reasons a new session cannot fix: a falsified
// document, or a user under age.
func finalRefusal(checks []CheckSummary) (bool, string) {
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

func reasonTypes(checks []CheckSummary) []string {
	var out []string
	for _, c := range checks {
		for _, r := range c.Reasons {
			out = append(out, r.Type)
		}
	}
	return lo.Uniq(out)
}

// handleEvent treats a webhook as a hint: it re-reads the resource and acts
// on what the API says. Duplicates, stale and forged events change nothing,
// and a flood of them costs a read per hint window (hints.go).
func (w *onboarding) handleEvent(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	ctx = withCause(ctx, eventCause(ev))
	key := ev.Key()
	if lo.Contains(w.st.SeenEvents, key) {
		w.logger.Info("duplicate webhook ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	}
	w.st.SeenEvents = append(w.st.SeenEvents, key)
	if over := len(w.st.SeenEvents) - w.cfg.MaxDedupeKeys; over > 0 {
		w.st.SeenEvents = w.st.SeenEvents[over:]
	}
	if w.st.Status == StatusStarting && ev.EventType.Topic() == mangopay.TopicScope && ev.ResourceID == w.st.UserID {
		// Blocks are no KYC status: what Mangopay blocks is read once
		// the preflight is done (scopeAfterPreflight), not lost.
		w.st.ScopeAsked = true
		return
	}
	if w.st.Status.Final() || w.st.Status == StatusStarting {
		w.logger.Info("webhook ignored in this status", "event_type", ev.EventType, "status", string(w.st.Status))
		return
	}
	if _, ok := w.eventHandlers()[ev.EventType.Topic()]; !ok {
		w.logger.Info("webhook of an unhandled type ignored", "event_type", ev.EventType)
		return
	}
	w.hint(ctx, ev) // now, or once its resource's hint window ends
}

// dispatch follows a hint: the handler of its topic re-reads what it names.
func (w *onboarding) dispatch(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	w.eventHandlers()[ev.EventType.Topic()](ctx, ev)
}

// eventHandlers are the handlers of the topics of webhooks (the one
// classification of event types, mangopay.EventType.Topic): a test walks
// every subscribed type through it, so a subscribed type with no handler
// fails.
func (w *onboarding) eventHandlers() map[mangopay.Topic]func(workflow.Context, webhookstream.MangopayEvent) {
	return map[mangopay.Topic]func(workflow.Context, webhookstream.MangopayEvent){
		mangopay.TopicScope:    w.scopeEvent,
		mangopay.TopicPSC:      w.pscEvent,
		mangopay.TopicRenewal:  w.renewalEvent,
		mangopay.TopicSession:  w.sessionEvent,
		mangopay.TopicDocument: w.documentEvent,
		mangopay.TopicLevel:    w.userEvent,
	}
}

// impliedStatus is the session status a webhook announces.
var impliedStatus = map[mangopay.EventType]string{
	mangopay.EventIdentityVerificationPending:      "PENDING",
	mangopay.EventIdentityVerificationValidated:    "VALIDATED",
	mangopay.EventIdentityVerificationFailed:       "REFUSED",
	mangopay.EventIdentityVerificationInconclusive: "REVIEW",
	mangopay.EventIdentityVerificationOutdated:     "OUT_OF_DATE",
	mangopay.EventIdentityVerificationExpired:      "EXPIRED",
}

func (w *onboarding) sessionEvent(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	s := w.st.Session
	if s == nil || ev.ResourceID != s.IdvSessionID {
		i := slices.IndexFunc(w.st.History, func(r AttemptRecord) bool { return r.IdvSessionID == ev.ResourceID })
		if i >= 0 && w.lateOutcomeMatters(ev) && !hadOutcome(w.st.History[i]) {
			w.archivedSessionEvent(ctx, i)
			return
		}
		w.logger.Info("webhook for another session ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID, "earlier_session", i >= 0)
		return
	}
	if impliedStatus[ev.EventType] == s.Status {
		return // nothing new: the API already told us
	}
	if res, ok := w.readSession(ctx); ok {
		w.applySession(ctx, res)
	}
}

// lateOutcomeMatters tells whether an earlier session's webhook may change
// the onboarding: an outcome (validated, or in review) that Mangopay reached
// after kycflow declared the session expired, while no newer outcome exists.
func (w *onboarding) lateOutcomeMatters(ev webhookstream.MangopayEvent) bool {
	implied := impliedStatus[ev.EventType]
	return (implied == string(mangopay.IdentityVerificationValidated) || implied == string(mangopay.IdentityVerificationReview)) &&
		w.awaitingAnOutcome()
}

// hadOutcome tells an earlier session the workflow saw reach an outcome
// (validated, refused, outdated…): its late webhooks are stale. Only one it
// gave up on while Mangopay still had it PENDING (expired) may come back.
func hadOutcome(r AttemptRecord) bool {
	st := mangopay.IdentityVerificationStatus(r.Status)
	return st != mangopay.IdentityVerificationPending && st != mangopay.IdentityVerificationExpired && st != mangopay.IdentityVerificationTimeout
}

// awaitingAnOutcome: no session of the onboarding has an outcome that a late
// one of an earlier session could contradict.
func (w *onboarding) awaitingAnOutcome() bool {
	return w.st.Status == StatusExpired || w.st.Status == StatusAwaitingUser
}

// archivedSessionEvent re-reads the earlier session History[i]; if Mangopay
// validated it or put it in review, it becomes the current session again
// (the newer one, still pending, is archived and left to expire).
func (w *onboarding) archivedSessionEvent(ctx workflow.Context, i int) {
	rec := w.st.History[i]
	var res activities.GetSessionResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read earlier IDV session"), a.GetSession,
		activities.GetSessionInput{SessionID: rec.IdvSessionID}).Get(ctx, &res)
	if err != nil {
		w.logger.Warn("reading an earlier IDV session failed", "idv_session_id", rec.IdvSessionID, "error", errMessage(err))
		return
	}
	st := mangopay.IdentityVerificationStatus(res.Status)
	if res.UserID != w.st.UserID || (st != mangopay.IdentityVerificationValidated && st != mangopay.IdentityVerificationReview) ||
		!w.awaitingAnOutcome() { // a cancel, or another outcome, came meanwhile
		return
	}
	w.logger.Info("an earlier session reached an outcome after it was declared expired: it is current again",
		"idv_session_id", rec.IdvSessionID, "status", res.Status)
	now := workflow.Now(ctx)
	w.archiveSession(now)
	w.st.History = slices.DeleteFunc(w.st.History, func(r AttemptRecord) bool { return r.IdvSessionID == rec.IdvSessionID })
	w.st.Session = &Session{
		IdvSessionID: rec.IdvSessionID, Status: rec.Status, CreatedAt: rec.CreatedAt,
		ExpiresAt: rec.CreatedAt.Add(w.cfg.SessionLifetime),
	}
	w.st.Status = StatusAwaitingUser // what the session was, for applySession
	w.applySession(ctx, res)
	if was := w.recordedStatus(); w.st.Status != was {
		// applySession left the status set above (a read it needs failed):
		// it is the onboarding's status now, a change like any other,
		// recorded, in the search attributes and notified together.
		s := w.st.Status
		w.st.Status = was
		w.setStatus(ctx, s, "an earlier session reached an outcome after it was declared expired: it is current again")
	}
}

// userEvent follows a user-level webhook (USER_KYC_LIGHT, USER_KYC_REGULAR):
// whatever its type, it re-reads the user, whose KYCLevel is the truth.
func (w *onboarding) userEvent(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	if ev.ResourceID != w.st.UserID {
		w.logger.Info("webhook for another user ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	}
	if ev.EventType == mangopay.EventUserKYCRegular && w.st.Session != nil &&
		(w.st.Status == StatusAwaitingUser || w.st.Status == StatusInReview) {
		// Most likely the session's outcome, its own webhook late or lost.
		if res, ok := w.readSession(ctx); ok {
			w.applySession(ctx, res)
		}
	}
	if ev.EventType == mangopay.EventUserKYCRegular && (w.st.Status == StatusVerified || w.st.Status == StatusRenewal) {
		return // what the onboarding knows already: a read would change nothing
	}
	w.readUserLevel(ctx, "read user (KYC level)")
}

// readUserLevel reads the user and follows its KYCLevel.
func (w *onboarding) readUserLevel(ctx workflow.Context, summary string) {
	if w.st.Status.Final() || w.st.Status == StatusStarting {
		return
	}
	var u activities.ReadUserResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, summary), a.ReadUser, activities.ReadUserInput{UserID: w.st.UserID}).Get(ctx, &u)
	if err != nil {
		w.logger.Warn("reading the user failed", "error", errMessage(err))
		return
	}
	w.followUserLevel(ctx, u.KYCLevel)
}

// followUserLevel moves the onboarding to what Mangopay says of the user:
// REGULAR is VERIFIED (RENEWAL_REQUIRED while a renewal is due), however
// the user got there (a session, KYC documents alone); LIGHT ends VERIFIED
// and RENEWAL_REQUIRED (a new session is needed) and any renewal.
func (w *onboarding) followUserLevel(ctx workflow.Context, level string) {
	if w.st.Status.Final() || w.st.Status == StatusStarting {
		return // cancelled meanwhile
	}
	switch level {
	case string(mangopay.KYCLevelRegular):
		switch w.st.Status {
		case StatusVerified, StatusRenewal, StatusOutOfDate:
			return // OUT_OF_DATE: the new session is on its way
		case StatusAwaitingUser, StatusInReview:
			if w.st.RenewalDeadline != nil {
				return // a renewal session under way
			}
		}
		w.st.Refusals = 0
		if d := w.st.RenewalDeadline; d != nil {
			w.st.ReviewSince = nil
			w.setStatus(ctx, StatusRenewal, renewalReason(*d))
			return
		}
		w.st.ReviewSince = nil
		w.setStatus(ctx, StatusVerified, "KYCLevel REGULAR")
		if w.st.RenewalAsked {
			w.st.RenewalAsked = false
			w.renewalRequired(ctx)
		}
	case string(mangopay.KYCLevelLight):
		switch {
		case w.st.Status == StatusVerified || w.st.Status == StatusRenewal:
			// The session's own webhook may come later and would then be
			// ignored: record now what Mangopay says of it (OUT_OF_DATE), so
			// the history of attempts is right whichever webhook comes first.
			if w.st.Session != nil {
				if res, ok := w.readSession(ctx); ok {
					w.st.Session.Status, w.st.Session.Checks = res.Status, checksFrom(res.Checks)
				}
			}
			w.downgraded(ctx, "KYC downgraded by Mangopay (KYCLevel LIGHT): a new session is needed")
		case w.st.RenewalDeadline != nil:
			// Downgraded while a renewal session was pending or in review:
			// the deadline is history, the session the way back. The
			// status stays, but the platform is told (a renewal is no
			// longer what the user is doing).
			w.st.RenewalDeadline, w.st.RemindersSent = nil, 0
			w.restate(ctx, "KYC downgraded by Mangopay (KYCLevel LIGHT): the open session is the way back to verified")
		}
	}
}

func (w *onboarding) renewalEvent(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	if ev.ResourceID != w.st.UserID {
		w.logger.Info("webhook for another user ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	}
	switch {
	case ev.EventType == mangopay.EventUserKYCRenewalRequired && (w.st.Status == StatusRenewal || w.st.RenewalDeadline != nil):
		w.refreshRenewal(ctx) // Mangopay moved the deadline
	case ev.EventType == mangopay.EventUserKYCRenewalRequired && w.st.Status == StatusVerified:
		w.renewalRequired(ctx)
	case ev.EventType == mangopay.EventUserKYCRenewalRequired:
		w.st.RenewalAsked = true // acted on once the user is verified
	case ev.EventType == mangopay.EventUserKYCRenewed && w.st.RenewalDeadline != nil:
		w.refreshRenewal(ctx)
	}
}

func (w *onboarding) documentEvent(ctx workflow.Context, ev webhookstream.MangopayEvent) {
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
	old := d.Status
	d.Status, d.RefusedReasonType = res.Status, res.RefusedReasonType
	w.notifyDocument(ctx, *d, old)
	if d.Status == string(mangopay.KYCDocumentValidated) {
		// A validated document may be what makes the user REGULAR.
		w.readUserLevel(ctx, "read user (KYC document validated)")
	}
}
