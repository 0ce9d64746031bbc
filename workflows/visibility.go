package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/mangopay"
)

// setStatus records a status change: search attributes, Web UI details and
// a platform notification.
func (w *onboarding) setStatus(ctx workflow.Context, s Status, reason string) {
	if w.st.Status == s {
		// The same status for another reason (VERIFIED after the last PSC,
		// then again on USER_KYC_REGULAR) is no change: the platform is
		// told once. But for RENEWAL_REQUIRED the reason is the renewal's
		// news (a moved deadline, a renewal session that expired or was
		// refused): the platform acts on it, so it is told again.
		if w.st.Reason == reason || s.Final() {
			return
		}
		w.st.Reason = reason
		e := w.record(ctx, audit.Entry{Kind: audit.KindReason, OldStatus: string(s), NewStatus: string(s), Reason: reason})
		w.upsertVisibility(ctx) // the reason may call for an operator (KycAttention)
		if s == StatusRenewal {
			w.st.StatusChanges++
			w.notifyStatus(ctx, e)
			w.poke()
		}
		return
	}
	if w.st.Status.Final() {
		// A final status is never left, whatever finishes after it.
		w.logger.Info("status change after a final status ignored", "status", string(w.st.Status), "ignored", string(s))
		return
	}
	old := w.recordedStatus()
	w.st.Status, w.st.Reason, w.st.UpdatedAt = s, reason, workflow.Now(ctx)
	e := w.record(ctx, audit.Entry{Kind: audit.KindStatus, OldStatus: string(old), NewStatus: string(s), Reason: reason})
	if s.Final() && w.stopLoop != nil {
		w.stopLoop() // the loop's Mangopay calls are moot now
	}
	if s.Final() && w.stopCreate != nil {
		w.stopCreate() // and so is a session creation retrying through an outage
	}
	switch s {
	case StatusExpired, StatusRefused, StatusRenewal, StatusAwaitingUser:
	default:
		// A session the platform asked for is owed only while the status
		// can take one (sessionWanted); an outcome that moved the
		// onboarding elsewhere (a late VALIDATED, a review) settles the
		// ask, and a later renewal waits for the platform's next one.
		w.st.WantSession, w.st.WantCause = false, nil
	}
	w.st.StatusChanges++
	w.logger.Info("onboarding status changed", "status", string(s), "attempt", w.st.Attempt)
	w.upsertVisibility(ctx)
	w.notifyStatus(ctx, e)
	w.poke()
}

// restate tells the platform news that leaves the status as it is (a
// downgrade during a renewal session): a new reason, a new notification of
// the same status, the search attributes updated.
func (w *onboarding) restate(ctx workflow.Context, reason string) {
	if w.st.Status.Final() || w.st.Reason == reason {
		w.upsertVisibility(ctx)
		return
	}
	w.st.Reason, w.st.UpdatedAt = reason, workflow.Now(ctx)
	e := w.record(ctx, audit.Entry{Kind: audit.KindReason, OldStatus: string(w.st.Status), NewStatus: string(w.st.Status), Reason: reason})
	w.st.StatusChanges++
	w.upsertVisibility(ctx)
	w.notifyStatus(ctx, e)
}

// upsertVisibility sets the search attributes and the Web UI's current
// details from the state.
func (w *onboarding) upsertVisibility(ctx workflow.Context) {
	updates := []temporal.SearchAttributeUpdate{
		SearchAttrStatus.ValueSet(string(w.st.Status)),
		SearchAttrAttempt.ValueSet(int64(w.st.Attempt)),
	}
	if w.st.Session != nil {
		updates = append(updates, SearchAttrSessionID.ValueSet(w.st.Session.IdvSessionID))
	}
	if w.st.UserType != "" {
		updates = append(updates, SearchAttrUserType.ValueSet(w.st.UserType))
	}
	if d := w.st.RenewalDeadline; d != nil {
		updates = append(updates, SearchAttrRenewalDeadline.ValueSet(*d))
		w.st.RenewalSASet = true
	} else if w.st.RenewalSASet {
		updates = append(updates, SearchAttrRenewalDeadline.ValueUnset())
		w.st.RenewalSASet = false
	}
	if w.st.Status == StatusInReview && w.st.ReviewSince != nil {
		updates = append(updates, SearchAttrReviewSince.ValueSet(*w.st.ReviewSince))
		w.st.ReviewSASet = true
	} else if w.st.ReviewSASet {
		updates = append(updates, SearchAttrReviewSince.ValueUnset())
		w.st.ReviewSASet = false
	}
	if a := w.attention(); a != w.st.Attention {
		if a == "" {
			updates = append(updates, SearchAttrAttention.ValueUnset())
		} else {
			updates = append(updates, SearchAttrAttention.ValueSet(a))
		}
		w.st.Attention = a
	}
	if !w.saUserSet {
		updates = append(updates, SearchAttrUserID.ValueSet(w.st.UserID))
		w.saUserSet = true
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		w.logger.Warn("upsert search attributes", "error", err)
	}
	workflow.SetCurrentDetails(ctx, w.details(ctx))
}

// attention is what an operator must look at (KycAttention), if anything.
func (w *onboarding) attention() string {
	switch {
	case w.st.NotifyHeld != "":
		return AttentionNotificationsUndelivered // final or not: the platform must still hear
	case w.st.Status.Final():
		return "" // nothing is left to do: no operator is needed
	case w.st.AccessDenied != "":
		return AttentionAccessDenied
	case w.st.Status == StatusAwaitingPSCs && slices.ContainsFunc(w.st.PSCs, func(p PSC) bool { return p.Status == string(mangopay.PSCAbandoned) }):
		return AttentionPSCAbandoned
	}
	return ""
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
		if _, expires := w.usableLink(workflow.Now(ctx)); expires != "" {
			fmt.Fprintf(b, " · expires %s", expires)
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
	if w.st.Status == StatusAwaitingPSCs {
		for _, p := range w.st.PSCs {
			fmt.Fprintf(b, " · PSC `%s` %s", p.PscID, p.Status)
		}
	}
	if sb := w.st.ScopeBlocked; sb != nil && (sb.Inflows || sb.Outflows) {
		fmt.Fprintf(b, " · flows blocked by Mangopay (inflows %t, outflows %t)", sb.Inflows, sb.Outflows)
	}
	if w.st.Reason != "" {
		fmt.Fprintf(b, " · %s", audit.EscapeMarkdown(w.st.Reason)) // free text: plain, never Markdown
	}
	if w.st.AccessDenied != "" && !w.st.Status.Final() {
		fmt.Fprintf(b, " · **%s**", audit.EscapeMarkdown(w.st.AccessDenied))
	}
	b.WriteString(w.timelineSummary())
	return b.String()
}
