package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/webhookstream"
)

// Hint is one resource whose webhooks were followed by a read within the
// last HintWindow. A webhook is only a hint that something changed: whoever
// holds the webhook URL's token can send any number of them, each with a new
// Date that passes the dedupe, so each must not cost a Mangopay read. The
// first hint about a resource is followed at once; the next ones within
// HintWindow of that read are held (the newest one in Next) and followed
// once, when the window ends. The read owed is thus never older than the
// newest hint, and a resource costs at most one read per window.
type Hint struct {
	// Key names the resource and the read (hintKey).
	Key string `json:"Key"`
	// ReadAt is when the last hint about it was followed.
	ReadAt time.Time `json:"ReadAt"`
	// Next is the newest hint held since then: followed at ReadAt plus
	// HintWindow.
	Next *webhookstream.MangopayEvent `json:"Next,omitempty"`
}

// maxHints bounds the resources whose windows are remembered. Only webhooks
// routed to this onboarding reach it (its user, its sessions and
// documents), so a handful is the norm; past the bound, a hint is followed
// at once, as before windows existed, rather than grow the state.
const maxHints = 64

// hintKey says which hints one read answers: a webhook's type and
// resource, except that the types whose handler reads the same thing
// whatever the type (the topics of the user's blocked flows and of a KYC
// document) share one key.
func hintKey(ev webhookstream.MangopayEvent) string {
	kind := string(ev.EventType)
	if t := ev.EventType.Topic(); t == mangopay.TopicScope || t == mangopay.TopicDocument {
		kind = "topic:" + string(t)
	}
	return kind + "|" + ev.ResourceID
}

// hint follows ev now, or holds it until its resource's window ends.
func (w *onboarding) hint(ctx workflow.Context, ev webhookstream.MangopayEvent) {
	now := workflow.Now(ctx)
	w.dropSpentHints(now)
	key := hintKey(ev)
	i := slices.IndexFunc(w.st.Hints, func(h Hint) bool { return h.Key == key })
	switch {
	case i >= 0:
		held := ev
		w.st.Hints[i].Next = &held
		w.logger.Debug("webhook held until its resource's hint window ends", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	case len(w.st.Hints) < maxHints:
		w.st.Hints = append(w.st.Hints, Hint{Key: key, ReadAt: now})
	}
	w.dispatch(ctx, ev)
}

// dropSpentHints forgets the windows that are over with nothing held.
func (w *onboarding) dropSpentHints(now time.Time) {
	w.st.Hints = slices.DeleteFunc(w.st.Hints, func(h Hint) bool {
		return h.Next == nil && !now.Before(h.ReadAt.Add(w.cfg.HintWindow))
	})
}

// hintsDue is when the earliest held hint is to be followed (ok false: none
// is held).
func (w *onboarding) hintsDue() (due time.Time, ok bool) {
	for _, h := range w.st.Hints {
		if h.Next == nil {
			continue
		}
		if at := h.ReadAt.Add(w.cfg.HintWindow); !ok || at.Before(due) {
			due, ok = at, true
		}
	}
	return due, ok
}

// followHints follows every held hint whose window has ended, in the order
// their resources were first read; each starts a new window.
func (w *onboarding) followHints(ctx workflow.Context) {
	now := workflow.Now(ctx)
	for i := range w.st.Hints {
		h := &w.st.Hints[i]
		if h.Next == nil || now.Before(h.ReadAt.Add(w.cfg.HintWindow)) {
			continue
		}
		ev := *h.Next
		h.Next, h.ReadAt = nil, now
		if w.st.Status.Final() || w.st.Status == StatusStarting {
			continue // cancelled meanwhile: nothing to follow
		}
		w.dispatch(withCause(ctx, eventCause(ev)), ev) // the held event is the cause
	}
	w.dropSpentHints(workflow.Now(ctx))
}

// hintTimer returns the timer of the earliest held hint, starting it (and
// dropping one set for another time) when needed; nil when none is held.
func (w *onboarding) hintTimer(ctx workflow.Context) workflow.Future {
	due, ok := w.hintsDue()
	if !ok {
		w.dropHintTimer()
		return nil
	}
	if w.hintT != nil && w.hintAt.Equal(due) {
		return w.hintT
	}
	w.dropHintTimer()
	tctx, cancel := workflow.WithCancel(ctx)
	w.hintT = workflow.NewTimerWithOptions(tctx, max(due.Sub(workflow.Now(ctx)), time.Millisecond),
		workflow.TimerOptions{Summary: "follow held webhooks"})
	w.hintAt, w.cancelHint = due, cancel
	return w.hintT
}

// dropHintTimer cancels the held hints' timer, if any.
func (w *onboarding) dropHintTimer() {
	if w.hintT != nil {
		w.cancelHint()
		w.hintT = nil
	}
}
