package workflows

import (
	"fmt"
	"strconv"

	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/webhookstream"
)

// scopeEvent treats a block webhook as a hint like any other: the
// regulatory status is read, and its ScopeBlocked kept and told to the
// platform when it changed. A block is no KYC status: the onboarding's
// status stays what it is.
func (w *onboarding) scopeEvent(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	if ev.ResourceID != w.st.UserID {
		w.logger.Info("block webhook for another user ignored", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	}
	var res activities.ReadRegulatoryResult
	err := workflow.ExecuteActivity(mangopayCtx(ctx, "read regulatory status (blocked flows)"), a.ReadRegulatory,
		activities.ReadRegulatoryInput{UserID: w.st.UserID}).Get(ctx, &res)
	if err != nil {
		w.logger.Warn("reading the regulatory status failed", "error", errMessage(err))
		return
	}
	w.applyScope(ctx, res)
}

// scopeAfterPreflight reads the blocked flows a webhook announced while the
// onboarding was STARTING, once the preflight has moved it on.
func (w *onboarding) scopeAfterPreflight(ctx workflow.Context) {
	if !w.st.ScopeAsked || w.st.Status == StatusStarting || w.st.Status.Final() {
		return
	}
	w.st.ScopeAsked = false
	w.scopeEvent(ctx, webhookstream.MangopayEvent{EventType: mangopay.EventUserInflowsBlocked, ResourceID: w.st.UserID})
}

// applyScope keeps what a regulatory status read says of the blocked flows
// and notifies the platform when it changed (user.scope_blocked).
func (w *onboarding) applyScope(ctx workflow.Context, res activities.ReadRegulatoryResult) {
	sb := ScopeBlocked{Inflows: res.InflowsBlocked, Outflows: res.OutflowsBlocked, ActionCode: res.ActionCode}
	if w.st.Status.Final() || (w.st.ScopeBlocked != nil && *w.st.ScopeBlocked == sb) {
		return
	}
	w.st.ScopeBlocked = &sb
	w.logger.Info("Mangopay's blocks of the user's flows changed", "inflows", sb.Inflows, "outflows", sb.Outflows)
	e := w.record(ctx, audit.Entry{Kind: audit.KindScope, OldStatus: string(w.st.Status), NewStatus: string(w.st.Status),
		Reason: fmt.Sprintf("inflows blocked %t, outflows blocked %t, action code %q", sb.Inflows, sb.Outflows, sb.ActionCode)})
	ev := notify.Event{
		Type: notify.UserScopeBlocked, UserID: w.st.UserID, Status: string(w.st.Status), Attempt: w.st.Attempt,
		ScopeBlocked: sb.notify(), OccurredAt: workflow.Now(ctx), Entry: &e,
	}
	w.send(ctx, ev, ev.Type, strconv.FormatBool(sb.Inflows), strconv.FormatBool(sb.Outflows), sb.ActionCode,
		strconv.FormatInt(workflow.Now(ctx).UnixNano(), 10))
	workflow.SetCurrentDetails(ctx, w.details(ctx))
}

func (sb ScopeBlocked) notify() *notify.ScopeBlocked {
	return &notify.ScopeBlocked{Inflows: sb.Inflows, Outflows: sb.Outflows, ActionCode: sb.ActionCode}
}
