package harness

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"text/tabwriter"
	"time"
)

// Report is a run's figures and violations.
type Report struct {
	Users         int            `json:"users"`
	Workers       int            `json:"workers"`
	Bridges       int            `json:"bridges"`
	Rate          float64        `json:"rate_per_second"`
	Mix           string         `json:"mix"`
	PathCounts    map[Path]int   `json:"path_counts"`
	Seed          int64          `json:"seed"`
	Completed     int            `json:"completed"`
	Elapsed       time.Duration  `json:"elapsed_ns"`
	PerSecond     float64        `json:"completed_per_second"`
	Signup        Percentiles    `json:"signup_to_hosted_url"`
	Reaction      Percentiles    `json:"decision_to_notification"`
	MangopayAPI   int            `json:"mangopay_calls"`
	PerOnboarding float64        `json:"mangopay_calls_per_onboarding"`
	CallsByRoute  map[string]int `json:"mangopay_calls_by_route"`
	Notifications int            `json:"notifications"`
	Faults        []Injected     `json:"faults"`
	Restarts      map[string]int `json:"restarts"`
	Violations    []Violation    `json:"violations"`
	// Stories tell each user a violation names, from the run's records
	// (also in the work folder's stories/).
	Stories []Story `json:"stories,omitempty"`
	WorkDir string  `json:"work_dir"`
	// Target is set for a run against a running deployment (--target):
	// what observed it and what the run could not measure or check.
	Target *TargetReport `json:"target,omitempty"`
	Measures

	// Faults' settings (each fault's recovery is in Faults).
	// ReconcileEvery is the fleet reconciliation's interval when the run
	// shortened it (dropped webhooks); zero: kycflow's default.
	ReconcileEvery time.Duration `json:"reconcile_every_ns,omitempty"`
	// WebhooksDropped is how many webhooks the simulator did not send.
	WebhooksDropped int `json:"webhooks_dropped,omitempty"`
	// Reconciliations are the fleet reconciliation's runs, in a run with
	// dropped webhooks (only they bring those back).
	Reconciliations []ReconcileRun `json:"reconciliations,omitempty"`
	// SessionLifetime is the simulator's IDV session lifetime when the run
	// shortened it (the expired path); zero: Mangopay's 7 days.
	SessionLifetime time.Duration `json:"session_lifetime_ns,omitempty"`
}

// Percentiles of a latency, over Count samples.
type Percentiles struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Percentiles{Count: len(s), P50: at(0.50), P99: at(0.99), Max: s[len(s)-1]}
}

// Table writes the report for a person.
func (r *Report) Table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	if r.Target != nil {
		fmt.Fprintf(tw, "target\t%s (platform API %s), observed by %s\n", r.Target.Name, r.Target.APIURL, r.Target.ObservedBy)
		fmt.Fprintf(tw, "users\t%d (%s), %.1f/s, seed %d\n", r.Users, r.Mix, r.Rate, r.Seed)
	} else {
		fmt.Fprintf(tw, "users\t%d (%s), %d workers, %d bridges, %.1f/s, seed %d\n", r.Users, r.Mix, r.Workers, r.Bridges, r.Rate, r.Seed)
	}
	if r.SessionLifetime > 0 {
		fmt.Fprintf(tw, "session lifetime\tshortened to %s (Mangopay: 7 days) for the expired path\n", r.SessionLifetime)
	}
	fmt.Fprintf(tw, "completed\t%d in %s: %.2f onboardings/s\n", r.Completed, r.Elapsed.Round(time.Millisecond), r.PerSecond)
	fmt.Fprintf(tw, "signup to HostedUrl\tp50 %s, p99 %s, max %s (%d)\n", ms(r.Signup.P50), ms(r.Signup.P99), ms(r.Signup.Max), r.Signup.Count)
	fmt.Fprintf(tw, "decision to notification\tp50 %s, p99 %s, max %s (%d)\n", ms(r.Reaction.P50), ms(r.Reaction.P99), ms(r.Reaction.Max), r.Reaction.Count)
	fmt.Fprintf(tw, "Mangopay calls\t%d by kycflow, %.2f per onboarding\n", r.MangopayAPI, r.PerOnboarding)
	routes := slices.Sorted(maps.Keys(r.CallsByRoute))
	for _, route := range routes {
		fmt.Fprintf(tw, "  %s\t%d\n", route, r.CallsByRoute[route])
	}
	fmt.Fprintf(tw, "notifications\t%d\n", r.Notifications)
	r.Measures.table(tw)
	for _, f := range r.Faults {
		line := fmt.Sprintf("fault\t%s at %s", f.Fault, f.At.Round(time.Millisecond))
		if f.Target != "" {
			line += " on " + f.Target
		}
		if f.Error != "" {
			line += " FAILED: " + f.Error
		}
		fmt.Fprintln(tw, line+fmt.Sprintf(", over at %s; %s", f.Ended.Round(time.Millisecond), f.Recovery))
	}
	if r.ReconcileEvery > 0 {
		fmt.Fprintf(tw, "reconciliation\tshortened to every %s for the dropped webhooks (%d dropped)\n", r.ReconcileEvery, r.WebhooksDropped)
		for _, rr := range r.Reconciliations {
			line := fmt.Sprintf("  run\tstarted at %s: %s", rr.Started.Round(time.Millisecond), rr.Status)
			if rr.Took > 0 {
				line += " in " + rr.Took.Round(time.Millisecond).String()
			}
			if rr.Pending != "" {
				line += "; " + rr.Pending
			}
			fmt.Fprintln(tw, line)
		}
	}
	if r.Target != nil {
		for _, o := range r.Target.Omitted {
			fmt.Fprintf(tw, "left out\t%s\n", o)
		}
	}
	fmt.Fprintf(tw, "violations\t%d\n", len(r.Violations))
	_ = tw.Flush()
	vs := slices.Clone(r.Violations)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Kind < vs[j].Kind })
	for _, v := range vs {
		fmt.Fprintf(w, "  %s\t%s (%s): %s\n", v.Kind, v.UserID, v.Path, v.Detail)
	}
	for _, s := range r.Stories {
		s.write(w)
	}
	if r.Target == nil {
		fmt.Fprintf(w, "logs and Temporal's database: %s\n", r.WorkDir)
	}
}
