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
