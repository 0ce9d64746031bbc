package workflows_test

import (
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/workflows"
)

// checkTimeline: the audit trail keeps every status transition, in order,
// across continue-as-new and compaction: its transitions chain from
// STARTING to the status now, and those seen at the last step are still
// there, unchanged. Every notification taken carries its entry.
func (m *model) checkTimeline(v workflows.StateView) {
	val, err := m.env.QueryWorkflow(workflows.QueryTimeline)
	if err != nil {
		m.fail("query timeline: %v", err)
		return
	}
	var tl workflows.TimelineView
	if err := val.Get(&tl); err != nil {
		m.fail("decode timeline: %v", err)
		return
	}
	for i := 1; i < len(tl.Entries); i++ {
		if tl.Entries[i].Seq <= tl.Entries[i-1].Seq {
			m.fail("timeline entry %d has Seq %d after %d: out of order", i, tl.Entries[i].Seq, tl.Entries[i-1].Seq)
			return
		}
	}
	trs := audit.Transitions(tl.Entries)
	prev := string(workflows.StatusStarting)
	for i, e := range trs {
		if e.OldStatus != prev {
			m.fail("timeline transition %d (Seq %d) is %s→%s after one to %s: a transition is missing", i, e.Seq, e.OldStatus, e.NewStatus, prev)
			return
		}
		prev = e.NewStatus
	}
	if prev != string(v.Status) {
		m.fail("the timeline's last transition is to %s, the onboarding is %s", prev, v.Status)
		return
	}
	if len(trs) < len(m.transitions) {
		m.fail("the timeline lost transitions: %d at the last step, %d now", len(m.transitions), len(trs))
		return
	}
	for i, e := range m.transitions {
		if trs[i].Seq != e.Seq || trs[i].NewStatus != e.NewStatus || trs[i].Cause != e.Cause {
			m.fail("timeline transition %d changed: %+v, was %+v", i, trs[i], e)
			return
		}
	}
	m.transitions = trs
	for _, ev := range m.sink.all() {
		if ev.Entry == nil {
			m.fail("notification %s (%s) carries no timeline entry", ev.ID, ev.Type)
			return
		}
	}
}
