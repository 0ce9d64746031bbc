package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/webhookstream"
)

func (w *onboarding) shouldContinueAsNew(ctx workflow.Context) bool {
	if w.creating {
		return false
	}
	info := workflow.GetInfo(ctx)
	return w.reencode || info.GetContinueAsNewSuggested() || (w.cfg.MaxHistoryEvents > 0 && info.GetCurrentHistoryLength() >= w.cfg.MaxHistoryEvents)
}

// readyToContinueAsNew reports whether the run can continue as new now: no
// update handler runs (one would be cut off). It never waits: a handler may
// retry an activity for as long as Mangopay fails it, and the loop must go
// on following the onboarding meanwhile; each handler wakes the loop when it
// ends (handlerDone), and the loop comes back here. Notifications are not
// waited on: the outbox goes to the next run.
func (w *onboarding) readyToContinueAsNew(ctx workflow.Context) bool {
	return ctx.Err() == nil && workflow.AllHandlersFinished(ctx)
}

// quiesce waits for update handlers, then takes every signal still buffered
// so that none is lost. Notifications are not waited on: the outbox goes to
// the next run.
func (w *onboarding) quiesce(ctx workflow.Context) []webhookstream.MangopayEvent {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return w.takeSignals(ctx)
}

func (w *onboarding) continueAsNew(ctx workflow.Context) error {
	w.st.PendingEvents = append(w.st.PendingEvents, w.quiesce(ctx)...)
	w.logger.Info("continuing as new", "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "outbox", len(w.st.Outbox))
	return workflow.NewContinueAsNewError(ctx, KYCOnboarding, Input{
		UserID: w.st.UserID, ReturnURL: w.st.ReturnURL, Tag: w.st.Tag, Config: w.rawCfg, State: w.st,
	})
}

// finish completes the onboarding once its notifications are delivered
// (or held), within Config.FinalDeliveryWait of its final status. The update
// handlers still running get Config.FinalNotifyWait: a handler still running
// then is cut off (its caller retries against the next onboarding). What is
// still undelivered at the end is listed in the Result (the platform reads
// the final state through the API). A new signup or an operator's reopen
// ends the wait at once (releaseForNext): the next onboarding sends the
// undelivered events first. A closed run lets the next ensure-session start
// anew.
func (w *onboarding) finish(ctx workflow.Context) (Result, error) {
	// A Temporal cancel that lands while finish waits must not cut the
	// handlers' wait short: the run would end with an update handler still
	// running, its caller never answered. It does end the wait for
	// deliveries, told by the run's own context (finish may be called on a
	// disconnected one already: the loop's cancel case).
	cancelled := func() bool { return ctx.Err() != nil || w.runCtx != nil && w.runCtx.Err() != nil }
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	start := workflow.Now(ctx)
	deadline := start.Add(w.cfg.FinalNotifyWait)
	remaining := func() time.Duration { return deadline.Sub(workflow.Now(ctx)) }
	// A held outbox is not waited on: it waits for an operator.
	drained := func() bool { return len(w.st.Outbox) == 0 || w.st.NotifyHeld != "" }
	done := func() bool { return w.released || drained() && workflow.AllHandlersFinished(ctx) }
	// Timers only when there is something to wait for. A sender stopped by
	// a Temporal cancel ends at once and restarts on ctx (disconnected); a
	// running one goes on delivering, within the bound.
	if w.sending && !done() {
		_, _ = workflow.AwaitWithTimeout(ctx, remaining(), func() bool { return !w.sending || done() })
	}
	w.startSender(ctx)
	if d := remaining(); d > 0 && !done() {
		_, _ = workflow.AwaitWithTimeout(ctx, d, done)
	}
	w.stopLateHandlers(ctx)
	// The platform may be down for a day: its notifications go on, on
	// their retry schedule, until delivered or held (schedule exhausted,
	// 410), unless a signup releases the run (releaseForNext) or Temporal
	// cancels it.
	deliveryDeadline := start.Add(max(w.cfg.FinalDeliveryWait, w.cfg.FinalNotifyWait))
	ended := func() bool { return w.released || cancelled() || drained() }
	if d := deliveryDeadline.Sub(workflow.Now(ctx)); d > 0 && !ended() {
		_, _ = workflow.AwaitWithTimeout(ctx, d, ended)
	}
	w.stopLateHandlers(ctx)
	for {
		left := w.takeSignals(ctx)
		if len(left) == 0 {
			break
		}
		for _, ev := range left {
			w.handleEvent(ctx, ev) // only remembered and logged now
		}
	}
	res := Result{UserID: w.st.UserID, Status: w.st.Status, Reason: w.st.Reason, Attempt: w.st.Attempt, Refusals: w.st.Refusals}
	if len(w.st.Outbox) > 0 {
		// Kept in the Result, counted and flagged (KycAttention on the
		// closed run): `worker notifications resend` sends them, in order.
		why := "the onboarding ended before its notifications were delivered"
		if w.released {
			why = "the onboarding ended for a new one before its notifications were delivered: the new one sends them first"
		} else {
			w.hold(ctx, why) // counted for the operator's alert
		}
		if w.st.NotifyHeld == "" {
			// Released for the next onboarding (which sends them), or a
			// resend landed while the hold was recorded and unflagged
			// the run; but this run sends nothing more: its Result keeps
			// the events, so it stays listed for `worker notifications`.
			w.st.NotifyHeld = why
			w.upsertVisibility(ctx)
		}
		res.Undelivered = w.st.Outbox
		w.logger.Error("completing with platform notifications undelivered", "count", len(w.st.Outbox))
	}
	return res, nil
}

// stopLateHandlers stops the update handlers still running (one retrying an
// activity through a Mangopay outage), which then answer with an error
// rather than being left unanswered by the run's end.
func (w *onboarding) stopLateHandlers(ctx workflow.Context) {
	if workflow.AllHandlersFinished(ctx) {
		return
	}
	w.stopHandlers()
	_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// takeSignals takes every signal still buffered, without waiting.
func (w *onboarding) takeSignals(ctx workflow.Context) []webhookstream.MangopayEvent {
	var left []webhookstream.MangopayEvent
	for {
		var ev webhookstream.MangopayEvent
		if !w.events.ReceiveAsync(&ev) {
			return left
		}
		_ = eventContext(ctx) // in step with the channel: these are carried, not handled here
		left = append(left, ev)
	}
}

// ReencodeRequest is the re-encode update's argument (nothing yet).
type ReencodeRequest struct{}

// reencodeState asks the main loop to continue as new at its next safe
// point: the new run's input (the whole state) and everything after it are
// encoded with the payload key the worker holds first, so that an old key
// can be retired while the onboarding stays open (an idle VERIFIED one
// lives for years). The answer comes at once; the run ends soon after.
func (w *onboarding) reencodeState(ctx workflow.Context, _ ReencodeRequest) error {
	defer w.handlerDone()
	w.reencode = true
	return nil
}
