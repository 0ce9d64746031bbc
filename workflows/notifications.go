package workflows

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
)

// notifyStatus tells the platform of the status (or its reason) that
// entry recorded.
func (w *onboarding) notifyStatus(ctx workflow.Context, entry audit.Entry) {
	ev := notify.Event{
		Type: statusEventType(w.st.Status), UserID: w.st.UserID, Status: string(w.st.Status), Reason: w.st.Reason,
		Attempt: w.st.Attempt, OccurredAt: workflow.Now(ctx), Entry: &entry,
	}
	if sb := w.st.ScopeBlocked; sb != nil {
		ev.ScopeBlocked = sb.notify()
	}
	if w.st.Status == StatusRenewal && w.st.RenewalDeadline != nil {
		ev.RenewalDeadline = rfc3339(*w.st.RenewalDeadline)
	}
	if s := w.st.Session; s != nil {
		ev.IdvSessionID = s.IdvSessionID
		ev.Reasons = reasonTypes(s.Checks)
		// Only a usable link, as in every answer.
		ev.HostedURL, ev.ExpiresAt = w.usableLink(workflow.Now(ctx))
		if w.st.Status == StatusAwaitingUser {
			if len(w.st.History) > 0 {
				ev.Reasons = w.st.History[len(w.st.History)-1].Reasons // why a new attempt
			}
		}
	}
	w.send(ctx, ev, ev.Type, strconv.Itoa(w.st.Attempt), ev.IdvSessionID, w.st.Reason, "change", strconv.Itoa(w.st.StatusChanges))
}

// notifyDocument records a document's move from old and tells the platform.
func (w *onboarding) notifyDocument(ctx workflow.Context, d Document, old string) {
	e := w.record(ctx, audit.Entry{Kind: audit.KindDocument, OldStatus: old, NewStatus: d.Status, KycDocumentID: d.KycDocumentID, Reason: d.RefusedReasonType})
	ev := notify.Event{
		Type: notify.DocumentEventType(d.Status), UserID: w.st.UserID, Status: d.Status, DocumentID: d.KycDocumentID,
		OccurredAt: workflow.Now(ctx), Entry: &e,
	}
	if d.RefusedReasonType != "" {
		ev.Reasons = []string{d.RefusedReasonType}
	}
	w.send(ctx, ev, ev.Type, d.KycDocumentID)
}

// send notifies the platform in the background: a platform that is down
// must not hold the onboarding up. The event id is derived from the
// workflow, so Temporal's retries (and a resend from the next run) reach the
// platform with the same id. Events queue in the outbox (carried across
// continue-as-new) and go out one at a time, in order.
func (w *onboarding) send(ctx workflow.Context, ev notify.Event, idParts ...string) {
	info := workflow.GetInfo(ctx)
	ev.ID = mangopay.DeriveIdempotencyKey(append([]string{info.WorkflowExecution.ID, info.FirstRunID}, idParts...)...)
	w.st.Outbox = append(w.st.Outbox, ev)
	w.rememberSpan(ctx, ev.ID)
	w.startSender(ctx)
}

// startSender starts the goroutine that empties the outbox, unless it runs
// or the outbox is held (hold).
func (w *onboarding) startSender(ctx workflow.Context) {
	if w.sending || len(w.st.Outbox) == 0 || w.st.NotifyHeld != "" {
		return
	}
	w.sending = true
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() { w.sending = false }()
		for len(w.st.Outbox) > 0 {
			err := w.deliver(gctx, w.st.Outbox[0])
			if gctx.Err() != nil {
				return // the run is ending: the event stays for the next one
			}
			if err != nil {
				w.hold(gctx, "notification "+w.st.Outbox[0].Type+" was not delivered within its retry schedule: "+errMessage(err))
				if w.st.NotifyHeld != "" || gctx.Err() != nil {
					return
				}
				// An operator re-sent while the hold was being recorded:
				// their startSender found this sender still running, so
				// it goes on, or nothing would send the outbox.
				continue
			}
			w.st.Outbox = w.st.Outbox[1:]
		}
	})
}

// hold keeps the outbox when its first event could not be delivered (its
// whole retry schedule, or a 410 Gone): nothing is dropped, and nothing
// overtakes it, so the platform receives everything in order once an
// operator re-sends them (the resend-notifications update). The onboarding
// says so in its state and KycAttention, and NotificationsHeld counts it
// for the alert.
func (w *onboarding) hold(ctx workflow.Context, why string) {
	if w.st.NotifyHeld != "" || len(w.st.Outbox) == 0 {
		return
	}
	w.st.NotifyHeld = why
	w.upsertVisibility(ctx)
	ev := w.st.Outbox[0]
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
		Summary:             "count held notifications",
	})
	_ = workflow.ExecuteActivity(actx, a.NotificationsHeld, activities.NotificationsHeldInput{
		UserID: w.st.UserID, EventID: ev.ID, EventType: ev.Type, Held: len(w.st.Outbox), Error: why,
	}).Get(ctx, nil)
}

// resendNotifications is the operator's resend: the held outbox goes out
// again, in order, on a new retry schedule. It answers at once with how
// many events are queued; the platform's 2xx empties them.
func (w *onboarding) resendNotifications(ctx workflow.Context, req ResendRequest) (ResendResult, error) {
	defer w.handlerDone()
	res := ResendResult{UserID: w.st.UserID, Queued: len(w.st.Outbox), WasHeld: w.st.NotifyHeld != ""}
	if w.st.NotifyHeld != "" {
		w.logger.Info("an operator re-sends the held notifications", "queued", len(w.st.Outbox))
		w.recordCall(ctx, audit.CallCause(UpdateResendNotifications, req.Actor, req.Reason, ""))
		w.st.NotifyHeld = ""
		w.upsertVisibility(ctx)
		w.startSender(ctx)
	}
	return res, nil
}

// validateResend: a resend is an operator's action, who and why recorded.
func validateResend(req ResendRequest) error {
	if !strings.HasPrefix(req.Actor, audit.OperatorPrefix) {
		return errors.New("a resend is an operator's action: Actor is \"operator:<name>\", with a Reason")
	}
	return validateWho(req.Actor, req.Reason)
}

// heldView is what the state shows of a held outbox.
func (w *onboarding) heldView() *HeldNotifications {
	if w.st.NotifyHeld == "" {
		return nil
	}
	h := &HeldNotifications{Reason: w.st.NotifyHeld}
	for _, ev := range w.st.Outbox {
		h.Events = append(h.Events, HeldEvent{ID: ev.ID, Type: ev.Type, OccurredAt: rfc3339(ev.OccurredAt)})
	}
	return h
}

// deliver runs the notification activity: it fails after its
// schedule-to-close (more than three days of retries, whose jittered delays
// the activity sets) or on a 410 Gone, and the caller holds the outbox.
func (w *onboarding) deliver(ctx workflow.Context, ev notify.Event) error {
	ctx = w.spanContext(ctx, ev.ID)
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: activities.NotifyDeliveryWindow,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: activities.NotifyRetryInitial, BackoffCoefficient: 2, MaximumInterval: activities.NotifyRetryMax},
		Summary:                "notify platform: " + ev.Type,
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.NotifyPlatform, activities.NotifyInput{Event: ev}).Get(ctx, nil)
	if err != nil && ctx.Err() == nil {
		w.logger.Error("platform notification undelivered: the outbox is held", "event_type", ev.Type, "event_id", ev.ID, "error", errMessage(err))
	}
	return err
}
