package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/webhookstream"
)

// waitPending waits on a pending session: webhooks, the next reconciliation
// poll or the expiry, whichever comes first.
//
// The expiry (plus its grace) counts only while it is ahead: once it
// has passed, the reconciliation schedule alone decides the next read, so a
// read that fails or finds an unknown status can never start a hot loop.
func (w *onboarding) waitPending(ctx workflow.Context) {
	deadline, summary := w.st.NextReconcileAt, "reconcile session"
	if s := w.st.Session; w.st.Status == StatusAwaitingUser && s != nil {
		expiry := s.ExpiresAt.Add(w.cfg.ExpiryGrace)
		if !expiry.After(deadline) && expiry.After(workflow.Now(ctx)) {
			deadline, summary = expiry, "7-day session expiry"
		}
	}
	// A renewal session pending: the renewal's reminders go on.
	reminder := false
	if d := w.st.RenewalDeadline; d != nil && w.st.RemindersSent < len(w.cfg.RenewalReminders) {
		if at := d.Add(-w.cfg.RenewalReminders[w.st.RemindersSent]); at.Before(deadline) {
			deadline, summary, reminder = at, "KYC renewal reminder", true
		}
	}
	if !w.waitUntil(ctx, deadline, summary) {
		return
	}
	ctx = scheduled(ctx, summary)
	if reminder {
		w.renewalTick(ctx)
		return
	}
	w.reconcile(ctx)
}

// waitUntil blocks until a webhook arrives (handled here), held webhooks
// are due (followed here), a handler pokes the loop, or deadline passes
// (zero: no deadline). It reports whether the
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
	var ev webhookstream.MangopayEvent
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
	hintsDue := false
	if t := w.hintTimer(ctx); t != nil {
		sel.AddFuture(t, func(f workflow.Future) {
			hintsDue = f.Get(ctx, nil) == nil
			w.hintT = nil
		})
	}
	wakeF, wake := workflow.NewFuture(ctx)
	w.wake = wake
	sel.AddFuture(wakeF, func(workflow.Future) {})
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	w.waiting = true
	sel.Select(ctx)
	w.waiting = false
	w.wake = nil
	if received {
		w.handleEvent(eventContext(ctx), ev)
	}
	if hintsDue {
		w.followHints(ctx)
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
