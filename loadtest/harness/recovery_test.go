package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRecovery(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// The fault lasts from 10 s to 20 s.
	start, end := at(10), at(20)
	for _, tc := range []struct {
		name  string
		steps []step
		want  Recovery
	}{
		{"no steps", nil, Recovery{NoCompletionAfter: true}},
		{
			"steps before and after the fault are not exposed",
			[]step{{at(0), at(9)}, {at(21), at(23)}},
			Recovery{FirstCompletionAfter: 3 * time.Second},
		},
		{
			"the last exposed step sets the recovery",
			[]step{{at(5), at(12)}, {at(8), at(35)}, {at(15), at(27)}, {at(19), at(22)}},
			Recovery{Exposed: 4, RecoveredAfter: 15 * time.Second, FirstCompletionAfter: 2 * time.Second},
		},
		{
			"exposed steps done before the end: recovered at once",
			[]step{{at(5), at(11)}, {at(12), at(19)}},
			Recovery{Exposed: 2, NoCompletionAfter: true},
		},
		{
			"a step that never completed is unrecovered",
			[]step{{at(5), time.Time{}}, {at(12), at(30)}, {at(25), time.Time{}}},
			Recovery{Exposed: 2, Unrecovered: 1, RecoveredAfter: 10 * time.Second, FirstCompletionAfter: 10 * time.Second},
		},
		{
			"a step ending exactly at the start or starting exactly at the end",
			[]step{{at(1), at(10)}, {at(20), at(24)}},
			Recovery{Exposed: 1, FirstCompletionAfter: 4 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, recovery(tc.steps, start, end))
		})
	}
}

func TestMeasureRecovery(t *testing.T) {
	began := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	u1 := &userRun{Steps: []step{{began.Add(time.Second), began.Add(8 * time.Second)}}}
	u2 := &userRun{}
	u2.beginStep(began.Add(2 * time.Second))
	u2.endStep(began.Add(3 * time.Second))
	u2.beginStep(began.Add(4 * time.Second))
	u2.abandonStep()
	faults := []Injected{{Fault: FaultRedisRestart, At: 2 * time.Second, Ended: 5 * time.Second}}
	measureRecovery(faults, []*userRun{u1, u2}, began)
	assert.Equal(t, Recovery{Exposed: 3, Unrecovered: 1, RecoveredAfter: 3 * time.Second, FirstCompletionAfter: 3 * time.Second},
		faults[0].Recovery)
}
