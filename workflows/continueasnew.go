package workflows

import (
	"go.temporal.io/sdk/workflow"
)

func (w *onboarding) shouldContinueAsNew(ctx workflow.Context) bool {
	if w.creating {
		return false
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || (w.cfg.MaxHistoryEvents > 0 && info.GetCurrentHistoryLength() >= w.cfg.MaxHistoryEvents)
}

// readyToContinueAsNew waits for the update handlers to finish, unless one of
// them gives the loop work (an ensure-session that wants a session, a cancel):
// those handlers wait on the loop, so waiting on them would deadlock. It
// reports whether the run can continue as new now; if not, the loop does the
// work first and comes back. Notifications are not waited on: the outbox goes
// to the next run.
func (w *onboarding) readyToContinueAsNew(ctx workflow.Context) bool {
	loopWork := func() bool { return w.sessionWanted() || w.st.Status.Final() }
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) || loopWork() })
	return ctx.Err() == nil && !loopWork() && workflow.AllHandlersFinished(ctx)
}

// quiesce waits for update handlers, then takes every signal still buffered
// so that none is lost. Notifications are not waited on: the outbox goes to
// the next run (or is bounded by FinalNotifyWait in finish).
func (w *onboarding) quiesce(ctx workflow.Context) []MangopayEvent {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
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
	w.logger.Info("continuing as new", "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "outbox", len(w.st.Outbox))
	return workflow.NewContinueAsNewError(ctx, KYCOnboarding, Input{
		UserID: w.st.UserID, ReturnURL: w.st.ReturnURL, Tag: w.st.Tag, Config: w.rawCfg, State: w.st,
	})
}

// finish completes the onboarding. It gives the platform's notifications at most Config.FinalNotifyWait to go out; what is
// still undelivered then is listed in the Result (the platform reads the
// final state through the API).
func (w *onboarding) finish(ctx workflow.Context) (Result, error) {
	// A sender stopped by a Temporal cancel restarts on ctx.
	_ = workflow.Await(ctx, func() bool { return !w.sending })
	w.startSender(ctx)
	if len(w.st.Outbox) > 0 { // a timer only when there is something to wait for
		_, _ = workflow.AwaitWithTimeout(ctx, w.cfg.FinalNotifyWait, func() bool { return len(w.st.Outbox) == 0 })
	}
	for {
		left := w.quiesce(ctx)
		if len(left) == 0 {
			break
		}
		for _, ev := range left {
			w.handleEvent(ctx, ev) // only remembered and logged now
		}
	}
	res := Result{UserID: w.st.UserID, Status: w.st.Status, Reason: w.st.Reason, Attempt: w.st.Attempt}
	if len(w.st.Outbox) > 0 {
		res.Undelivered = w.st.Outbox
		w.logger.Warn("completing with platform notifications undelivered", "count", len(w.st.Outbox))
	}
	return res, nil
}
