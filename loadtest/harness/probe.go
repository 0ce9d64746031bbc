package harness

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// SignupProbe is what new users met while signing up at a fixed rate: the
// time from POST /v1/onboardings to its HostedUrl (202 STARTING answers
// followed, as a platform would), the creation of the user at Mangopay
// not counted.
type SignupProbe struct {
	Sent     int           `json:"sent"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration_ns"`
	Latency  Percentiles   `json:"signup_to_hosted_url"`
	// Stages split each signup's time as its onboarding's history tells it
	// (signupStages), and Slowest names the stage slowest at the p99;
	// StagesRead is how many signups' histories were read.
	Stages     map[string]Percentiles `json:"stages,omitempty"`
	Slowest    string                 `json:"slowest_stage,omitempty"`
	StagesRead int                    `json:"stages_read"`
	signups    []signupTimed
}

// SignupsUnderSweep compares the signups a platform's new users met during
// a sweep with the same signups on a quiet system.
type SignupsUnderSweep struct {
	Quiet SignupProbe `json:"quiet"`
	Sweep SignupProbe `json:"during_sweep"`
	// Ratio is the sweep's p99 over the quiet p99; Factor the goal's bound.
	Ratio  float64 `json:"p99_ratio"`
	Factor float64 `json:"goal_factor"`
	Met    bool    `json:"goal_met"`
	// Why the goal is not met, or cannot be judged.
	Why string `json:"why,omitempty"`
	// StagesError: why the signups' histories could not be read.
	StagesError string `json:"stages_error,omitempty"`
}

// compareSignups judges the sweep's signups against the quiet ones: met
// when every signup of both succeeded and the sweep's p99 is within factor
// times the quiet p99.
func compareSignups(quiet, sweep SignupProbe, factor float64) SignupsUnderSweep {
	c := SignupsUnderSweep{Quiet: quiet, Sweep: sweep, Factor: factor}
	switch {
	case quiet.Latency.Count == 0 || quiet.Latency.P99 <= 0:
		c.Why = "no quiet signup succeeded: nothing to compare with"
		return c
	case sweep.Latency.Count == 0:
		c.Why = "no signup succeeded during the sweep"
		return c
	}
	c.Ratio = float64(sweep.Latency.P99) / float64(quiet.Latency.P99)
	switch {
	case quiet.Failed+sweep.Failed > 0:
		c.Why = fmt.Sprintf("%d quiet and %d sweep signups failed", quiet.Failed, sweep.Failed)
	case c.Ratio > factor:
		c.Why = fmt.Sprintf("the sweep's p99 is %.2f× the quiet p99, above %.1f×", c.Ratio, factor)
	default:
		c.Met = true
	}
	return c
}

// probeSignups signs up a new user every 1/rate seconds (an open loop: a
// slow signup does not delay the next, as a platform's users do not wait
// for each other) until stop is closed, then waits for those under way.
// Users are numbered from first on, apart from the run's other users.
func probeSignups(ctx context.Context, d *driver, rate float64, first int, deadline time.Duration, stop <-chan struct{}) SignupProbe {
	var (
		mu    sync.Mutex
		p     SignupProbe
		took  []time.Duration
		wg    sync.WaitGroup
		began = time.Now()
	)
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for i := first; ; i++ {
		wg.Add(1)
		p.Sent++
		go func() {
			defer wg.Done()
			until := fixed(time.Now().Add(deadline))
			u := &userRun{Index: i, Path: PathValidated}
			id, err := d.createUser(ctx, u, until)
			var start time.Time
			if err == nil {
				start = time.Now()
				_, err = d.ensure(ctx, id, "", until)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				p.Failed++
				return
			}
			took = append(took, time.Since(start))
			p.signups = append(p.signups, signupTimed{UserID: id, Took: took[len(took)-1]})
		}()
		select {
		case <-ctx.Done():
		case <-stop:
		case <-t.C:
			continue
		}
		break
	}
	p.Duration = time.Since(began)
	wg.Wait()
	p.Latency = percentiles(took)
	return p
}

// readStages reads the histories of the probe's signups and breaks their
// time down (p.Stages); a history that cannot be read is left out.
func (p *SignupProbe) readStages(ctx context.Context, sys *system) error {
	tc, err := sys.temporalClient()
	if err != nil {
		return fmt.Errorf("connect to Temporal: %w", err)
	}
	defer tc.Close()
	ids := make([]string, len(p.signups))
	for i, s := range p.signups {
		ids[i] = s.UserID
	}
	histories := fetchHistories(ctx, tc, ids)
	var per []map[string]time.Duration
	for _, s := range p.signups {
		h := histories[s.UserID]
		if h.err != nil || len(h.runs) == 0 {
			continue
		}
		if st, ok := signupStages(h.runs[0], s.Took); ok {
			per = append(per, st)
		}
	}
	p.StagesRead = len(per)
	p.Stages, p.Slowest = breakDownSignups(per)
	return nil
}

// The stages of a signup, as its onboarding's history times them, each the
// sum over the signup's workflow tasks or activities (a signup is three
// workflow tasks and two activities in a row: read the user, create the
// session), and what the history does not hold.
const (
	SignupTaskDispatch     = "workflow tasks: scheduled → started"
	SignupTaskRun          = "workflow tasks: started → completed"
	SignupActivityDispatch = "activities: scheduled → started (a retry's backoff included)"
	SignupActivityRun      = "activities: started → completed (budget wait + Mangopay call)"
	SignupOutside          = "outside the history (platform API, Temporal client, update delivery)"
)

var signupStageOrder = []string{SignupTaskDispatch, SignupTaskRun, SignupActivityDispatch, SignupActivityRun, SignupOutside}

// signupTimed is one signup of a probe: its user and how long POST
// /v1/onboardings took to answer the HostedUrl.
type signupTimed struct {
	UserID string
	Took   time.Duration
}

// signupStages splits one signup's time between the stages, from its
// onboarding's first run: everything from the start to the first
// completed update (ensure-session's answer). ok is false when the history
// holds no completed update.
func signupStages(events []*historypb.HistoryEvent, took time.Duration) (stages map[string]time.Duration, ok bool) {
	stages = map[string]time.Duration{}
	scheduled := map[int64]time.Time{} // workflow task or activity scheduled, by event id
	started := map[int64]time.Time{}   // by the scheduled event's id
	var first time.Time
	for _, ev := range events {
		at := ev.GetEventTime().AsTime()
		if first.IsZero() {
			first = at
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.GetEventId()] = at
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			id := ev.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()
			if s, ok := scheduled[id]; ok {
				stages[SignupTaskDispatch] += at.Sub(s)
				started[id] = at
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			id := wftScheduledID(ev)
			if s, ok := started[id]; ok {
				stages[SignupTaskRun] += at.Sub(s)
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			id := ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()
			if s, ok := scheduled[id]; ok {
				stages[SignupActivityDispatch] += at.Sub(s)
				started[id] = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			id := activityScheduledID(ev)
			if s, ok := started[id]; ok {
				stages[SignupActivityRun] += at.Sub(s)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			stages[SignupOutside] = max(took-at.Sub(first), 0)
			return stages, true
		}
	}
	return nil, false
}

func wftScheduledID(ev *historypb.HistoryEvent) int64 {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		return ev.GetWorkflowTaskCompletedEventAttributes().GetScheduledEventId()
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
		return ev.GetWorkflowTaskFailedEventAttributes().GetScheduledEventId()
	}
	return ev.GetWorkflowTaskTimedOutEventAttributes().GetScheduledEventId()
}

func activityScheduledID(ev *historypb.HistoryEvent) int64 {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		return ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
		return ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
	}
	return ev.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()
}

// breakDownSignups computes each stage's percentiles over the signups whose
// history was read (each stage a per-signup sum), and names the stage
// slowest at the p99.
func breakDownSignups(per []map[string]time.Duration) (stages map[string]Percentiles, slowest string) {
	samples := map[string][]time.Duration{}
	for _, s := range per {
		for _, stage := range signupStageOrder {
			if d, ok := s[stage]; ok {
				samples[stage] = append(samples[stage], d)
			}
		}
	}
	stages = map[string]Percentiles{}
	worst := time.Duration(-1)
	for _, stage := range signupStageOrder {
		if len(samples[stage]) == 0 {
			continue
		}
		p := percentiles(samples[stage])
		stages[stage] = p
		if p.P99 > worst {
			slowest, worst = stage, p.P99
		}
	}
	return stages, slowest
}

// table writes the probe's stages, one a line, indented.
func (p SignupProbe) table(w io.Writer, indent string) {
	for _, stage := range signupStageOrder {
		if st, ok := p.Stages[stage]; ok {
			fmt.Fprintf(w, "%s%s\tp50 %s, p99 %s, max %s (%d)\n", indent, stage, msOf(st.P50), msOf(st.P99), msOf(st.Max), st.Count)
		}
	}
}
