package harness

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// withID numbers an event as the history does.
func withID(ev *historypb.HistoryEvent, id int64) *historypb.HistoryEvent {
	ev.EventId = id
	return ev
}

func atMs(ev *historypb.HistoryEvent, ms int64) *historypb.HistoryEvent {
	ev.EventTime = timestamppb.New(time.UnixMilli(ms))
	return ev
}

func TestMangopaySignalsTimeEachStage(t *testing.T) {
	ev := webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_OUTDATED", ResourceID: "idv_1", Date: 1700000000}
	scheduled := func(byTask int64) *historypb.HistoryEvent {
		e := event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
			ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{WorkflowTaskCompletedEventId: byTask}}
		return e
	}
	actStarted := func(sched int64) *historypb.HistoryEvent {
		e := event(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{
			ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{ScheduledEventId: sched}}
		return e
	}
	actCompleted := func(sched int64) *historypb.HistoryEvent {
		e := event(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
		e.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
			ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: sched}}
		return e
	}
	events := []*historypb.HistoryEvent{
		withID(atMs(started(), 0), 1),
		// An activity of an earlier task, still running: not the webhook's.
		withID(atMs(scheduled(0), 500), 2),
		withID(atMs(signaled(t, workflows.SignalMangopayEvent, ev), 1000), 3),
		withID(atMs(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), 1000), 4),
		withID(atMs(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), 1030), 5),
		withID(atMs(event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 1045), 6),
		withID(atMs(scheduled(6), 1045), 7),
		withID(atMs(actStarted(2), 1050), 8),
		withID(atMs(actStarted(7), 1300), 9),
		withID(atMs(actCompleted(7), 1420), 10),
	}
	got := mangopaySignals(events, converter.GetDefaultDataConverter())
	require.Len(t, got, 1)
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	assert.Equal(t, signalSeen{key: ev.Key(), recorded: ms(1000), taskStarted: ms(1030), applied: ms(1045),
		activityScheduled: ms(1045), activityStarted: ms(1300), activityClosed: ms(1420)}, got[0])
}

func TestStageBreakdown(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	ms := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }
	// A webhook sent at 0 whose stages end at the given milliseconds.
	hook := func(signal, task, applied, scheduled, started, closed int) webhookTimes {
		w := webhookTimes{sent: base, signalSeen: signalSeen{recorded: ms(signal), taskStarted: ms(task), applied: ms(applied)}}
		if scheduled > 0 {
			w.activityScheduled, w.activityStarted, w.activityClosed = ms(scheduled), ms(started), ms(closed)
		}
		return w
	}
	tests := []struct {
		name        string
		hooks       []webhookTimes
		wantMet     bool
		wantMissed  string
		wantCulprit string
		wantStages  map[string]time.Duration // p50 of each
	}{
		{
			name:    "within the goal",
			hooks:   []webhookTimes{hook(10, 20, 30, 30, 35, 300), hook(12, 22, 40, 0, 0, 0)},
			wantMet: true,
			wantStages: map[string]time.Duration{StageToSignal: 12 * time.Millisecond, StageSignalToTask: 10 * time.Millisecond,
				StageTask: 18 * time.Millisecond, StageScheduleToStart: 5 * time.Millisecond, StageActivity: 265 * time.Millisecond},
		},
		{
			// The workflow tasks queue: a slow activity afterwards is not
			// the reason.
			name:        "p99 missed in the task queue",
			hooks:       []webhookTimes{hook(10, 20, 30, 30, 35, 9000), hook(10, 900, 910, 0, 0, 0)},
			wantMissed:  "p99 910ms > 500ms",
			wantCulprit: StageSignalToTask,
			wantStages: map[string]time.Duration{StageToSignal: 10 * time.Millisecond, StageSignalToTask: 890 * time.Millisecond,
				StageTask: 10 * time.Millisecond, StageScheduleToStart: 5 * time.Millisecond, StageActivity: 8965 * time.Millisecond},
		},
		{
			name:        "p50 missed at intake",
			hooks:       []webhookTimes{hook(80, 85, 90, 0, 0, 0), hook(70, 75, 80, 0, 0, 0), hook(5, 10, 15, 0, 0, 0)},
			wantMissed:  "p50 80ms > 50ms",
			wantCulprit: StageToSignal,
			wantStages: map[string]time.Duration{StageToSignal: 70 * time.Millisecond, StageSignalToTask: 5 * time.Millisecond,
				StageTask: 5 * time.Millisecond},
		},
		{
			name:       "a signal not applied yet has no state",
			hooks:      []webhookTimes{{sent: base, signalSeen: signalSeen{recorded: ms(10)}}},
			wantMissed: "no webhook reached its state",
			wantStages: map[string]time.Duration{StageToSignal: 10 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := stageBreakdown(tt.hooks)
			assert.Equal(t, tt.wantMet, b.Met)
			assert.Equal(t, tt.wantMissed, b.Missed)
			assert.Equal(t, tt.wantCulprit, b.Culprit)
			got := map[string]time.Duration{}
			for stage, p := range b.Stages {
				got[stage] = p.P50
			}
			assert.Equal(t, tt.wantStages, got)
			var out bytes.Buffer
			b.Table(&out, "  ")
			if tt.wantCulprit != "" {
				assert.Contains(t, out.String(), "slowest stage: "+tt.wantCulprit)
			}
		})
	}
}

func TestMatchWebhooksTakesTheFirstSendAndSignal(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	deliveries := []sandbox.Delivery{
		{EventType: "E", ResourceID: "r1", Date: 1, SentAt: base.Add(2 * time.Second), Result: sandbox.Delivered},
		{EventType: "E", ResourceID: "r1", Date: 1, SentAt: base, Result: sandbox.Failed},
		{EventType: "E", ResourceID: "r2", Date: 1, SentAt: base, Result: sandbox.Delivered},
		{EventType: "E", ResourceID: "r3", Date: 1}, // dropped: never sent
	}
	signals := []signalSeen{
		{key: "E|r1|1", recorded: base.Add(3 * time.Second)},
		{key: "E|r1|1", recorded: base.Add(time.Second)},
	}
	matched, unsignalled := matchWebhooks(deliveries, signals)
	require.Len(t, matched, 1)
	assert.Equal(t, base, matched[0].sent)
	assert.Equal(t, base.Add(time.Second), matched[0].recorded)
	assert.Equal(t, 1, unsignalled, "r2 was delivered and never signalled")
}

func TestWaveBound(t *testing.T) {
	tests := []struct {
		name       string
		calls      int
		rate       float64
		burst      int
		took       time.Duration
		wantBound  time.Duration
		wantBeyond time.Duration
	}{
		// The 2026-12-06 wave: 5,344 calls at 50/s after a burst of 300.
		{name: "budget-bound wave", calls: 5344, rate: 50, burst: 300, took: 133700 * time.Millisecond,
			wantBound: 100880 * time.Millisecond, wantBeyond: 32820 * time.Millisecond},
		{name: "within the burst: no bound", calls: 200, rate: 50, burst: 300, took: 3 * time.Second, wantBeyond: 3 * time.Second},
		{name: "faster than the bound is not negative", calls: 400, rate: 10, burst: 0, took: 30 * time.Second, wantBound: 40 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := waveBound(tt.calls, tt.rate, tt.burst, tt.took)
			assert.Equal(t, WaveBound{Calls: tt.calls, Bound: tt.wantBound, Beyond: tt.wantBeyond}, b)
		})
	}
}
