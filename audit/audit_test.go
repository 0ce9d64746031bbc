package audit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/audit"
)

// timeline builds a timeline from a pattern: 's' a status transition, 'd'
// a detail entry (a document's status), 'o' an operator's action, 'p' the
// platform's.
func timeline(pattern string) []audit.Entry {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var out []audit.Entry
	for i, c := range pattern {
		e := audit.Entry{Seq: i + 1, At: t0.Add(time.Duration(i) * time.Minute), Kind: audit.KindDocument, KycDocumentID: "kyc_1"}
		switch c {
		case 's':
			e.Kind, e.NewStatus = audit.KindStatus, "AWAITING_USER"
		case 'o':
			e.Kind, e.Cause = audit.KindAction, audit.CallCause("resend-notifications", "operator:alice", "endpoint fixed", "")
		case 'p':
			e.Kind, e.Cause = audit.KindAction, audit.CallCause("ensure-session", "", "", "k1")
		}
		out = append(out, e)
	}
	return out
}

func kinds(t []audit.Entry) string {
	s := ""
	for _, e := range t {
		switch e.Kind {
		case audit.KindStatus:
			s += "s"
		case audit.KindCompacted:
			s += "c"
		case audit.KindAction:
			s += map[string]string{audit.CauseOperator: "o", audit.CausePlatform: "p"}[e.Cause.Kind]
		default:
			s += "d"
		}
	}
	return s
}

func TestCompact(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
		counts   []int // Count of each merged entry, in order
	}{
		{"under the bound: unchanged", "sdsdd", 3, "sdsdd", nil},
		{"oldest details merged, per gap", "sddsdddsd", 2, "scscdsd", []int{2, 2}},
		{"consecutive details merge into one", "sdddddd", 1, "scd", []int{5}},
		{"transitions alone are never merged", "ssss", 1, "ssss", nil},
		{"leading details", "ddsdd", 1, "cscd", []int{2, 1}},
		// An operator's action is kept like a transition (who and why stay
		// on record); the platform's are detail.
		{"operator actions are never merged", "odpdodd", 1, "ococd", []int{3, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := timeline(tc.in)
			got := audit.Compact(in, tc.max)
			assert.Equal(t, tc.want, kinds(got))
			var counts []int
			for _, e := range got {
				if e.Kind == audit.KindCompacted {
					counts = append(counts, e.Count)
				}
			}
			assert.Equal(t, tc.counts, counts)
		})
	}
}

// TestCompactLongLived: an onboarding with hundreds of transitions and
// thousands of detail entries, compacted after every entry as the workflow
// does, keeps every transition in order, the latest MaxDetail details in
// full, and accounts for every merged entry.
func TestCompactLongLived(t *testing.T) {
	var tl []audit.Entry
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	transitions, details := 0, 0
	for i := 1; i <= 3000; i++ {
		e := audit.Entry{Seq: i, At: t0.Add(time.Duration(i) * time.Hour), Kind: audit.KindDocument}
		if i%7 == 0 {
			e.Kind, e.NewStatus = audit.KindStatus, "VERIFIED"
			transitions++
		} else {
			details++
		}
		tl = audit.Compact(append(tl, e), audit.MaxDetail)
	}
	require.Len(t, audit.Transitions(tl), transitions, "every transition is kept")
	merged, full := 0, 0
	for i, e := range tl {
		if i > 0 {
			require.Greater(t, e.Seq, tl[i-1].Seq, "in order")
		}
		switch e.Kind {
		case audit.KindCompacted:
			merged += e.Count
			require.NotNil(t, e.Until)
			require.False(t, e.Until.Before(e.At))
		case audit.KindStatus:
		default:
			full++
		}
	}
	assert.Equal(t, audit.MaxDetail, full, "the latest details are kept in full")
	assert.Equal(t, details, merged+full, "every detail entry is kept or counted")
	assert.LessOrEqual(t, len(tl), 2*transitions+1+audit.MaxDetail, "the bound")
	for _, e := range tl[len(tl)-audit.MaxDetail:] {
		assert.NotEqual(t, audit.KindCompacted, e.Kind, "the newest entries are never merged")
	}
}

// TestCompactKeepsAtMostMaxKept: past audit.MaxKept transitions and
// operator actions, the oldest are merged into the first entry, counted,
// so the timeline a run carries stays bounded; nothing goes uncounted.
func TestCompactKeepsAtMostMaxKept(t *testing.T) {
	var tl []audit.Entry
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	total := audit.MaxKept + 1000
	for i := 1; i <= total; i++ {
		e := audit.Entry{Seq: i, At: t0.Add(time.Duration(i) * time.Hour), Kind: audit.KindStatus, NewStatus: "VERIFIED"}
		switch {
		case i%5 == 0:
			e.Kind, e.NewStatus, e.KycDocumentID = audit.KindDocument, "VALIDATED", "kyc_1"
		case i%7 == 0:
			e.Kind, e.Cause = audit.KindAction, audit.CallCause("cancel", "operator:bob", "compliance", "")
		}
		tl = audit.Compact(append(tl, e), audit.MaxDetail)
	}
	kept, counted := 0, 0
	for i, e := range tl {
		if i > 0 {
			require.Greater(t, e.Seq, tl[i-1].Seq, "in order")
			require.False(t, e.Kind == audit.KindCompacted && tl[i-1].Kind == audit.KindCompacted, "merged entries side by side are one")
		}
		if e.Kind == audit.KindCompacted {
			counted += e.Count
			continue
		}
		counted++
		if e.Kind == audit.KindStatus || e.Cause.Kind == audit.CauseOperator {
			kept++
		}
	}
	assert.Equal(t, audit.MaxKept, kept)
	assert.Equal(t, total, counted, "every entry is kept or counted")
	assert.Equal(t, audit.KindCompacted, tl[0].Kind, "the oldest are merged first")
	assert.LessOrEqual(t, len(tl), 2*audit.MaxKept+audit.MaxDetail+1, "the bound")
}

func TestCallCause(t *testing.T) {
	assert.Equal(t, audit.Cause{Kind: audit.CauseOperator, Action: "reopen", Actor: "operator:alice", Reason: "appeal upheld"},
		audit.CallCause("reopen", "operator:alice", "appeal upheld", ""))
	assert.Equal(t, audit.Cause{Kind: audit.CausePlatform, Action: "ensure-session", Actor: audit.ActorPlatform, IdempotencyKey: "k1"},
		audit.CallCause("ensure-session", "", "", "k1"))
}
