package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// The kinds of billable action countActions tells apart.
const (
	actStart          = "start"
	actSignals        = "signals"
	actSignalsSent    = "signals sent"
	actUpdates        = "updates"
	actActivities     = "activities"
	actRetries        = "activity retries"
	actTimers         = "timers"
	actUpserts        = "upserts"
	actMarkers        = "markers"
	actVersionMarkers = "version markers"
	actChildren       = "child workflows"
	actNexus          = "nexus operations"
	actOptions        = "options updates"
)

// changeVersionAttr is the search attribute workflow.GetVersion upserts;
// Temporal Cloud does not bill its upserts.
const changeVersionAttr = "TemporalChangeVersion"

// countActions counts the billable Temporal Cloud actions in one run's
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
func countActions(events []*historypb.HistoryEvent) map[string]int {
	by := map[string]int{}
	markerTasks := map[int64]string{} // workflow task -> the kind its markers count as
	for i, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			by[actStart]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if i == 1 && events[0].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
				continue // signal-with-start: one action, the start's
			}
			by[actSignals]++
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			by[actSignalsSent]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			by[actUpdates]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			by[actActivities]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if n := int(ev.GetActivityTaskStartedEventAttributes().GetAttempt()); n > 1 {
				by[actRetries] += n - 1
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			by[actTimers]++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, ok := fields[changeVersionAttr]; ok && len(fields) == 1 {
				continue
			}
			by[actUpserts]++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			a := ev.GetMarkerRecordedEventAttributes()
			task := a.GetWorkflowTaskCompletedEventId()
			if a.GetMarkerName() != "Version" {
				markerTasks[task] = actMarkers
			} else if _, ok := markerTasks[task]; !ok {
				markerTasks[task] = actVersionMarkers
			}
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			by[actChildren] += 2
		case enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED, enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED:
			by[actNexus]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
			by[actOptions]++
		}
	}
	for _, kind := range markerTasks {
		by[kind]++
	}
	return by
}

// signalSeen is one Mangopay webhook as the onboarding workflow got it.
type signalSeen struct {
	key string // webhookstream.MangopayEvent.Key
	// recorded: the server wrote the signal to the history. applied: the
	// first workflow task that saw it completed, the moment a state query
	// answers the state it leads to.
	recorded, applied time.Time
	// The stages between (zero when the history does not have them): the
	// workflow task that applied it started, and the first activity that
	// task scheduled was scheduled, started and closed.
	taskStarted                                        time.Time
	activityScheduled, activityStarted, activityClosed time.Time
}

// mangopaySignals finds the mangopay-event signals in one run's history.
// A signal whose workflow task has not completed yet has no applied time.
func mangopaySignals(events []*historypb.HistoryEvent, dc converter.DataConverter) []signalSeen {
	var out []signalSeen
	for i, ev := range events {
		a := ev.GetWorkflowExecutionSignaledEventAttributes()
		if ev.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED || a.GetSignalName() != workflows.SignalMangopayEvent {
			continue
		}
		var me webhookstream.MangopayEvent
		if err := dc.FromPayloads(a.GetInput(), &me); err != nil {
			continue // encrypted, or not an event: nothing to match it to
		}
		s := signalSeen{key: me.Key(), recorded: ev.GetEventTime().AsTime()}
		// The signal reaches the workflow in the first workflow task
		// started after it; the state reflects it once that task (or the
		// next one, if it failed) completes.
		started := false
		var completed *historypb.HistoryEvent
		rest := events[i+1:]
		for j, later := range rest {
			switch later.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				started = true
				s.taskStarted = later.GetEventTime().AsTime()
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				if started {
					s.applied = later.GetEventTime().AsTime()
					completed = later
					rest = rest[j+1:]
				}
			}
			if completed != nil {
				break
			}
		}
		if completed != nil {
			activityStages(&s, completed.GetEventId(), rest)
		}
		out = append(out, s)
	}
	return out
}

// activityStages finds the first activity the workflow task completed as
// event taskCompleted scheduled, in the events after it, and when it was
// scheduled, started and closed (its last attempt's start: the history
// writes one started event, for the attempt that closed it).
func activityStages(s *signalSeen, taskCompleted int64, events []*historypb.HistoryEvent) {
	scheduled := int64(-1)
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if scheduled < 0 && ev.GetActivityTaskScheduledEventAttributes().GetWorkflowTaskCompletedEventId() == taskCompleted {
				scheduled = ev.GetEventId()
				s.activityScheduled = ev.GetEventTime().AsTime()
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if scheduled >= 0 && ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId() == scheduled {
				s.activityStarted = ev.GetEventTime().AsTime()
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if scheduled >= 0 && ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId() == scheduled {
				s.activityClosed = ev.GetEventTime().AsTime()
				return
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			if scheduled >= 0 && ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId() == scheduled {
				s.activityClosed = ev.GetEventTime().AsTime()
				return
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			if scheduled >= 0 && ev.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId() == scheduled {
				s.activityClosed = ev.GetEventTime().AsTime()
				return
			}
		}
	}
}

// onboardingHistory is one onboarding's history on the server: every run
// of its workflow ID, oldest first.
type onboardingHistory struct {
	runs [][]*historypb.HistoryEvent
	err  error
}

// fetchHistories reads the histories of the users' onboardings from the
// Temporal server, every run included (continue-as-new, a new execution
// after a close), eight at a time.
func fetchHistories(ctx context.Context, c client.Client, userIDs []string) map[string]onboardingHistory {
	out := make(map[string]onboardingHistory, len(userIDs))
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range userIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runs, err := fetchRuns(ctx, c, workflows.WorkflowID(id))
			mu.Lock()
			out[id] = onboardingHistory{runs: runs, err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// fetchRuns lists the runs of workflowID (visibility), adds those the
// latest run's chain of continued runs names (visibility may lag), and
// reads each run's history, oldest first.
func fetchRuns(ctx context.Context, c client.Client, workflowID string) ([][]*historypb.HistoryEvent, error) {
	runIDs := map[string]bool{}
	var token []byte
	for {
		res, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", workflowID), NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list the runs of %s: %w", workflowID, err)
		}
		for _, e := range res.GetExecutions() {
			runIDs[e.GetExecution().GetRunId()] = true
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	type run struct {
		events []*historypb.HistoryEvent
		start  time.Time
	}
	var runs []run
	read := map[string]bool{}
	readRun := func(runID string) ([]*historypb.HistoryEvent, error) {
		var events []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return nil, fmt.Errorf("read the history of %s run %q: %w", workflowID, runID, err)
			}
			events = append(events, ev)
		}
		if len(events) == 0 {
			return nil, fmt.Errorf("the history of %s run %q is empty", workflowID, runID)
		}
		return events, nil
	}
	// The latest run, then the runs it continues.
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", workflowID, err)
	}
	next := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	for next != "" && !read[next] {
		events, err := readRun(next)
		if err != nil {
			return nil, err
		}
		read[next] = true
		runs = append(runs, run{events, events[0].GetEventTime().AsTime()})
		next = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
	}
	for _, id := range slices.Sorted(maps.Keys(runIDs)) {
		if read[id] {
			continue
		}
		events, err := readRun(id)
		if err != nil {
			return nil, err
		}
		read[id] = true
		runs = append(runs, run{events, events[0].GetEventTime().AsTime()})
	}
	slices.SortFunc(runs, func(a, b run) int { return a.start.Compare(b.start) })
	out := make([][]*historypb.HistoryEvent, len(runs))
	for i, r := range runs {
		out[i] = r.events
	}
	if len(out) == 0 {
		return nil, errors.New("no run of " + workflowID)
	}
	return out, nil
}
