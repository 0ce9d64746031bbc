package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/webhookstream"
)

// Mangopay's 2026 lifecycle: PSC sessions of
// businesses and organizations, and the continuous KYC renewal.

// pscsApply tells whether the user's verification includes PSC sessions.
func (w *onboarding) pscsApply() bool {
	return w.st.UserType == string(mangopay.LegalBusiness) || w.st.UserType == string(mangopay.LegalOrganization)
}

// validated acts on a VALIDATED main session. VERIFIED means Mangopay says
// KYCLevel REGULAR: a business waits for its PSC sessions first. A natural
// user or a sole trader is REGULAR once the session is VALIDATED, so no read
// is spent on it.
func (w *onboarding) validated(ctx workflow.Context) {
	w.st.Refusals = 0
	if w.st.RenewalDeadline != nil || w.st.Status == StatusRenewal {
		// A renewal session (or the session that verified the user, read
		// again): the user is REGULAR throughout; only Mangopay clearing
		// the deadline ends the renewal (for a business, once its renewal
		// PSC sessions are done).
		if w.pscsApply() {
			w.recordPSCs(ctx)
		}
		w.refreshRenewal(ctx)
		if d := w.st.RenewalDeadline; d != nil && (w.st.Status == StatusAwaitingUser || w.st.Status == StatusInReview) {
			w.st.ReviewSince = nil
			w.setStatus(ctx, StatusRenewal, "renewal session validated: waiting for Mangopay to renew the KYC (deadline "+d.Format(time.RFC3339)+")")
		}
		return
	}
	if w.pscsApply() {
		if !w.checkPSCs(ctx) {
			return
		}
	} else {
		w.setStatus(ctx, StatusVerified, "")
	}
	if w.st.RenewalAsked {
		// USER_KYC_RENEWAL_REQUIRED came before kycflow knew the user was
		// verified (its VALIDATED webhook late or lost).
		w.st.RenewalAsked = false
		w.renewalRequired(ctx)
	}
}

// checkPSCs reads the user's PSC sessions and level, and moves the
// onboarding: VERIFIED once Mangopay says REGULAR (it reports true),
// AWAITING_PSCS until then. The platform hears onboarding.awaiting_pscs
// before the psc.* notifications of its PSC sessions.
func (w *onboarding) checkPSCs(ctx workflow.Context) bool {
	res, ok := w.readPSCs(ctx)
	if !ok {
		return false
	}
	changed := w.mergePSCs(res.PSCs)
	if res.KYCLevel == string(mangopay.KYCLevelRegular) {
		w.setStatus(ctx, StatusVerified, "")
		w.notifyPSCs(ctx, changed)
		if w.st.RenewalAsked {
			// USER_KYC_RENEWAL_REQUIRED came while the PSC sessions ran.
			w.st.RenewalAsked = false
			w.renewalRequired(ctx)
		}
		return true
	}
	reason := ""
	if i := slices.IndexFunc(w.st.PSCs, func(p PSC) bool { return p.Status == string(mangopay.PSCAbandoned) }); i >= 0 {
		reason = "PSC session " + w.st.PSCs[i].PscID + " was abandoned by Mangopay: an operator must take it up with Mangopay"
	}
	if w.st.Status != StatusAwaitingPSCs {
		w.st.ReconcileStep = 0
		w.st.NextReconcileAt = workflow.Now(ctx).Add(w.cfg.ReconcileSchedule[0])
	}
	w.setStatus(ctx, StatusAwaitingPSCs, reason)
	w.notifyPSCs(ctx, changed)
	return false
}

// recordPSCs reads the PSC sessions of the current main session and tells
// the platform of each change, without moving the onboarding (a renewal).
func (w *onboarding) recordPSCs(ctx workflow.Context) {
	if res, ok := w.readPSCs(ctx); ok {
		w.notifyPSCs(ctx, w.mergePSCs(res.PSCs))
	}
}

// pscsRead is what readPSCs read: the PSC sessions and the user's KYC
// level (VERIFIED means REGULAR).
type pscsRead struct {
	PSCs     []PSC
	KYCLevel string
}

// readPSCs reads the user's PSC sessions and level, keeping those of the
// current main session: PSC sessions of an earlier one (a first attempt, a
// renewal) are history, neither shown, retried nor acted on.
func (w *onboarding) readPSCs(ctx workflow.Context) (pscsRead, bool) {
	var read activities.ReadPSCsResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read PSC sessions and KYC level"), a.ReadPSCs,
		activities.ReadPSCsInput{UserID: w.st.UserID}).Get(ctx, &read)
	res := pscsRead{PSCs: pscsFrom(read.PSCs), KYCLevel: read.KYCLevel}
	if err != nil {
		w.logger.Warn("reading the PSC sessions failed", "error", errMessage(err))
		return res, false
	}
	if w.st.Status.Final() {
		return res, false
	}
	var main string
	if w.st.Session != nil {
		main = w.st.Session.IdvSessionID
	}
	earlier := func(p PSC) bool { return p.MainSessionID != "" && main != "" && p.MainSessionID != main }
	res.PSCs = slices.DeleteFunc(res.PSCs, earlier)
	w.st.PSCs = slices.DeleteFunc(w.st.PSCs, earlier)
	return res, true
}

// mergePSCs records the PSC sessions Mangopay lists and returns those that
// are new or moved.
func (w *onboarding) mergePSCs(latest []PSC) []PSC {
	var changed []PSC
	for _, p := range latest {
		i := slices.IndexFunc(w.st.PSCs, func(q PSC) bool { return q.PscID == p.PscID })
		if i >= 0 && w.st.PSCs[i] == p {
			continue
		}
		if i >= 0 {
			w.st.PSCs[i] = p
		} else {
			w.st.PSCs = append(w.st.PSCs, p)
		}
		changed = append(changed, p)
	}
	return changed
}

// updatePSCs records PSC sessions and tells the platform of each change
// (psc.<status>, with its link).
func (w *onboarding) updatePSCs(ctx workflow.Context, latest []PSC) {
	w.notifyPSCs(ctx, w.mergePSCs(latest))
}

func (w *onboarding) notifyPSCs(ctx workflow.Context, ps []PSC) {
	for _, p := range ps {
		w.notifyPSC(ctx, p)
	}
}

func (w *onboarding) notifyPSC(ctx workflow.Context, p PSC) {
	e := w.record(ctx, audit.Entry{Kind: audit.KindPSC, NewStatus: p.Status, PscID: p.PscID})
	ev := notify.Event{
		Type: notify.PSCEventType(p.Status), UserID: w.st.UserID, Status: p.Status, PscID: p.PscID,
		HostedURL: usablePSCLinks([]PSC{p})[0].HostedURL, Attempt: w.st.Attempt, OccurredAt: workflow.Now(ctx), Entry: &e,
	}
	if w.st.Session != nil {
		ev.IdvSessionID = w.st.Session.IdvSessionID
	}
	w.send(ctx, ev, ev.Type, p.PscID, p.HostedURL)
}

// pscEvent treats a PSC webhook as a hint: its RessourceId may be the main
// session's or the PSC's (Mangopay's sources disagree), so either is taken.
func (w *onboarding) pscEvent(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	// A PSC not listed yet: Mangopay may add one after the first listing
	// (while the PSCs run, or during a business's renewal).
	unlisted := mangopay.IsPSCID(ev.ResourceID) &&
		(w.st.Status == StatusAwaitingPSCs || w.st.Status == StatusRenewal && w.pscsApply())
	known := w.st.Session != nil && ev.ResourceID == w.st.Session.IdvSessionID ||
		slices.ContainsFunc(w.st.PSCs, func(p PSC) bool { return p.PscID == ev.ResourceID }) || unlisted
	if known && w.st.Status == StatusRenewal && w.pscsApply() {
		w.recordPSCs(ctx) // a renewal's PSC sessions: the user stays REGULAR
		return
	}
	if !known || (w.st.Status != StatusAwaitingPSCs && w.st.Status != StatusVerified) {
		w.logger.Info("PSC webhook ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID, "status", string(w.st.Status))
		return
	}
	if w.st.Status == StatusVerified && !w.pscsApply() {
		return
	}
	_ = w.checkPSCs(ctx)
}

// advanceReconcile schedules the next reconciliation read.
func (w *onboarding) advanceReconcile(ctx workflow.Context) {
	w.st.ReconcileStep++
	w.st.NextReconcileAt = workflow.Now(ctx).Add(w.cfg.ReconcileSchedule[min(w.st.ReconcileStep, len(w.cfg.ReconcileSchedule)-1)])
	workflow.SetCurrentDetails(ctx, w.details(ctx))
}

// readRegulatory reads the user's renewal deadline.
func (w *onboarding) readRegulatory(ctx workflow.Context) (activities.ReadRegulatoryResult, bool) {
	var res activities.ReadRegulatoryResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read regulatory status (KYC renewal)"), a.ReadRegulatory,
		activities.ReadRegulatoryInput{UserID: w.st.UserID}).Get(ctx, &res)
	if err != nil {
		w.logger.Warn("reading the regulatory status failed", "error", errMessage(err))
		return res, false
	}
	return res, !w.st.Status.Final()
}

// renewalRequired acts on USER_KYC_RENEWAL_REQUIRED: Mangopay set a deadline
// after which the verified user is downgraded unless they renew.
func (w *onboarding) renewalRequired(ctx workflow.Context) {
	res, ok := w.readRegulatory(ctx)
	if !ok {
		return
	}
	w.noteRenewalNotice(ctx, res)
	if !w.renewalDue(ctx, res) || w.st.Status != StatusVerified {
		return
	}
	deadline := res.DowngradeAt.UTC()
	w.st.RenewalDeadline = &deadline
	// Reminders already due are covered by this first notice.
	w.st.RemindersSent = w.remindersDue(deadline, workflow.Now(ctx))
	w.setStatus(ctx, StatusRenewal, renewalReason(deadline))
}

func renewalReason(deadline time.Time) string {
	return "KYC renewal required before " + deadline.Format(time.RFC3339) + ": open a new session"
}

// remindersDue counts the reminders of a deadline whose time has come: a
// first notice, or a moved deadline, covers them (no burst of reminders).
func (w *onboarding) remindersDue(deadline, now time.Time) int {
	n := 0
	for _, before := range w.cfg.RenewalReminders {
		if deadline.Add(-before).After(now) {
			break
		}
		n++
	}
	return n
}

// RenewalNotice is how long before an OWNER's KycRenewalDeadline Mangopay
// asks for the renewal (USER_KYC_RENEWAL_REQUIRED). Every OWNER has a
// deadline on record; only one this close is a renewal due.
const RenewalNotice = 90 * 24 * time.Hour

// renewalDue tells whether Mangopay has a renewal due: a deadline on record
// within its 90-day notice that is still to come, or that has passed with no
// successful KYC since (Mangopay downgrades after the deadline, not always
// at once: its first grouped downgrades ran on 2026-12-01 for deadlines up
// to 2026-11-30). A past deadline older than the last KYC is history; a
// deadline further than 90 days away is the next renewal, not one due
// (noteRenewalNotice keeps when it will be).
func (w *onboarding) renewalDue(ctx workflow.Context, res activities.ReadRegulatoryResult) bool {
	if res.DowngradeAt.IsZero() {
		return false
	}
	now := workflow.Now(ctx)
	deadlineDay := res.DowngradeAt.Add(-24 * time.Hour)
	if now.Before(deadlineDay.Add(-RenewalNotice)) {
		return false
	}
	if res.DowngradeAt.After(now) {
		return true
	}
	return res.LastKYCDate == "" || res.LastKYCDate <= deadlineDay.UTC().Format(time.DateOnly)
}

// noteRenewalNotice keeps when the deadline on record (not due yet) will be:
// a VERIFIED onboarding reads the regulatory status again then.
func (w *onboarding) noteRenewalNotice(ctx workflow.Context, res activities.ReadRegulatoryResult) {
	w.st.RenewalNoticeAt = time.Time{}
	if res.DowngradeAt.IsZero() {
		return
	}
	if at := res.DowngradeAt.Add(-24 * time.Hour).Add(-RenewalNotice); at.After(workflow.Now(ctx)) {
		w.st.RenewalNoticeAt = at
	}
}

// nextRenewalEvent is the next reminder, or the deadline (plus an hour for
// Mangopay to downgrade), or after it the next daily check.
func (w *onboarding) nextRenewalEvent() (time.Time, string) {
	if w.st.RenewalDeadline == nil {
		return time.Time{}, "" // webhooks and the platform only
	}
	d := *w.st.RenewalDeadline
	if i := w.st.RemindersSent; i < len(w.cfg.RenewalReminders) {
		return d.Add(-w.cfg.RenewalReminders[i]), "KYC renewal reminder"
	}
	at := d.Add(time.Hour)
	if w.st.NextReconcileAt.After(at) {
		at = w.st.NextReconcileAt
	}
	return at, "KYC renewal deadline"
}

// renewalTick sends the next reminder, or at the deadline checks whether
// Mangopay downgraded the user (the downgrade path) or moved the deadline.
func (w *onboarding) renewalTick(ctx workflow.Context) {
	if i := w.st.RemindersSent; i < len(w.cfg.RenewalReminders) {
		w.st.RemindersSent++
		e := w.record(ctx, audit.Entry{Kind: audit.KindReminder, OldStatus: string(w.st.Status), NewStatus: string(w.st.Status),
			Reason: "renewal deadline " + w.st.RenewalDeadline.Format(time.RFC3339)})
		ev := notify.Event{
			Type: notify.OnboardingRenewalReminder, UserID: w.st.UserID, Status: string(w.st.Status), Attempt: w.st.Attempt,
			RenewalDeadline: w.st.RenewalDeadline.Format(time.RFC3339), OccurredAt: workflow.Now(ctx), Entry: &e,
		}
		w.send(ctx, ev, ev.Type, ev.RenewalDeadline, strconv.Itoa(i))
		return
	}
	// Checked again daily until Mangopay says what happened.
	w.st.NextReconcileAt = workflow.Now(ctx).Add(24 * time.Hour)
	var u activities.ReadUserResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read user (renewal deadline passed)"), a.ReadUser,
		activities.ReadUserInput{UserID: w.st.UserID}).Get(ctx, &u)
	if err != nil || w.st.Status != StatusRenewal {
		return
	}
	if u.KYCLevel == string(mangopay.KYCLevelLight) {
		w.downgraded(ctx, "KYC renewal deadline missed: Mangopay downgraded the user (KYCLevel LIGHT); a new session is needed")
		return
	}
	w.refreshRenewal(ctx)
}

// refreshRenewal re-reads the deadline: cleared (renewed) → VERIFIED; moved
// → RENEWAL_REQUIRED with the new one, its reminders already due counted as
// sent (Mangopay's latest deadline is followed, without a burst).
func (w *onboarding) refreshRenewal(ctx workflow.Context) {
	res, ok := w.readRegulatory(ctx)
	if !ok {
		return
	}
	w.noteRenewalNotice(ctx, res)
	if !w.renewalDue(ctx, res) {
		had := w.st.RenewalDeadline != nil
		w.st.RenewalDeadline, w.st.RemindersSent = nil, 0
		switch {
		case w.st.Status == StatusRenewal:
			w.setStatus(ctx, StatusVerified, "KYC renewed")
		case had && (w.st.Status == StatusAwaitingUser || w.st.Status == StatusInReview):
			// A renewal session under way, and the renewal done (or the
			// user downgraded meanwhile): the user's level says which.
			w.upsertVisibility(ctx)
			w.readUserLevel(ctx, "read user (renewal cleared)")
		default:
			w.upsertVisibility(ctx) // the deadline's search attribute goes; the status stays
		}
		return
	}
	d := res.DowngradeAt.UTC()
	moved := w.st.RenewalDeadline == nil || !d.Equal(*w.st.RenewalDeadline)
	if moved {
		w.st.RenewalDeadline = &d
		w.st.RemindersSent = w.remindersDue(d, workflow.Now(ctx))
	}
	switch {
	case w.st.Status == StatusVerified || w.st.Status == StatusRenewal && moved:
		w.setStatus(ctx, StatusRenewal, renewalReason(d))
	case moved:
		w.upsertVisibility(ctx) // a renewal session under way keeps its status
	}
}

// renewalSessionEnded: a renewal session expired or was refused while the
// user is still REGULAR. The onboarding stays RENEWAL_REQUIRED (reminders go
// on) with the reason; the next ensure-session opens a fresh session.
func (w *onboarding) renewalSessionEnded(ctx workflow.Context, reason string) {
	w.st.ReviewSince = nil
	w.setStatus(ctx, StatusRenewal, reason)
}

// downgraded starts the downgrade path: a new session is needed.
func (w *onboarding) downgraded(ctx workflow.Context, reason string) {
	w.st.Refusals = 0
	w.st.RenewalDeadline, w.st.RemindersSent = nil, 0
	w.setStatus(ctx, StatusOutOfDate, reason)
}

// validateRetryPSC accepts a retry of a PSC session the onboarding knows and
// Mangopay allows (anything but ABANDONED).
func (w *onboarding) validateRetryPSC(req RetryPSCRequest) error {
	i := slices.IndexFunc(w.st.PSCs, func(p PSC) bool { return p.PscID == req.PscID })
	switch {
	case i < 0:
		return fmt.Errorf("PscId %q is not a PSC session of this onboarding", req.PscID)
	case w.st.PSCs[i].Status == string(mangopay.PSCAbandoned):
		return fmt.Errorf("PSC session %s was abandoned: Mangopay does not allow a retry", req.PscID)
	case w.st.Status.Final():
		return fmt.Errorf("the onboarding is %s", w.st.Status)
	}
	return nil
}

// retryPSC asks Mangopay for a new try of a PSC session and returns its link.
func (w *onboarding) retryPSC(ctx workflow.Context, req RetryPSCRequest) (PSC, error) {
	defer w.handlerDone()
	ctx = withCause(ctx, audit.CallCause(UpdateRetryPSC, "", "", ""))
	ctx, forget := w.stoppable(ctx)
	defer forget()
	p := w.st.PSCs[slices.IndexFunc(w.st.PSCs, func(p PSC) bool { return p.PscID == req.PscID })]
	sessionID := p.MainSessionID
	if sessionID == "" && w.st.Session != nil {
		sessionID = w.st.Session.IdvSessionID
	}
	var res activities.RetryPSCResult
	if err := workflow.ExecuteActivity(mangopayCtx(ctx, "retry PSC session"), a.RetryPSC,
		activities.RetryPSCInput{SessionID: sessionID, PscID: req.PscID}).Get(ctx, &res); err != nil {
		return PSC{}, fmt.Errorf("retry PSC session %s: %s", req.PscID, errMessage(err))
	}
	psc := pscFrom(res.PSC)
	if psc.MainSessionID == "" {
		psc.MainSessionID = p.MainSessionID
	}
	w.updatePSCs(ctx, []PSC{psc})
	return psc, nil
}
