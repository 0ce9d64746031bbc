// Package cloudactions counts the actions Temporal Cloud bills in a
// workflow history, by kind, following Temporal's definition. The load
// harness and the recorded histories' cost table both count with it.
package cloudactions

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// The kinds of billable action Count tells apart.
const (
	Start          = "start"
	Signals        = "signals"
	SignalsSent    = "signals sent"
	Updates        = "updates"
	Activities     = "activities"
	Retries        = "activity retries"
	Timers         = "timers"
	Upserts        = "upserts"
	Markers        = "markers"
	VersionMarkers = "version markers"
	Children       = "child workflows"
	Nexus          = "nexus operations"
	Options        = "options updates"
)

// ChangeVersionAttr is the search attribute workflow.GetVersion upserts;
// Temporal Cloud does not bill its upserts.
const ChangeVersionAttr = "TemporalChangeVersion"

// Count counts the billable Temporal Cloud actions in one run's
// history, by kind, following Temporal's definition
// (https://docs.temporal.io/cloud/actions):
//   - the start: 1 (a continue-as-new starts a run, so each run counts
//     one; a signal-with-start is 1 in all, its signal included: the
//     server writes that signal right after the start event);
//   - each signal received (WorkflowExecutionSignaled) and each signal the
//     workflow sends (SignalExternalWorkflowExecutionInitiated);
//   - each accepted update (WorkflowExecutionUpdateAccepted);
//   - each activity started or retried: ActivityTaskScheduled counts the
//     first attempt, and ActivityTaskStarted, written once with the attempt
//     that ended the activity, adds attempt-1 retries;
//   - each timer started (TimerStarted, implicit timers included);
//   - each search-attribute upsert, but one that sets only
//     TemporalChangeVersion (the docs exempt it);
//   - markers (side effects, local activities, versions): all the markers
//     of one workflow task count as one action. The docs do not list
//     version markers (workflow.GetVersion); they are counted, to be safe,
//     under a kind of their own;
//   - each child workflow: 2 (its start and its execution);
//   - each Nexus operation scheduled or cancel requested;
//   - each WorkflowExecutionOptionsUpdated.
//
// Billed but absent from a history, so not counted: queries (every
// GET /v1/onboardings is one), rejected updates, and activity heartbeats
// that reach the server. Workflow tasks, completions and the events that
// close a timer or an activity are free.
func Count(events []*historypb.HistoryEvent) map[string]int {
	by := map[string]int{}
	markerTasks := map[int64]string{} // workflow task -> the kind its markers count as
	for i, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			by[Start]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if i == 1 && events[0].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
				continue // signal-with-start: one action, the start's
			}
			by[Signals]++
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			by[SignalsSent]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			by[Updates]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			by[Activities]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if n := int(ev.GetActivityTaskStartedEventAttributes().GetAttempt()); n > 1 {
				by[Retries] += n - 1
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			by[Timers]++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, ok := fields[ChangeVersionAttr]; ok && len(fields) == 1 {
				continue
			}
			by[Upserts]++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			a := ev.GetMarkerRecordedEventAttributes()
			task := a.GetWorkflowTaskCompletedEventId()
			if a.GetMarkerName() != "Version" {
				markerTasks[task] = Markers
			} else if _, ok := markerTasks[task]; !ok {
				markerTasks[task] = VersionMarkers
			}
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			by[Children] += 2
		case enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED, enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED:
			by[Nexus]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
			by[Options]++
		}
	}
	for _, kind := range markerTasks {
		by[kind]++
	}
	return by
}

// Total is the sum of a count by kind.
func Total(by map[string]int) int {
	n := 0
	for _, c := range by {
		n += c
	}
	return n
}
