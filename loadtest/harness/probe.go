package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// SignupProbe is what new users met while signing up at a fixed rate: the
// time from POST /v1/onboardings to its HostedUrl (202 STARTING answers
// followed, as a platform would), the creation of the user at Mangopay
// not counted (though a creation that fails counts as a failed signup).
type SignupProbe struct {
	Sent     int           `json:"sent"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration_ns"`
	Latency  Percentiles   `json:"signup_to_hosted_url"`
	// Stages split each signup's time as its onboarding's history tells it
	// (signupStages); Slowest names the stage that took the most of the
	// slowest 1% of signups' time. StagesRead is how many signups'
	// histories were read.
	Stages     map[string]Percentiles `json:"stages,omitempty"`
	Slowest    string                 `json:"slowest_stage,omitempty"`
	StagesRead int                    `json:"stages_read"`
	signups    []signupTimed
}

// MinSignupsToJudge is the fewest signups on each side that a p99 can be
// judged on: below 100, the p99 is the maximum.
const MinSignupsToJudge = 100

// SignupsUnderSweep compares the signups a platform's new users met during
// a sweep with the same signups on a quiet system.
type SignupsUnderSweep struct {
	Quiet SignupProbe `json:"quiet"`
	Sweep SignupProbe `json:"during_sweep"`
	// Ratio is the sweep's p99 over the quiet p99, Added their difference;
	// Factor the goal's bound.
	Ratio  float64       `json:"p99_ratio"`
	Added  time.Duration `json:"p99_added_ns"`
	Factor float64       `json:"goal_factor"`
	Met    bool          `json:"goal_met"`
	// Why the goal is not met, or cannot be judged.
	Why string `json:"why,omitempty"`
	// StagesError: why the signups' histories could not be read.
	StagesError string `json:"stages_error,omitempty"`
}

// compareSignups judges the sweep's signups against the quiet ones: met
// when every signup of both succeeded, each side has enough signups for a
// p99, and the sweep's p99 is within factor times the quiet p99.
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
	c.Added = sweep.Latency.P99 - quiet.Latency.P99
	switch {
	case quiet.Failed+sweep.Failed > 0:
		c.Why = fmt.Sprintf("%d quiet and %d sweep signups failed", quiet.Failed, sweep.Failed)
	case quiet.Latency.Count < MinSignupsToJudge || sweep.Latency.Count < MinSignupsToJudge:
		c.Why = fmt.Sprintf("too few signups to judge a p99 (%d quiet, %d during the sweep; at least %d each)",
			quiet.Latency.Count, sweep.Latency.Count, MinSignupsToJudge)
	case c.Ratio > factor:
		c.Why = fmt.Sprintf("the sweep's p99 is %.2f× the quiet p99 (%s more), above %.1f×", c.Ratio,
			c.Added.Round(time.Millisecond), factor)
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
			p.signups = append(p.signups, signupTimed{UserID: id, Sent: start, Took: took[len(took)-1]})
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

// users are the Mangopay ids of the probe's signed-up users.
func (p *SignupProbe) users() map[string]bool {
	out := make(map[string]bool, len(p.signups))
	for _, s := range p.signups {
		out[s.UserID] = true
	}
	return out
}

// readStages reads the histories of the probe's signups and breaks their
// time down (p.Stages); a history that cannot be read is left out.
func (p *SignupProbe) readStages(ctx context.Context, tc client.Client) {
	ids := make([]string, len(p.signups))
	for i, s := range p.signups {
		ids[i] = s.UserID
	}
	histories := fetchHistories(ctx, tc, ids)
	var per []signupSplit
	for _, s := range p.signups {
		h := histories[s.UserID]
		if h.err != nil || len(h.runs) == 0 {
			continue
		}
		if st, ok := signupStages(h.runs[0], s.Sent, s.Took); ok {
			per = append(per, signupSplit{took: s.Took, stages: st})
		}
	}
	p.StagesRead = len(per)
	p.Stages, p.Slowest = breakDownSignups(per)
}

// The stages of a signup, as its onboarding's history times them, each the
// sum over the signup's workflow tasks or activities (a signup is three
// workflow tasks and two activities in a row: read the user, create the
// session), and what the history does not hold.
const (
	SignupTaskDispatch     = "workflow tasks: scheduled → started"
	SignupTaskRun          = "workflow tasks: started → completed (the calls a signup makes in its task included)"
	SignupActivityDispatch = "activities: scheduled → last attempt started (earlier attempts and backoff included)"
	SignupActivityRun      = "activities: started → completed (budget wait + Mangopay call)"
	SignupBetween          = "in the history, outside any task (timed-out or retried tasks)"
	SignupOutside          = "outside the history (platform API, Temporal client, update delivery)"
)

var signupStageOrder = []string{SignupTaskDispatch, SignupTaskRun, SignupActivityDispatch, SignupActivityRun, SignupBetween, SignupOutside}

// signupTimed is one signup of a probe: its user, when POST
// /v1/onboardings was sent and how long it took to answer the HostedUrl.
type signupTimed struct {
	UserID string
	Sent   time.Time
	Took   time.Duration
}

// signupSplit is one signup's time and its stages.
type signupSplit struct {
	took   time.Duration
	stages map[string]time.Duration
}

// signupStages splits one signup's time between the stages, from its
// onboarding's first run: everything from the start to the update that
// answered it. A signup asked more than once (a 202 after 30 s, then
// asked again) is answered by the last update completed before its
// answer reached the harness, sent+took; the others are its earlier
// askings. ok is false when the history holds no completed update.
func signupStages(events []*historypb.HistoryEvent, sent time.Time, took time.Duration) (stages map[string]time.Duration, ok bool) {
	answered := sent.Add(took)
	sums := map[string]time.Duration{}
	scheduled := map[int64]time.Time{} // workflow task or activity scheduled, by event id
	started := map[int64]time.Time{}   // by the scheduled event's id
	// A task or activity started: its wait since the schedule is dispatch.
	start := func(id int64, dispatch string, at time.Time) {
		if s, ok := scheduled[id]; ok {
			sums[dispatch] += at.Sub(s)
			started[id] = at
		}
	}
	// One closed: its time since the start is its run; closed without a
	// start (it timed out before any worker took it), all of it was the
	// dispatch.
	end := func(id int64, dispatch, run string, at time.Time) {
		if s, ok := started[id]; ok {
			sums[run] += at.Sub(s)
		} else if s, ok := scheduled[id]; ok {
			sums[dispatch] += at.Sub(s)
		}
	}
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
			start(ev.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId(), SignupTaskDispatch, at)
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			end(wftScheduledID(ev), SignupTaskDispatch, SignupTaskRun, at)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			start(ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId(), SignupActivityDispatch, at)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			end(activityScheduledID(ev), SignupActivityDispatch, SignupActivityRun, at)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			if stages != nil && at.After(answered) {
				return stages, true // a later asking's answer (or another caller's)
			}
			stages = map[string]time.Duration{}
			var inTasks time.Duration
			for k, d := range sums {
				stages[k] = d
				inTasks += d
			}
			span := at.Sub(first)
			stages[SignupBetween] = max(span-inTasks, 0)
			stages[SignupOutside] = max(took-span, 0)
		}
	}
	return stages, stages != nil
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
// history was read (each stage a per-signup sum), and names the stage that
// took the most of the slowest signups' time (those at or above the p99 of
// the signups' times): a stage's own p99 may come from other signups than
// the slow ones.
func breakDownSignups(per []signupSplit) (stages map[string]Percentiles, slowest string) {
	samples := map[string][]time.Duration{}
	var took []time.Duration
	for _, s := range per {
		took = append(took, s.took)
		for _, stage := range signupStageOrder {
			if d, ok := s.stages[stage]; ok {
				samples[stage] = append(samples[stage], d)
			}
		}
	}
	stages = map[string]Percentiles{}
	for _, stage := range signupStageOrder {
		if len(samples[stage]) > 0 {
			stages[stage] = percentiles(samples[stage])
		}
	}
	if len(per) == 0 {
		return stages, ""
	}
	p99 := percentiles(took).P99
	inTail := map[string]time.Duration{}
	for _, s := range per {
		if s.took >= p99 {
			for stage, d := range s.stages {
				inTail[stage] += d
			}
		}
	}
	worst := time.Duration(-1)
	for _, stage := range signupStageOrder {
		if d, ok := inTail[stage]; ok && d > worst {
			slowest, worst = stage, d
		}
	}
	return stages, slowest
}
