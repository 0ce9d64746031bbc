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
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{
			WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{ScheduledEventId: scheduled}}
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes{
			WorkflowTaskTimedOutEventAttributes: &historypb.WorkflowTaskTimedOutEventAttributes{ScheduledEventId: scheduled}}
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

// sentAt is when the harness sent the signup: 5 ms before the start.
func (h *signupHistory) sentAt() time.Time { return h.t0.Add(-5 * time.Millisecond) }

func TestSignupStagesSplitTheSignupsTime(t *testing.T) {
	ms := time.Millisecond
	h := oneSignup()
	stages, ok := signupStages(h.events, h.sentAt(), 300*ms)
	require.True(t, ok)
	assert.Equal(t, map[string]time.Duration{
		SignupTaskDispatch:     (52 + 47 + 52) * ms,
		SignupTaskRun:          (10 + 7 + 3) * ms,
		SignupActivityDispatch: (36 + 36) * ms,
		SignupActivityRun:      (10 + 13) * ms,
		SignupBetween:          0,
		SignupOutside:          (300 - 266) * ms,
	}, stages)
	assert.Equal(t, 300*ms, sum(stages), "the stages add up to the signup's time")
}

func sum(stages map[string]time.Duration) time.Duration {
	var total time.Duration
	for _, d := range stages {
		total += d
	}
	return total
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

	stages, ok := signupStages(h.events, h.sentAt(), 1050*ms)
	require.True(t, ok)
	assert.Equal(t, map[string]time.Duration{
		SignupTaskDispatch:     10 * ms,
		SignupTaskRun:          10 * ms,
		SignupActivityDispatch: 1010 * ms,
		SignupActivityRun:      10 * ms,
		SignupBetween:          0,
		SignupOutside:          10 * ms,
	}, stages)
}

// A workflow task that timed out on a worker's sticky queue before any
// worker took it, then one that failed and was retried: Temporal writes
// the retries' attempts only when one completes, so the time between the
// failure and the task that completed is in the history but in no task.
func TestSignupStagesKeepTimedOutAndRetriedTasks(t *testing.T) {
	ms := time.Millisecond
	h := &signupHistory{t0: time.Unix(1_800_000_000, 0)}
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0, 0)
	h.task(0, 5, 10)
	h.activity(10, 15, 25)
	timedOut := h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 25, 0)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, 5025, timedOut)
	failed := h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 5025, 0)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, 5030, failed)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, 5040, failed)
	h.task(6040, 6045, 6050)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 6050, 0)

	stages, ok := signupStages(h.events, h.sentAt(), 6060*ms)
	require.True(t, ok)
	assert.Equal(t, (5+5000+5+5)*ms, stages[SignupTaskDispatch], "the timed-out task's wait is dispatch")
	assert.Equal(t, (5+10+5)*ms, stages[SignupTaskRun])
	assert.Equal(t, 1000*ms, stages[SignupBetween], "from the failure to the retried task")
	assert.Equal(t, 6060*ms, sum(stages))
}

// A signup answered 202 after 30 s and asked again: its time runs to the
// second asking's answer, the last completed update before the harness
// had its HostedUrl; a later update (another caller's) is not its.
func TestSignupStagesEndAtTheUpdateThatAnsweredTheSignup(t *testing.T) {
	ms := time.Millisecond
	h := &signupHistory{t0: time.Unix(1_800_000_000, 0)}
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0, 0)
	h.task(0, 5, 10)
	h.activity(10, 20, 30000) // Mangopay slow: the first asking gets a 202
	h.task(30000, 30005, 30010)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 30010, 0)
	h.task(30200, 30205, 30210) // the second asking, answered at once
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 30210, 0)
	h.task(40000, 40005, 40010) // a later caller's
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 40010, 0)

	stages, ok := signupStages(h.events, h.sentAt(), 30220*ms)
	require.True(t, ok)
	assert.Equal(t, (5+5+5)*ms, stages[SignupTaskDispatch])
	assert.Equal(t, 29980*ms, stages[SignupActivityRun])
	assert.Equal(t, (30220-30210)*ms, stages[SignupOutside])
	assert.Equal(t, 30220*ms, sum(stages))
	assert.Equal(t, (30200-30010)*ms, stages[SignupBetween], "the harness's pause before asking again")
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
	_, ok := signupStages(cut, h.sentAt(), time.Second)
	assert.False(t, ok, "a history without the completed update has no signup to time")

	stages, ok := signupStages(h.events, h.sentAt(), 100*time.Millisecond)
	require.True(t, ok, "an answer that seems to come before the update (clocks) takes the first update")
	assert.Zero(t, stages[SignupOutside], "a signup timed shorter than its history is not negative")
}

func TestBreakDownSignupsNamesTheStageOfTheSlowSignups(t *testing.T) {
	ms := time.Millisecond
	var per []signupSplit
	for i := range 100 {
		st := map[string]time.Duration{
			// Each stage's own p99 is the dispatch's (199 ms)...
			SignupTaskDispatch: time.Duration(100+i) * ms,
			SignupTaskRun:      20 * ms,
			SignupActivityRun:  10 * ms,
		}
		if i == 99 {
			// ...but the slowest signup is slow by its activity.
			st[SignupTaskDispatch], st[SignupActivityRun] = 100*ms, 900*ms
		}
		per = append(per, signupSplit{took: sum(st), stages: st})
	}
	stages, slowest := breakDownSignups(per)
	assert.Equal(t, SignupActivityRun, slowest)
	assert.Equal(t, 100, stages[SignupTaskDispatch].Count)
	assert.Equal(t, 149*ms, stages[SignupTaskDispatch].P50)
	assert.Equal(t, 198*ms, stages[SignupTaskDispatch].P99)

	stages, slowest = breakDownSignups(nil)
	assert.Empty(t, stages)
	assert.Empty(t, slowest)
}
