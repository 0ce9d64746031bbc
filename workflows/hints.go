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
	// Mixed: hints of several types were held since then (the session's
	// types share a window), so the read is owed whatever Next's type says.
	Mixed bool `json:"Mixed,omitempty"`
}

// maxHints bounds the resources whose windows are remembered. Only webhooks
// routed to this onboarding reach it (its user, its sessions and
// documents), so a handful is the norm. Past the bound, a new resource
// takes the slot of the oldest window with nothing held (its next hint is
// then followed at once: one read more); only when every slot holds a hint
// is a new one followed at once, rather than grow the state. A flood must
// thus keep maxHints resources of the user busy to buy reads.
const maxHints = 64

// sharedTopics are the topics whose hints about one resource one read
// answers whatever their type: the user's blocked flows, a KYC document, a
// PSC session (pscEvent reads the PSCs whatever the type) and an IDV
// session (one session read answers every IDENTITY_VERIFICATION_* type;
// followHeld reads it whatever the held type).
var sharedTopics = map[mangopay.Topic]bool{
	mangopay.TopicScope: true, mangopay.TopicDocument: true, mangopay.TopicPSC: true, mangopay.TopicSession: true,
}

// hintKey says which hints one read answers: a webhook's resource and its
// topic when the topic is shared, its type otherwise (the level and renewal
// handlers act on the type).
func hintKey(ev webhookstream.MangopayEvent) string {
	kind := string(ev.EventType)
	if t := ev.EventType.Topic(); sharedTopics[t] {
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
		h := &w.st.Hints[i]
		if h.Next != nil && h.Next.EventType != ev.EventType {
			h.Mixed = true
		}
		held := ev
		h.Next = &held
		w.logger.Debug("webhook held until its resource's hint window ends", "event_type", ev.EventType, "resource_id", ev.ResourceID)
		return
	case w.answeredAlready(ev):
		// Costs no read: it opens no window, so that the session's next
		// webhook (its outcome, after PENDING) is followed at once.
		w.dispatch(ctx, ev)
		return
	case len(w.st.Hints) < maxHints:
		w.st.Hints = append(w.st.Hints, Hint{Key: key, ReadAt: now})
	default:
		// Every slot taken: the oldest window with nothing held makes room.
		oldest := -1
		for j, h := range w.st.Hints {
			if h.Next == nil && (oldest < 0 || h.ReadAt.Before(w.st.Hints[oldest].ReadAt)) {
				oldest = j
			}
		}
		if oldest >= 0 {
			w.st.Hints[oldest] = Hint{Key: key, ReadAt: now}
		}
	}
	w.dispatch(ctx, ev)
}

// answeredAlready tells a hint about the current session that names the
// status the workflow read last: sessionEvent follows it without a read.
func (w *onboarding) answeredAlready(ev webhookstream.MangopayEvent) bool {
	s := w.st.Session
	return ev.EventType.Topic() == mangopay.TopicSession && s != nil && ev.ResourceID == s.IdvSessionID &&
		impliedStatus[ev.EventType] == s.Status
}

// followHeld follows a held hint. The session's types share a window: when
// several were held, the newest's type is no guide (a forged PENDING must
// not hide a genuine VALIDATED held before it), so the session is read
// whatever the type.
func (w *onboarding) followHeld(ctx workflow.Context, h Hint, ev webhookstream.MangopayEvent) {
	if !h.Mixed || ev.EventType.Topic() != mangopay.TopicSession {
		w.dispatch(ctx, ev)
		return
	}
	if s := w.st.Session; s != nil && ev.ResourceID == s.IdvSessionID {
		if res, ok := w.readSession(ctx); ok {
			w.applySession(ctx, res)
		}
		return
	}
	// An earlier session: archivedSessionEvent reads it and keeps it only
	// if Mangopay validated it or put it in review.
	i := slices.IndexFunc(w.st.History, func(r AttemptRecord) bool { return r.IdvSessionID == ev.ResourceID })
	if i >= 0 && w.awaitingAnOutcome() && !hadOutcome(w.st.History[i]) {
		w.archivedSessionEvent(ctx, i)
		return
	}
	w.dispatch(ctx, ev) // not the onboarding's: the handler says so
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
		ev, held := *h.Next, *h
		h.Next, h.ReadAt, h.Mixed = nil, now, false
		if w.st.Status.Final() || w.st.Status == StatusStarting {
			continue // cancelled meanwhile: nothing to follow
		}
		w.followHeld(withCause(ctx, eventCause(ev)), held, ev) // the held event is the cause
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
