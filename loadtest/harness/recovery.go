package harness

import (
	"fmt"
	"time"
)

// step is one thing the harness waited on for a user: the signup (POST
// /v1/onboardings until it answers a HostedUrl) or a decision at the
// simulator until the platform is notified of the state it leads to. End is
// zero for a step that never completed.
type step struct {
	Start, End time.Time
}

// Recovery is how long the system took to get over one fault, measured on
// the users' steps (signups, and decisions until their notification):
//
//   - Exposed counts the steps in flight at some moment of the fault
//     (started before its end, not completed before its start);
//   - RecoveredAfter is from the fault's end until the last of them
//     completed (zero if they all completed before the end): the time until
//     everything the fault touched has gone through. Unrecovered is set
//     instead when one of them never completed.
//   - FirstCompletionAfter is from the fault's end until the first step
//     completion after it, any step: how long the system stayed without
//     progress. Unset (and NoCompletionAfter set) when no step completed
//     after the end.
//
// Under a load the machine cannot keep up with, an exposed step also waits
// its turn: compare RecoveredAfter with the run's decision-to-notification
// p99.
type Recovery struct {
	Exposed              int           `json:"exposed_steps"`
	RecoveredAfter       time.Duration `json:"recovered_after_ns"`
	Unrecovered          int           `json:"unrecovered_steps,omitempty"`
	FirstCompletionAfter time.Duration `json:"first_completion_after_ns"`
	NoCompletionAfter    bool          `json:"no_completion_after,omitempty"`
}

// recovery measures a fault that lasted from start to end on steps.
func recovery(steps []step, start, end time.Time) Recovery {
	var r Recovery
	var first time.Time
	for _, s := range steps {
		if !s.End.IsZero() && !s.End.Before(end) && (first.IsZero() || s.End.Before(first)) {
			first = s.End
		}
		if !s.Start.Before(end) || (!s.End.IsZero() && s.End.Before(start)) {
			continue // not in flight during the fault
		}
		r.Exposed++
		switch {
		case s.End.IsZero():
			r.Unrecovered++
		case s.End.Sub(end) > r.RecoveredAfter:
			r.RecoveredAfter = s.End.Sub(end)
		}
	}
	if first.IsZero() {
		r.NoCompletionAfter = true
	} else {
		r.FirstCompletionAfter = first.Sub(end)
	}
	return r
}

// String is the table's words for it.
func (r Recovery) String() string {
	first := "no step completed after it"
	if !r.NoCompletionAfter {
		first = fmt.Sprintf("first completion +%s", millis(r.FirstCompletionAfter))
	}
	if r.Unrecovered > 0 {
		return fmt.Sprintf("NOT RECOVERED: %d of %d exposed steps never completed; %s", r.Unrecovered, r.Exposed, first)
	}
	return fmt.Sprintf("recovered +%s (%d exposed steps); %s", millis(r.RecoveredAfter), r.Exposed, first)
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// measureRecovery fills in each injected fault's recovery from the users'
// steps.
func measureRecovery(faults []Injected, users []*userRun, began time.Time) {
	var steps []step
	for _, u := range users {
		u.mu.Lock()
		steps = append(steps, u.Steps...)
		u.mu.Unlock()
	}
	for i := range faults {
		f := &faults[i]
		f.Recovery = recovery(steps, began.Add(f.At), began.Add(f.Ended))
	}
}

// beginStep marks the start of a step of u.
func (u *userRun) beginStep(at time.Time) {
	u.mu.Lock()
	u.stepAt = at
	u.mu.Unlock()
}

// endStep records the step begun last as completed at end.
func (u *userRun) endStep(end time.Time) {
	u.mu.Lock()
	u.Steps = append(u.Steps, step{Start: u.stepAt, End: end})
	u.stepAt = time.Time{}
	u.mu.Unlock()
}

// abandonStep records the step begun last, if any, as never completed.
func (u *userRun) abandonStep() {
	u.mu.Lock()
	if !u.stepAt.IsZero() {
		u.Steps = append(u.Steps, step{Start: u.stepAt})
		u.stepAt = time.Time{}
	}
	u.mu.Unlock()
}
