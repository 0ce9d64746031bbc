package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// Builders of history events.
func event(t enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: t} }

func at(ev *historypb.HistoryEvent, sec int) *historypb.HistoryEvent {
	ev.EventTime = timestamppb.New(time.Unix(int64(sec), 0))
	return ev
}

func started() *historypb.HistoryEvent {
	return event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
}

func signaled(t *testing.T, name string, arg any) *historypb.HistoryEvent {
	ev := event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	var input *commonpb.Payloads
	if arg != nil {
		var err error
		input, err = converter.GetDefaultDataConverter().ToPayloads(arg)
		require.NoError(t, err)
	}
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{
		WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: name, Input: input},
	}
	return ev
}

func activityStarted(attempt int32) *historypb.HistoryEvent {
	ev := event(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	ev.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{
		ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: attempt},
	}
	return ev
}

func upsert(names ...string) *historypb.HistoryEvent {
	fields := map[string]*commonpb.Payload{}
	for _, n := range names {
		fields[n] = &commonpb.Payload{}
	}
	ev := event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
	ev.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{
		UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
		},
	}
	return ev
}

func marker(name string, task int64) *historypb.HistoryEvent {
	ev := event(enumspb.EVENT_TYPE_MARKER_RECORDED)
	ev.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{
		MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: name, WorkflowTaskCompletedEventId: task},
	}
	return ev
}

func TestCountActions(t *testing.T) {
	wft := func() []*historypb.HistoryEvent {
		return []*historypb.HistoryEvent{event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
			event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)}
	}
	join := func(parts ...[]*historypb.HistoryEvent) []*historypb.HistoryEvent {
		var out []*historypb.HistoryEvent
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	one := func(evs ...*historypb.HistoryEvent) []*historypb.HistoryEvent { return evs }
	for _, tc := range []struct {
		name   string
		events []*historypb.HistoryEvent
		want   map[string]int
	}{
		{"workflow tasks, completion and closing events are free", join(one(started()), wft(),
			one(event(enumspb.EVENT_TYPE_TIMER_FIRED), event(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
				event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED), event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED))),
			map[string]int{actStart: 1}},
		{"a signal-with-start is one action", join(one(started(), signaled(t, "x", nil)), wft(), one(signaled(t, "x", nil))),
			map[string]int{actStart: 1, actSignals: 1}},
		{"signals, updates, timers, sent signals", join(one(started()), wft(), one(signaled(t, "x", nil),
			event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), event(enumspb.EVENT_TYPE_TIMER_STARTED),
			event(enumspb.EVENT_TYPE_TIMER_STARTED), event(enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED))),
			map[string]int{actStart: 1, actSignals: 1, actUpdates: 1, actTimers: 2, actSignalsSent: 1}},
		{"an activity's retries come from the attempt that ended it", join(one(started()), wft(), one(
			event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), activityStarted(1),
			event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), activityStarted(4))),
			map[string]int{actStart: 1, actActivities: 2, actRetries: 3}},
		{"an upsert of TemporalChangeVersion alone is exempt", join(one(started()), wft(), one(
			upsert(changeVersionAttr), upsert("KycStatus", "KycAttempt"), upsert("KycStatus", changeVersionAttr))),
			map[string]int{actStart: 1, actUpserts: 2}},
		{"the markers of one workflow task are one action", join(one(started()), wft(), one(
			marker("LocalActivity", 4), marker("SideEffect", 4), marker("Version", 4), marker("Version", 9), marker("Version", 9))),
			map[string]int{actStart: 1, actMarkers: 1, actVersionMarkers: 1}},
		{"a child workflow is two, Nexus and options one", join(one(started()), wft(), one(
			event(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), event(enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED),
			event(enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED), event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED))),
			map[string]int{actStart: 1, actChildren: 2, actNexus: 2, actOptions: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, countActions(tc.events))
		})
	}
}

func TestMangopaySignals(t *testing.T) {
	ev := webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_VALIDATED", ResourceID: "idv_1", Date: 1700000000}
	events := []*historypb.HistoryEvent{
		at(started(), 0),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), 0),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), 1),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 2),
		at(signaled(t, workflows.SignalMangopayEvent, ev), 10),
		at(signaled(t, "other-signal", ev), 10),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), 10),
		// The worker that took the task died: it timed out, the next one
		// applied the signal.
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), 11),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), 21),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), 21),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), 22),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 23),
		at(signaled(t, workflows.SignalMangopayEvent, "not an event"), 30),
		at(signaled(t, workflows.SignalMangopayEvent, webhookstream.MangopayEvent{EventType: "E", ResourceID: "r", Date: 1}), 40),
		at(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), 40),
	}
	got := mangopaySignals(events, converter.GetDefaultDataConverter())
	assert.Equal(t, []signalSeen{
		{key: ev.Key(), recorded: time.Unix(10, 0).UTC(), applied: time.Unix(23, 0).UTC(), taskStarted: time.Unix(22, 0).UTC()},
		{key: "E|r|1", recorded: time.Unix(40, 0).UTC()},
	}, got)
}
