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
