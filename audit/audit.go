// Package audit is the onboarding's audit trail: one Entry per status
// transition and per action on an onboarding (a document or PSC session
// that moved, a block of the user's flows, a renewal reminder, an
// operator's or the platform's call), each with its cause. The workflow
// keeps the Timeline in its state (carried across continue-as-new), serves
// it to the platform API and attaches to every notification the entry that
// caused it, so that the platform's own store keeps the durable copy.
//
// Entries carry IDs, statuses, reasons and actor names only: never a
// person's name, birthdate or document.
package audit

import (
	"strings"
	"time"
)

// Kinds of entries. KindStatus is a status transition; every other kind is
// detail that Compact may merge once the timeline is long, except an
// operator's action (Cause.Kind CauseOperator): who did what and why stays
// on record like a transition.
const (
	KindStatus    = "status"    // the onboarding's status changed
	KindReason    = "reason"    // the status stayed; its reason changed
	KindDocument  = "document"  // a KYC document's status changed
	KindPSC       = "psc"       // a PSC session's status changed
	KindScope     = "scope"     // Mangopay's blocks of the user's flows changed
	KindReminder  = "reminder"  // a renewal reminder was sent
	KindAction    = "action"    // a platform or operator call that changed no status
	KindCompacted = "compacted" // Count older detail entries, merged
)

// Kinds of causes.
const (
	// CauseMangopayEvent: a Mangopay event (webhook, or the same event fed
	// by the fleet reconciliation or a dead-letter replay) made the
	// workflow re-read the resource.
	CauseMangopayEvent = "mangopay_event"
	// CauseSchedule: the workflow's own timer (a reconciliation read, the
	// 7-day expiry, a retry backoff, a renewal reminder or deadline).
	CauseSchedule = "schedule"
	// CausePlatform: the platform's API call (a platform token).
	CausePlatform = "platform"
	// CauseOperator: an operator's call (an operator token), with a reason.
	CauseOperator = "operator"
	// CauseWorkflow: the onboarding's own start (reading the user).
	CauseWorkflow = "workflow"
	// CauseTemporal: a cancel from Temporal itself (Web UI, CLI).
	CauseTemporal = "temporal"
)

// ActorPlatform is the Actor of a platform-token call; an operator's is
// OperatorPrefix and the operator's name.
const (
	ActorPlatform  = "platform"
	OperatorPrefix = "operator:"
)

// Cause says why an entry happened.
type Cause struct {
	Kind string `json:"Kind"`
	// EventType and ResourceID name the Mangopay event (CauseMangopayEvent).
	EventType  string `json:"EventType,omitempty"`
	ResourceID string `json:"ResourceId,omitempty"`
	// Action is the call (ensure-session, reopen, submit-document, cancel,
	// retry-psc) or, for CauseSchedule, what the timer was for.
	Action string `json:"Action,omitempty"`
	// Actor is "platform" or "operator:<name>" (who made the call).
	Actor string `json:"Actor,omitempty"`
	// Reason is the caller's own why (required of operators).
	Reason string `json:"Reason,omitempty"`
	// IdempotencyKey is the platform's Idempotency-Key of the call.
	IdempotencyKey string `json:"IdempotencyKey,omitempty"`
}

// CallCause is the cause of a platform or operator call: its Kind follows
// from the Actor ("operator:<name>" is an operator; anything else, empty
// included, the platform).
func CallCause(action, actor, reason, idempotencyKey string) Cause {
	c := Cause{Kind: CausePlatform, Action: action, Actor: actor, Reason: reason, IdempotencyKey: idempotencyKey}
	if strings.HasPrefix(actor, OperatorPrefix) {
		c.Kind = CauseOperator
	} else if actor == "" {
		c.Actor = ActorPlatform
	}
	return c
}

// String is the cause in a few words, for the Web UI.
func (c Cause) String() string {
	switch c.Kind {
	case CauseMangopayEvent:
		return c.EventType + " " + c.ResourceID
	case CausePlatform, CauseOperator:
		s := c.Actor + " " + c.Action
		if c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		return s
	case CauseSchedule:
		return "schedule: " + c.Action
	}
	return c.Kind
}

// Entry is one line of the timeline. OldStatus and NewStatus are the
// onboarding's for KindStatus, and the document's or PSC session's for
// KindDocument and KindPSC.
type Entry struct {
	// OnboardingID names the onboarding whose trail the entry is in: a new
	// one for a user's first onboarding, and for a reopen that could not
	// read the closed one's trail (its Seq starts again at 1); a reopen
	// that goes on from the closed one's trail keeps its OnboardingID. So
	// (user, OnboardingID, Seq) never repeats: the platform's storage key.
	OnboardingID string `json:"OnboardingId"`
	// Seq numbers the entries of an onboarding from 1, in order; a merged
	// entry keeps the Seq of the first it merged.
	Seq       int       `json:"Seq"`
	At        time.Time `json:"At"`
	Kind      string    `json:"Kind"`
	OldStatus string    `json:"OldStatus,omitempty"`
	NewStatus string    `json:"NewStatus,omitempty"`
	// Reason is the onboarding's status reason (kycflow's words, Mangopay's
	// reason codes).
	Reason        string `json:"Reason,omitempty"`
	Cause         Cause  `json:"Cause"`
	Attempt       int    `json:"Attempt,omitempty"`
	IdvSessionID  string `json:"IdvSessionId,omitempty"`
	KycDocumentID string `json:"KycDocumentId,omitempty"`
	PscID         string `json:"PscId,omitempty"`
	// Count and Until describe a KindCompacted entry: Count detail entries
	// from At to Until were merged into it.
	Count int        `json:"Count,omitempty"`
	Until *time.Time `json:"Until,omitempty"`
}

// MaxDetail is how many detail entries (every kind but KindStatus,
// KindCompacted and an operator's action) a timeline keeps in full: older
// ones are merged, each run between two kept entries into one
// KindCompacted entry. Transitions and operator actions are merged only
// past MaxKept, so a timeline holds at most MaxKept of them, one merged
// entry per gap between them, MaxDetail entries and one more merged entry.
const MaxDetail = 100

// MaxKept bounds the transitions and operator actions a timeline keeps:
// past it the oldest are merged into the first KindCompacted entry (the
// timeline travels in every run's start input, so it must stay bounded even
// for an onboarding that flips status for decades; the platform's copy,
// from the notifications, keeps them all).
const MaxKept = 2000

// Compact merges the oldest detail entries beyond maxDetail (MaxDetail when
// not positive) and returns the timeline. Every KindStatus entry stays, in
// order, and so does every entry's Seq order.
func Compact(t []Entry, maxDetail int) []Entry {
	return compact(t, maxDetail, MaxKept)
}

func compact(t []Entry, maxDetail, maxKept int) []Entry {
	if maxDetail <= 0 {
		maxDetail = MaxDetail
	}
	excess, keptExcess := -maxDetail, -maxKept
	for _, e := range t {
		if isDetail(e) {
			excess++
		} else if isKept(e) {
			keptExcess++
		}
	}
	if excess <= 0 && keptExcess <= 0 {
		return t
	}
	out := t[:0:0]
	for _, e := range t {
		merge := false
		if excess > 0 && isDetail(e) {
			excess--
			merge = true
		} else if keptExcess > 0 && isKept(e) {
			keptExcess--
			merge = true
		} else if k := len(out); e.Kind == KindCompacted && k > 0 && out[k-1].Kind == KindCompacted {
			merge = true // what it merged joins the merged entry before it
		}
		if !merge {
			out = append(out, e)
			continue
		}
		n := e.Count
		if e.Kind != KindCompacted {
			n = 1
		}
		if k := len(out); k > 0 && out[k-1].Kind == KindCompacted {
			last := &out[k-1]
			last.Count += n
			until := e.At
			last.Until = &until
			continue
		}
		until := e.At
		out = append(out, Entry{OnboardingID: e.OnboardingID, Seq: e.Seq, At: e.At, Kind: KindCompacted, Count: n, Until: &until, Cause: Cause{Kind: KindCompacted}})
	}
	return out
}

// isDetail: an entry Compact merges past maxDetail.
func isDetail(e Entry) bool {
	return e.Kind != KindStatus && e.Kind != KindCompacted && e.Cause.Kind != CauseOperator
}

// isKept: an entry Compact merges only past MaxKept.
func isKept(e Entry) bool {
	return e.Kind == KindStatus || (e.Kind != KindCompacted && e.Cause.Kind == CauseOperator)
}

// Transitions are the KindStatus entries of t, in order.
func Transitions(t []Entry) []Entry {
	var out []Entry
	for _, e := range t {
		if e.Kind == KindStatus {
			out = append(out, e)
		}
	}
	return out
}
