package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// signupHistory is a history as the server writes it for one signup: event
// ids in order, times in milliseconds from the start, and the scheduled
// event each started or closed event refers to.
type signupHistory struct {
	t0     time.Time
	events []*historypb.HistoryEvent
}

func (h *signupHistory) add(t enumspb.EventType, ms int, scheduled int64) int64 {
	id := int64(len(h.events) + 1)
	ev := &historypb.HistoryEvent{EventId: id, EventType: t, EventTime: timestamppb.New(h.t0.Add(time.Duration(ms) * time.Millisecond))}
	switch t {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{
			WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{ScheduledEventId: scheduled}}
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{
			WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{ScheduledEventId: scheduled}}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{
			ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{ScheduledEventId: scheduled}}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
			ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: scheduled}}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{
			ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{ScheduledEventId: scheduled}}
	}
	h.events = append(h.events, ev)
	return id
}

// task adds a workflow task scheduled, started and completed at these times.
func (h *signupHistory) task(scheduled, started, completed int) {
	id := h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, scheduled, 0)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, started, id)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, completed, id)
}

// activity adds an activity scheduled, started and completed at these
// times. Temporal writes only the last attempt's start: a retried
// activity's earlier attempts and their backoff fall between the schedule
// and that start.
func (h *signupHistory) activity(scheduled, started, completed int) {
	id := h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, scheduled, 0)
	h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, started, id)
	h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, completed, id)
}

// A signup's history as the dev server wrote it during a wave: three
// workflow tasks and two activities, each waiting about 45 ms for a poller.
func oneSignup() *signupHistory {
	h := &signupHistory{t0: time.Unix(1_800_000_000, 0)}
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0, 0)
	h.task(0, 52, 62)
	h.add(enumspb.EVENT_TYPE_MARKER_RECORDED, 62, 0)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, 62, 0)
	h.activity(62, 98, 108) // read the user
	h.task(108, 155, 162)
	h.activity(162, 198, 211) // create the session
	h.task(211, 263, 266)
	h.add(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 266, 0)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 266, 0)
	// After the answer: the platform's notification, not the signup's.
	h.activity(266, 311, 315)
	h.task(315, 362, 367)
	return h
}

func TestSignupStagesSplitTheSignupsTime(t *testing.T) {
	ms := time.Millisecond
	stages, ok := signupStages(oneSignup().events, 300*ms)
	require.True(t, ok)
	assert.Equal(t, map[string]time.Duration{
		SignupTaskDispatch:     (52 + 47 + 52) * ms,
		SignupTaskRun:          (10 + 7 + 3) * ms,
		SignupActivityDispatch: (36 + 36) * ms,
		SignupActivityRun:      (10 + 13) * ms,
		SignupOutside:          (300 - 266) * ms,
	}, stages)
	var sum time.Duration
	for _, d := range stages {
		sum += d
	}
	assert.Equal(t, 300*ms, sum, "the stages add up to the signup's time")
}

func TestSignupStagesPutARetrysBackoffInTheActivitysDispatch(t *testing.T) {
	ms := time.Millisecond
	h := &signupHistory{t0: time.Unix(1_800_000_000, 0)}
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0, 0)
	h.task(0, 5, 10)
	// The first attempt failed at 20 ms; Temporal's retry waited a second
	// and the second attempt, the one the history holds, started at 1,020.
	h.activity(10, 1020, 1030)
	h.task(1030, 1035, 1040)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 1040, 0)

	stages, ok := signupStages(h.events, 1050*ms)
	require.True(t, ok)
	assert.Equal(t, map[string]time.Duration{
		SignupTaskDispatch:     10 * ms,
		SignupTaskRun:          10 * ms,
		SignupActivityDispatch: 1010 * ms,
		SignupActivityRun:      10 * ms,
		SignupOutside:          10 * ms,
	}, stages)
}

func TestSignupStagesNeedTheAnswer(t *testing.T) {
	h := oneSignup()
	var cut []*historypb.HistoryEvent
	for _, ev := range h.events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED {
			break
		}
		cut = append(cut, ev)
	}
	_, ok := signupStages(cut, time.Second)
	assert.False(t, ok, "a history without the completed update has no signup to time")

	stages, ok := signupStages(h.events, 100*time.Millisecond)
	require.True(t, ok)
	assert.Zero(t, stages[SignupOutside], "a signup timed shorter than its history (clocks) is not negative")
}

func TestBreakDownSignupsNamesTheSlowestStageAtTheP99(t *testing.T) {
	ms := time.Millisecond
	var per []map[string]time.Duration
	for i := range 100 {
		per = append(per, map[string]time.Duration{
			SignupTaskDispatch:     time.Duration(100+i) * ms,
			SignupTaskRun:          20 * ms,
			SignupActivityDispatch: 70 * ms,
			SignupActivityRun:      time.Duration(10+3*i) * ms, // the tail: 307 ms at the p99
			SignupOutside:          30 * ms,
		})
	}
	stages, slowest := breakDownSignups(per)
	assert.Equal(t, SignupActivityRun, slowest)
	assert.Equal(t, 100, stages[SignupTaskDispatch].Count)
	assert.Equal(t, 150*ms, stages[SignupTaskDispatch].P50)
	assert.Equal(t, 199*ms, stages[SignupTaskDispatch].P99)

	stages, slowest = breakDownSignups(nil)
	assert.Empty(t, stages)
	assert.Empty(t, slowest)
}
