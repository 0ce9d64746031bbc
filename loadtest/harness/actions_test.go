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
