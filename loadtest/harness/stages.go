package harness

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// The webhook → state goal: p50 within 50 ms, p99 within 500 ms.
const (
	webhookGoalP50 = 50 * time.Millisecond
	webhookGoalP99 = 500 * time.Millisecond
)

// The stages of a webhook, in order, as the simulator's deliveries and the
// onboarding's history time them. Intake, the stream and the forwarder are
// one stage here (the stream's entries are trimmed once forwarded); the
// activity stage is the budget's wait and the Mangopay call together
// (kycflow_mangopay_budget_wait_seconds on the worker splits them in
// aggregate).
const (
	StageToSignal        = "webhook → signal (intake, stream, forward)"
	StageSignalToTask    = "signal → workflow task started"
	StageTask            = "workflow task (state visible at its end)"
	StageScheduleToStart = "workflow task → activity started (schedule-to-start)"
	StageActivity        = "activity (budget wait + Mangopay call)"
)

// stageOrder is the report's order.
var stageOrder = []string{StageToSignal, StageSignalToTask, StageTask, StageScheduleToStart, StageActivity}

// StageBreakdown is the webhook → state latency, stage by stage.
type StageBreakdown struct {
	Stages map[string]Percentiles `json:"stages"`
	// ToState: webhook sent to the end of the workflow task that applied it
	// (the state a query or GET /v1/onboardings answers from then on).
	ToState Percentiles `json:"to_state"`
	// Met: ToState within the goal. Otherwise Missed names the goal missed
	// and Culprit the stage that took most of it at that percentile.
	Met     bool   `json:"met"`
	Missed  string `json:"missed,omitempty"`
	Culprit string `json:"culprit,omitempty"`
}

// webhookTimes is one webhook, matched to the signal it became.
type webhookTimes struct {
	sent time.Time
	signalSeen
}

// matchWebhooks pairs each webhook's first send with the first signal of
// its event, and counts the delivered ones no onboarding got.
func matchWebhooks(deliveries []sandbox.Delivery, signals []signalSeen) (matched []webhookTimes, unsignalled int) {
	sent := map[string]time.Time{}
	delivered := map[string]bool{}
	for _, d := range deliveries {
		if d.SentAt.IsZero() {
			continue
		}
		key := d.EventType + "|" + d.ResourceID + "|" + strconv.FormatInt(d.Date, 10)
		if t, ok := sent[key]; !ok || d.SentAt.Before(t) {
			sent[key] = d.SentAt
		}
		if d.Result == sandbox.Delivered {
			delivered[key] = true
		}
	}
	first := map[string]signalSeen{}
	for _, s := range signals {
		if f, ok := first[s.key]; !ok || s.recorded.Before(f.recorded) {
			first[s.key] = s
		}
	}
	for _, key := range slices.Sorted(maps.Keys(sent)) {
		s, ok := first[key]
		if !ok {
			if delivered[key] {
				unsignalled++
			}
			continue
		}
		matched = append(matched, webhookTimes{sent: sent[key], signalSeen: s})
	}
	return matched, unsignalled
}

// stageBreakdown computes each stage's percentiles over the webhooks that
// reached it, and judges the goal.
func stageBreakdown(matched []webhookTimes) StageBreakdown {
	samples := map[string][]time.Duration{}
	add := func(stage string, from, to time.Time) {
		if from.IsZero() || to.IsZero() {
			return
		}
		samples[stage] = append(samples[stage], to.Sub(from))
	}
	var toState []time.Duration
	for _, w := range matched {
		add(StageToSignal, w.sent, w.recorded)
		add(StageSignalToTask, w.recorded, w.taskStarted)
		add(StageTask, w.taskStarted, w.applied)
		add(StageScheduleToStart, w.activityScheduled, w.activityStarted)
		add(StageActivity, w.activityStarted, w.activityClosed)
		if !w.applied.IsZero() {
			toState = append(toState, w.applied.Sub(w.sent))
		}
	}
	out := StageBreakdown{Stages: map[string]Percentiles{}, ToState: percentiles(toState)}
	for stage, d := range samples {
		out.Stages[stage] = percentiles(d)
	}
	out.Met, out.Missed, out.Culprit = judgeGoal(out.ToState, out.Stages)
	return out
}

// judgeGoal checks webhook → state against the goal; when it is missed it
// names the stage that is slowest at the percentile missed (the p99 first:
// it is the goal a queue breaks). A stage after the state (the activity)
// cannot be the culprit of webhook → state.
func judgeGoal(toState Percentiles, stages map[string]Percentiles) (met bool, missed, culprit string) {
	if toState.Count == 0 {
		return false, "no webhook reached its state", ""
	}
	pick := func(of func(Percentiles) time.Duration) string {
		best, bestD := "", time.Duration(-1)
		for _, stage := range []string{StageToSignal, StageSignalToTask, StageTask} {
			p, ok := stages[stage]
			if ok && of(p) > bestD {
				best, bestD = stage, of(p)
			}
		}
		return best
	}
	switch {
	case toState.P99 > webhookGoalP99:
		return false, fmt.Sprintf("p99 %s > %s", toState.P99.Round(time.Millisecond), webhookGoalP99), pick(func(p Percentiles) time.Duration { return p.P99 })
	case toState.P50 > webhookGoalP50:
		return false, fmt.Sprintf("p50 %s > %s", toState.P50.Round(time.Millisecond), webhookGoalP50), pick(func(p Percentiles) time.Duration { return p.P50 })
	}
	return true, "", ""
}

// Table writes the breakdown, one stage a line, indented under a heading.
func (b StageBreakdown) Table(w io.Writer, indent string) {
	stageLines(w, indent, stageOrder, b.Stages)
	verdict := "goal met (p50 ≤ 50 ms, p99 ≤ 500 ms)"
	if !b.Met {
		verdict = "goal MISSED: " + b.Missed
		if b.Culprit != "" {
			verdict += "; slowest stage: " + b.Culprit
		}
	}
	fmt.Fprintf(w, "%swebhook → state\tp50 %s, p99 %s, max %s (%d): %s\n", indent, msOf(b.ToState.P50), msOf(b.ToState.P99), msOf(b.ToState.Max), b.ToState.Count, verdict)
}

// stageLines writes the stages that have figures, in order, one a line.
func stageLines(w io.Writer, indent string, order []string, stages map[string]Percentiles) {
	for _, stage := range order {
		if p, ok := stages[stage]; ok {
			fmt.Fprintf(w, "%s%s\tp50 %s, p99 %s, max %s (%d)\n", indent, stage, msOf(p.P50), msOf(p.P99), msOf(p.Max), p.Count)
		}
	}
}

// WaveBound is a wave's own lower bound: the Mangopay calls it needed
// against the budget that served them. No fleet reopens a wave faster than
// its calls beyond the burst take at the budget's rate; the time beyond the
// bound is what the fleet itself added (queues, CPU, retries).
type WaveBound struct {
	Calls  int           `json:"calls"`
	Bound  time.Duration `json:"bound_ns"`
	Beyond time.Duration `json:"beyond_ns"`
}

// waveBound computes the bound of calls at rate calls/s after a burst, and
// how far took is beyond it.
func waveBound(calls int, rate float64, burst int, took time.Duration) WaveBound {
	b := WaveBound{Calls: calls}
	if rate > 0 && calls > burst {
		b.Bound = time.Duration(float64(calls-burst) / rate * float64(time.Second))
	}
	b.Beyond = max(took-b.Bound, 0)
	return b
}
