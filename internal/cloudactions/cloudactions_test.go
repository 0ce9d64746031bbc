package cloudactions_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/kycflow/kycflow/internal/cloudactions"
)

// Builders of history events.
func event(t enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: t} }

func started() *historypb.HistoryEvent {
	return event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
}

// signaled is a signal event; Count reads no more of it.
func signaled() *historypb.HistoryEvent { return event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) }

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

func TestCount(t *testing.T) {
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
			map[string]int{cloudactions.Start: 1}},
		{"a signal-with-start is one action", join(one(started(), signaled()), wft(), one(signaled())),
			map[string]int{cloudactions.Start: 1, cloudactions.Signals: 1}},
		{"signals, updates, timers, sent signals", join(one(started()), wft(), one(signaled(),
			event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), event(enumspb.EVENT_TYPE_TIMER_STARTED),
			event(enumspb.EVENT_TYPE_TIMER_STARTED), event(enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED))),
			map[string]int{cloudactions.Start: 1, cloudactions.Signals: 1, cloudactions.Updates: 1, cloudactions.Timers: 2, cloudactions.SignalsSent: 1}},
		{"an activity's retries come from the attempt that ended it", join(one(started()), wft(), one(
			event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), activityStarted(1),
			event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), activityStarted(4))),
			map[string]int{cloudactions.Start: 1, cloudactions.Activities: 2, cloudactions.Retries: 3}},
		{"an upsert of TemporalChangeVersion alone is exempt", join(one(started()), wft(), one(
			upsert(cloudactions.ChangeVersionAttr), upsert("KycStatus", "KycAttempt"), upsert("KycStatus", cloudactions.ChangeVersionAttr))),
			map[string]int{cloudactions.Start: 1, cloudactions.Upserts: 2}},
		{"the markers of one workflow task are one action", join(one(started()), wft(), one(
			marker("LocalActivity", 4), marker("SideEffect", 4), marker("Version", 4), marker("Version", 9), marker("Version", 9))),
			map[string]int{cloudactions.Start: 1, cloudactions.Markers: 1, cloudactions.VersionMarkers: 1}},
		{"a child workflow is two, Nexus and options one", join(one(started()), wft(), one(
			event(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), event(enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED),
			event(enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED), event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED))),
			map[string]int{cloudactions.Start: 1, cloudactions.Children: 2, cloudactions.Nexus: 2, cloudactions.Options: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, cloudactions.Count(tc.events))
		})
	}
}
