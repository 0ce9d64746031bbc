package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/workflows"
)

// Story is everything the harness knows of one user that a check found
// wrong, told from the run's own records so that a failed run explains
// itself without a rerun: the path and where it stopped, every
// notification, what Temporal has the onboarding doing and what its
// history holds, the user's webhooks in the simulator's delivery log and
// its Mangopay calls, the faults around it, and the call budget's state.
type Story struct {
	UserID     string        `json:"user_id"`
	Path       Path          `json:"path"`
	Violations []string      `json:"violations"`
	Started    time.Duration `json:"started_ns"` // since the run began
	Lost       string        `json:"lost,omitempty"`
	// Notifications the platform received, in arrival order.
	Notifications []string `json:"notifications"`
	// Temporal is what the onboarding waits on now (pendingWork).
	Temporal string `json:"temporal"`
	// History is the onboarding's workflow history, every run of it, one
	// line an event (signals, activities, timers, updates, failures).
	History []string `json:"history"`
	// Webhooks are the simulator's deliveries for the user's resources
	// (the user, its sessions, documents and PSCs).
	Webhooks []string `json:"webhooks"`
	// Calls are the user's Mangopay calls as the simulator received them.
	Calls []string `json:"calls"`
	// Faults are the run's faults; those that overlap the user's time in
	// the run are marked with "*".
	Faults []string `json:"faults"`
	// Budget is the call budget's state in each worker and bridge at the
	// end of the run (its metrics).
	Budget []string `json:"budget"`
}

// storyLimit bounds a story's lists in the test output (the work folder's
// copy is whole): a lost user's story must be readable in CI's log.
const storyLimit = 80

// tellStories writes the story of every user a violation names into the
// work folder (stories/<user>.json) and returns them. The run's faults and
// the system's state are read once for all.
func tellStories(ctx context.Context, sys *system, users []*userRun, violations []Violation, faults []Injected, began time.Time, workDir string) []Story {
	byUser := map[string][]string{}
	var order []string
	for _, v := range violations {
		if v.UserID == "" {
			continue
		}
		if _, ok := byUser[v.UserID]; !ok {
			order = append(order, v.UserID)
		}
		byUser[v.UserID] = append(byUser[v.UserID], v.Kind+": "+v.Detail)
	}
	if len(order) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	deliveries, derr := sys.simDeliveries(ctx)
	calls, cerr := sys.simCallLog(ctx, began.Add(-time.Minute))
	budget := budgetState(ctx, sys)
	tc, terr := sys.temporalClient()
	if terr == nil {
		defer tc.Close()
	}
	var out []Story
	for _, id := range order {
		var u *userRun
		for _, c := range users {
			if c.UserID == id {
				u = c
				break
			}
		}
		if u == nil {
			continue
		}
		s := Story{UserID: id, Path: u.Path, Violations: byUser[id], Budget: budget}
		u.mu.Lock()
		s.Started, s.Lost = u.Started.Sub(began), u.Lost
		end := time.Now()
		if u.Done {
			end = u.DoneAt
		}
		u.mu.Unlock()
		at := func(t time.Time) string { return fmt.Sprintf("%7.1fs", t.Sub(began).Seconds()) }
		for _, ev := range sys.obs.events(id) {
			line := fmt.Sprintf("%s %s %s attempt %d", at(ev.At), ev.Type, ev.Status, ev.Attempt)
			for _, f := range [][2]string{{"session", ev.IdvSessionID}, {"psc", ev.PscID}, {"document", ev.DocumentID}, {"id", ev.ID}} {
				if f[1] != "" {
					line += " " + f[0] + " " + f[1]
				}
			}
			s.Notifications = append(s.Notifications, line)
		}
		if tc != nil {
			s.Temporal = pendingWork(ctx, tc, workflows.WorkflowID(id))
			s.History = historyLines(ctx, tc, workflows.WorkflowID(id), began)
		} else {
			s.Temporal = "no Temporal client: " + terr.Error()
		}
		resources := map[string]bool{id: true}
		for _, ev := range sys.obs.events(id) {
			for _, r := range []string{ev.IdvSessionID, ev.PscID, ev.DocumentID} {
				if r != "" {
					resources[r] = true
				}
			}
		}
		u.mu.Lock()
		for _, r := range u.Sessions {
			resources[r] = true
		}
		u.mu.Unlock()
		if derr != nil {
			s.Webhooks = []string{"cannot read the delivery log: " + derr.Error()}
		}
		for _, d := range deliveries {
			if resources[d.ResourceID] {
				s.Webhooks = append(s.Webhooks, fmt.Sprintf("%s %s %s attempt %d %s %d%s%s", at(d.At), d.EventType, d.ResourceID,
					d.Attempt, d.Result, d.StatusCode, lo(d.Duplicate, " duplicate"), lo(d.Error != "", " "+d.Error)))
			}
		}
		if cerr != nil {
			s.Calls = []string{"cannot read the call log: " + cerr.Error()}
		}
		for _, c := range calls.Calls {
			if c.UserID == id {
				s.Calls = append(s.Calls, fmt.Sprintf("%s %s %d", at(time.UnixMilli(c.At)), c.Route, c.Status))
			}
		}
		for _, f := range faults {
			mark := " "
			if f.around(began, u.Started, end) {
				mark = "*"
			}
			line := fmt.Sprintf("%s %s %s at %.1fs ended %.1fs", mark, f.Fault, f.Target, f.At.Seconds(), f.Ended.Seconds())
			if f.Error != "" {
				line += " error: " + f.Error
			}
			s.Faults = append(s.Faults, line)
		}
		out = append(out, s)
		if workDir != "" {
			dir := filepath.Join(workDir, "stories")
			if err := os.MkdirAll(dir, 0o755); err == nil {
				if b, err := json.MarshalIndent(s, "", "  "); err == nil {
					_ = os.WriteFile(filepath.Join(dir, id+".json"), b, 0o644)
				}
			}
		}
	}
	return out
}

// around says whether the fault was on at some moment between from and to
// (a user's time in the run); a fault not ended yet counts from its start.
func (f Injected) around(began, from, to time.Time) bool {
	start, end := began.Add(f.At), began.Add(max(f.Ended, f.At))
	return !start.After(to) && !end.Before(from)
}

func lo(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

// historyLines reads every run of the workflow (following continue-as-new
// back from the newest) and gives one line an event.
func historyLines(ctx context.Context, tc client.Client, workflowID string, began time.Time) []string {
	var runs [][]string
	runID := ""
	for range 20 { // a run of the harness continues as new a few times at most
		var lines []string
		prev := ""
		it := tc.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				lines = append(lines, "cannot read the history: "+err.Error())
				break
			}
			lines = append(lines, eventLine(e, began))
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				prev = a.GetContinuedExecutionRunId()
			}
		}
		runs = append(runs, lines)
		if prev == "" {
			break
		}
		runID = prev
	}
	var out []string
	for i := len(runs) - 1; i >= 0; i-- {
		if i < len(runs)-1 {
			out = append(out, "-- continued as new --")
		}
		out = append(out, runs[i]...)
	}
	return out
}

// eventLine names an event and what matters in it for a post-mortem.
func eventLine(e *historypb.HistoryEvent, began time.Time) string {
	line := fmt.Sprintf("%7.1fs %s", e.GetEventTime().AsTime().Sub(began).Seconds(),
		strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_"))
	switch {
	case e.GetActivityTaskScheduledEventAttributes() != nil:
		line += " " + e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
	case e.GetActivityTaskFailedEventAttributes() != nil:
		line += " " + e.GetActivityTaskFailedEventAttributes().GetFailure().GetMessage()
	case e.GetActivityTaskTimedOutEventAttributes() != nil:
		line += " " + e.GetActivityTaskTimedOutEventAttributes().GetFailure().GetMessage()
	case e.GetActivityTaskStartedEventAttributes() != nil:
		line += fmt.Sprintf(" attempt %d", e.GetActivityTaskStartedEventAttributes().GetAttempt())
	case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
		line += " " + e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()
	case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
		line += " " + e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()
	case e.GetTimerStartedEventAttributes() != nil:
		line += " " + e.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration().String()
	case e.GetWorkflowTaskFailedEventAttributes() != nil:
		line += " " + e.GetWorkflowTaskFailedEventAttributes().GetCause().String() + " " +
			e.GetWorkflowTaskFailedEventAttributes().GetFailure().GetMessage()
	case e.GetWorkflowTaskTimedOutEventAttributes() != nil:
		line += " " + e.GetWorkflowTaskTimedOutEventAttributes().GetTimeoutType().String()
	case e.GetUpsertWorkflowSearchAttributesEventAttributes() != nil:
		var keys []string
		for k := range e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		line += " " + strings.Join(keys, ",")
	}
	return line
}

// budgetState reads the call budget's metrics of every worker and bridge:
// the calls left in each Mangopay window, the waits and the 429s.
func budgetState(ctx context.Context, sys *system) []string {
	var out []string
	for _, p := range append(append([]*proc{}, sys.workers...), sys.bridges...) {
		if p == nil || p.ready == "" {
			continue
		}
		u := p.ready[:strings.LastIndex(p.ready, "/")] + "/metrics"
		lines, err := budgetLines(ctx, u)
		if err != nil {
			out = append(out, p.name+": "+err.Error())
			continue
		}
		for _, l := range lines {
			out = append(out, p.name+": "+l)
		}
	}
	return out
}

func budgetLines(ctx context.Context, url string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return filterBudgetMetrics(io.LimitReader(resp.Body, 8<<20))
}

// filterBudgetMetrics keeps the budget's series: its remaining calls per
// window, its wait (count and sum), and the 429s.
func filterBudgetMetrics(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, callbudget.MetricRemaining),
			strings.HasPrefix(l, callbudget.MetricRateLimited),
			strings.HasPrefix(l, callbudget.MetricWait+"_count"),
			strings.HasPrefix(l, callbudget.MetricWait+"_sum"):
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// write prints a story for a person, each list cut to storyLimit
// lines (the work folder keeps it whole).
func (s Story) write(w io.Writer) {
	fmt.Fprintf(w, "=== story of %s (%s), started at %.1fs\n", s.UserID, s.Path, s.Started.Seconds())
	for _, v := range s.Violations {
		fmt.Fprintf(w, "violation: %s\n", v)
	}
	if s.Lost != "" {
		fmt.Fprintf(w, "stopped at: %s\n", s.Lost)
	}
	fmt.Fprintf(w, "Temporal now: %s\n", s.Temporal)
	for _, sec := range []struct {
		name  string
		lines []string
	}{
		{"notifications", s.Notifications}, {"history", s.History}, {"webhooks", s.Webhooks},
		{"mangopay calls", s.Calls}, {"faults (* around this user)", s.Faults}, {"call budget", s.Budget},
	} {
		fmt.Fprintf(w, "%s (%d):\n", sec.name, len(sec.lines))
		lines := sec.lines
		if len(lines) > storyLimit {
			fmt.Fprintf(w, "  ... %d earlier lines in the work folder's stories/%s.json\n", len(lines)-storyLimit, s.UserID)
			lines = lines[len(lines)-storyLimit:]
		}
		for _, l := range lines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}
