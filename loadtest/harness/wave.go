package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// WaveConfig is the "renewal wave" profile: Users verified users, of whom
// Share are downgraded by Mangopay within Window; every one of them must be
// reopened (a new session, a new HostedUrl told to the platform) within
// the call budget.
type WaveConfig struct {
	// System: Users, Workers, Bridges, Redis, WorkDir, Progress.
	System      Config
	Concurrency int           // signups (and their validations) at once
	Share       float64       // of the verified users, downgraded
	Window      time.Duration // the downgrades are spread over it
	// WaveDeadline bounds the wait, from the first downgrade, for every
	// affected user to be reopened.
	WaveDeadline time.Duration
	// BudgetRate and BudgetBurst are the Mangopay call budget of every
	// kycflow process together, checked against the calls the simulator
	// received.
	BudgetRate  float64
	BudgetBurst int
	// SignupRate, when above 0, signs new users up at this rate (a
	// second) for QuietProbe before the wave and all through the wave,
	// and compares their signup → HostedUrl latency (SignupFactor).
	SignupRate float64
	QuietProbe time.Duration
}

// SignupFactor bounds the signups' p99 during a wave: within twice its
// quiet value.
const SignupFactor = 2.0

// Defaults fills the zero fields.
func (c *WaveConfig) Defaults() {
	if c.System.Users == 0 {
		c.System.Users = 500
	}
	// Every user is a validated signup: the mixed profile's default mix
	// (its expired path shortens every session's lifetime) is not theirs.
	c.System.Mix = Mix{PathValidated: 1}
	c.System.Defaults()
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.Share == 0 {
		c.Share = 0.2
	}
	if c.Window == 0 {
		c.Window = time.Minute
	}
	if c.WaveDeadline == 0 {
		c.WaveDeadline = 10 * time.Minute
	}
	if c.BudgetRate == 0 {
		c.BudgetRate = 50
	}
	if c.BudgetBurst == 0 {
		c.BudgetBurst = 300
	}
	if c.SignupRate > 0 && c.QuietProbe == 0 {
		c.QuietProbe = time.Minute
	}
}

// Validate reports a profile that cannot run.
func (c *WaveConfig) Validate() error {
	errs := []error{c.System.Validate()}
	if c.Concurrency < 1 || c.Concurrency > 1000 {
		errs = append(errs, errors.New("--concurrency must be 1 to 1000"))
	}
	if math.IsNaN(c.Share) || c.Share <= 0 || c.Share > 1 {
		errs = append(errs, errors.New("--share must be above 0 and at most 1"))
	}
	if c.Window < 0 || c.WaveDeadline <= 0 {
		errs = append(errs, errors.New("--window cannot be negative and --wave-deadline must be above 0"))
	}
	if c.BudgetRate <= 0 || c.BudgetBurst < 1 {
		errs = append(errs, errors.New("--budget-rate must be above 0 and --budget-burst at least 1"))
	}
	if math.IsNaN(c.SignupRate) || c.SignupRate < 0 || c.SignupRate > 0 && c.SignupRate < 0.01 || c.SignupRate > 100 {
		errs = append(errs, errors.New("--signup-rate must be 0 (no signups during the wave) or 0.01 to 100 a second"))
	}
	if c.SignupRate > 0 && c.QuietProbe < time.Duration(float64(10*time.Second)/c.SignupRate) {
		errs = append(errs, errors.New("--quiet-probe must leave at least 10 quiet signups at --signup-rate"))
	}
	return errors.Join(errs...)
}

// waveUser is one verified user as the wave saw them.
type waveUser struct {
	UserID         string
	Affected       bool
	OldSession     string
	OldURL         string
	DowngradedAt   time.Time // zero: the downgrade call failed
	NewSession     string
	NewURL         string
	ReopenedAt     time.Time // the platform was told the new HostedUrl; zero: never
	SessionsAtMP   int       // IDV sessions Mangopay lists for the user (-1: not listed)
	StateAfter     workflows.Status
	StateSessionOK bool // the platform API answers the new session
}

// WaveResult is the wave's accounting.
type WaveResult struct {
	Affected   int `json:"affected"`
	Downgraded int `json:"downgraded"` // the downgrade call succeeded
	Reopened   int `json:"reopened"`   // a new session and HostedUrl notified
	// Users of each kind of failure, by Mangopay user id.
	NotReopened     []string `json:"not_reopened"`
	SameURL         []string `json:"same_hosted_url"`       // the new HostedUrl is the old one
	SharedURL       []string `json:"hosted_url_shared"`     // another user got the same HostedUrl
	DuplicateIDV    []string `json:"duplicate_idv"`         // more than 2 sessions at Mangopay
	WrongState      []string `json:"wrong_state"`           // the platform API does not read AWAITING_USER with the new session
	UnaffectedMoved []string `json:"unaffected_reopened"`   // reopened without a downgrade
	ToAll           float64  `json:"seconds_to_all"`        // first downgrade to the last reopening
	Spread          float64  `json:"seconds_of_downgrades"` // first to last downgrade
	// PerUser is each affected user's downgrade to new HostedUrl.
	PerUser Percentiles `json:"downgrade_to_hosted_url"`
}

// OK reports a wave with nothing wrong.
func (w WaveResult) OK() bool {
	return w.Reopened == w.Affected && len(w.NotReopened)+len(w.SameURL)+len(w.SharedURL)+len(w.DuplicateIDV)+
		len(w.WrongState)+len(w.UnaffectedMoved) == 0
}

// account checks every user of the wave and times it.
func account(users []waveUser) WaveResult {
	var r WaveResult
	var first, lastDown, lastUp time.Time
	var per []time.Duration
	urls := map[string][]string{}
	for _, u := range users {
		if !u.Affected {
			if u.NewSession != "" {
				r.UnaffectedMoved = append(r.UnaffectedMoved, u.UserID)
			}
			continue
		}
		r.Affected++
		if !u.DowngradedAt.IsZero() {
			r.Downgraded++
			if first.IsZero() || u.DowngradedAt.Before(first) {
				first = u.DowngradedAt
			}
			if u.DowngradedAt.After(lastDown) {
				lastDown = u.DowngradedAt
			}
		}
		if u.ReopenedAt.IsZero() || u.NewSession == "" || u.NewSession == u.OldSession || u.NewURL == "" {
			r.NotReopened = append(r.NotReopened, u.UserID)
			continue
		}
		r.Reopened++
		if u.ReopenedAt.After(lastUp) {
			lastUp = u.ReopenedAt
		}
		if !u.DowngradedAt.IsZero() {
			per = append(per, u.ReopenedAt.Sub(u.DowngradedAt))
		}
		if u.NewURL == u.OldURL {
			r.SameURL = append(r.SameURL, u.UserID)
		}
		urls[u.NewURL] = append(urls[u.NewURL], u.UserID)
		if u.SessionsAtMP > 2 {
			r.DuplicateIDV = append(r.DuplicateIDV, u.UserID)
		}
		if u.StateAfter != workflows.StatusAwaitingUser || !u.StateSessionOK {
			r.WrongState = append(r.WrongState, u.UserID)
		}
	}
	for _, url := range slices.Sorted(maps.Keys(urls)) {
		if ids := urls[url]; len(ids) > 1 {
			r.SharedURL = append(r.SharedURL, ids...)
		}
	}
	if !first.IsZero() {
		r.Spread = lastDown.Sub(first).Seconds()
		if r.Reopened == r.Affected && r.Affected > 0 {
			r.ToAll = lastUp.Sub(first).Seconds()
		}
	}
	r.PerUser = percentiles(per)
	return r
}

// callSample is the simulator's count of kycflow's calls at a moment.
type callSample struct {
	At    time.Duration `json:"at_ns"`
	Calls int           `json:"calls"`
}

// BudgetCheck compares the calls Mangopay received with the budget.
type BudgetCheck struct {
	Rate  float64 `json:"rate_per_second"`
	Burst int     `json:"burst"`
	// Worst is the window where the calls came closest to (or went over)
	// burst + rate × its length (+ Slack, for the sampling).
	WorstFrom  time.Duration `json:"worst_from_ns"`
	WorstTo    time.Duration `json:"worst_to_ns"`
	WorstCalls int           `json:"worst_calls"`
	WorstLimit float64       `json:"worst_limit"`
	Slack      time.Duration `json:"slack_ns"`
	Kept       bool          `json:"kept"`
	// PeakPerSecond is the most calls between two samples a second apart
	// (or the nearest).
	PeakPerSecond float64 `json:"peak_per_second"`
}

// checkBudget looks at every window between two samples: the calls in it
// must not exceed burst + rate × (length + slack). The slack covers the
// time between a call passing the budget and the simulator counting it.
func checkBudget(samples []callSample, rate float64, burst int, slack time.Duration) BudgetCheck {
	b := BudgetCheck{Rate: rate, Burst: burst, Slack: slack, Kept: true}
	worst := math.Inf(-1)
	for i := range samples {
		for j := i + 1; j < len(samples); j++ {
			dt := samples[j].At - samples[i].At
			used := samples[j].Calls - samples[i].Calls
			limit := float64(burst) + rate*(dt+slack).Seconds()
			if m := float64(used) - limit; m > worst {
				worst = m
				b.WorstFrom, b.WorstTo, b.WorstCalls, b.WorstLimit = samples[i].At, samples[j].At, used, limit
			}
			if used > int(math.Floor(limit)) {
				b.Kept = false
			}
		}
		// The peak per second: the first sample at least a second later.
		for j := i + 1; j < len(samples); j++ {
			if dt := samples[j].At - samples[i].At; dt >= time.Second {
				b.PeakPerSecond = max(b.PeakPerSecond, float64(samples[j].Calls-samples[i].Calls)/dt.Seconds())
				break
			}
		}
	}
	return b
}

// WaveReport is the profile's figures.
type WaveReport struct {
	Users        int            `json:"users"`
	Verified     int            `json:"verified"`
	FailedVerify int            `json:"failed_to_verify"`
	FirstError   string         `json:"first_error,omitempty"`
	Workers      int            `json:"workers"`
	Bridges      int            `json:"bridges"`
	VerifyPhase  time.Duration  `json:"verify_phase_ns"`
	VerifiedPerS float64        `json:"verified_per_second"`
	Share        float64        `json:"share"`
	Window       time.Duration  `json:"window_ns"`
	Wave         WaveResult     `json:"wave"`
	WaveCalls    map[string]int `json:"wave_calls_by_route"`
	// SignupCalls: the Mangopay calls of the users signing up during the
	// wave (Signups), left out of WaveCalls.
	SignupCalls int         `json:"signup_calls,omitempty"`
	Budget      BudgetCheck `json:"budget"`
	// Bound: the calls the wave needed against the budget, the time they
	// take at its rate (the wave's own lower bound) and the time beyond.
	Bound      WaveBound `json:"bound"`
	WorkerPeak []Mem     `json:"worker_mem"`
	// The wave's webhooks: how many the simulator sent from the first
	// downgrade until the last user reopened, their peak per second, and
	// from each to the workflow's signal and state (read from the
	// histories of the affected users).
	Webhooks WaveWebhooks `json:"webhooks"`
	// Signups: new users signing up before and during the wave
	// (WaveConfig.SignupRate); nil when none did.
	Signups *SignupsUnderSweep `json:"signups,omitempty"`
	// Profiles: the CPU and heap profiles of the first worker and the first
	// bridge over the wave's window (System.PprofDir), or why one failed.
	Profiles []string `json:"profiles,omitempty"`
	WorkDir  string   `json:"work_dir"`
}

// WaveWebhooks are the webhooks of a wave and how fast they took effect.
type WaveWebhooks struct {
	Sent          int         `json:"sent"`
	PeakPerSecond int         `json:"peak_per_second"`
	ToSignal      Percentiles `json:"to_signal"`
	ToState       Percentiles `json:"to_state"`
	Unsignalled   int         `json:"unsignalled"`
	// Stages breaks ToState down stage by stage.
	Stages StageBreakdown `json:"stages"`
	Error  string         `json:"error,omitempty"`
}

// OK reports a wave with no failure: every affected user reopened once,
// nobody else, every new user signed up, and the budget kept. The
// signups' latency goal is a figure of the report, not a failure: it
// depends on the machine.
func (r *WaveReport) OK() bool {
	return r.Wave.OK() && r.Budget.Kept && r.FailedVerify == 0 &&
		(r.Signups == nil || r.Signups.Quiet.Failed+r.Signups.Sweep.Failed == 0)
}

// RunWave runs the renewal-wave profile.
func RunWave(ctx context.Context, cfg WaveConfig, bins *Binaries) (*WaveReport, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The processes' budget, and the simulated account's windows sized to it.
	cfg.System.Budget = Budget{CallsPerSecond: cfg.BudgetRate, Burst: cfg.BudgetBurst}
	sys, workDir, err := startFleet(ctx, cfg.System, bins)
	if err != nil {
		return nil, err
	}
	defer sys.stop()
	r := &WaveReport{Users: cfg.System.Users, Workers: cfg.System.Workers, Bridges: cfg.System.Bridges, Share: cfg.Share,
		Window: cfg.Window, WorkDir: workDir}

	// The calls Mangopay receives, every 250 ms, for the budget check.
	began := time.Now()
	var samplesMu sync.Mutex
	var samples []callSample
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Add(1)
	go func() {
		defer sampling.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if calls, err := sys.simCalls(ctx); err == nil {
				samplesMu.Lock()
				samples = append(samples, callSample{At: time.Since(began), Calls: kycflowCalls(calls)})
				samplesMu.Unlock()
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()
	defer func() {
		select {
		case <-stopSampling:
		default:
			close(stopSampling)
		}
		sampling.Wait()
	}()

	// Phase 1: Users verified users.
	d := &driver{sys: sys, deadline: cfg.System.UserDeadline, done: ctx.Done()}
	var mu sync.Mutex
	var verified []*waveUser
	failedVerify := 0
	var firstErr error
	stopProgress := fleetProgress(cfg.System, "verify", func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("%d/%d verified, %d failed", len(verified), cfg.System.Users, failedVerify)
	})
	failed, signErr := signUp(ctx, d, cfg.System.Users, cfg.Concurrency, cfg.System.UserDeadline, func(s signedUp) {
		u := &userRun{Index: s.Index, UserID: s.UserID, Path: PathValidated}
		err := d.decide(ctx, u, s.Session.IdvSessionID, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified",
			fixed(time.Now().Add(cfg.System.UserDeadline)))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failedVerify++
			if firstErr == nil {
				firstErr = fmt.Errorf("user %s: %w", s.UserID, err)
			}
			return
		}
		verified = append(verified, &waveUser{UserID: s.UserID, OldSession: s.Session.IdvSessionID, OldURL: s.Session.HostedURL})
	})
	r.VerifyPhase = time.Since(began)
	stopProgress()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	r.Verified, r.FailedVerify = len(verified), failedVerify+failed
	if firstErr == nil {
		firstErr = signErr
	}
	if firstErr != nil {
		r.FirstError = firstErr.Error()
	}
	if r.Verified > 0 {
		r.VerifiedPerS = float64(r.Verified) / r.VerifyPhase.Seconds()
	}
	if r.Verified == 0 {
		return r, errors.New("no user verified: no wave")
	}
	for _, w := range sys.workers {
		m, _ := w.mem()
		r.WorkerPeak = append(r.WorkerPeak, m)
	}

	// Phase 2: new users sign up on the quiet system, for comparison.
	var quiet SignupProbe
	if cfg.SignupRate > 0 {
		stopQuiet := make(chan struct{})
		timer := time.AfterFunc(cfg.QuietProbe, func() { close(stopQuiet) })
		stopProgress = fleetProgress(cfg.System, "quiet signups", func() string { return "signing new users up on a quiet system" })
		quiet = probeSignups(ctx, d, cfg.SignupRate, cfg.System.Users, cfg.System.UserDeadline, stopQuiet)
		timer.Stop()
		stopProgress()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}

	// Phase 3: the wave, new users signing up all through it.
	rng := rand.New(rand.NewPCG(uint64(cfg.System.Seed), 0x77617665))
	affected := pickAffected(len(verified), cfg.Share, rng)
	for _, i := range affected {
		verified[i].Affected = true
	}
	callsBefore, err := sys.simCalls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the simulator's call counts: %w", err)
	}
	waveStart := time.Now()
	reopened := 0
	// The profiles cover the downgrades' window (2 s at least).
	profiled := make(chan []string, 1)
	if cfg.System.PprofDir != "" {
		go func() { profiled <- sys.takeProfiles(ctx, cfg.System.PprofDir, 0, max(cfg.Window, 2*time.Second)) }()
	} else {
		profiled <- nil
	}
	stopProgress = fleetProgress(cfg.System, "wave", func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("%d/%d affected users reopened", reopened, len(affected))
	})
	waitUntil := waveStart.Add(cfg.WaveDeadline)
	stopSweepProbe := make(chan struct{})
	sweepProbe := make(chan SignupProbe, 1)
	if cfg.SignupRate > 0 {
		go func() {
			sweepProbe <- probeSignups(ctx, d, cfg.SignupRate, cfg.System.Users+quiet.Sent, cfg.System.UserDeadline, stopSweepProbe)
		}()
	}
	var wg sync.WaitGroup
	for k, i := range affected {
		u := verified[i]
		at := waveStart
		if len(affected) > 1 {
			at = waveStart.Add(time.Duration(float64(cfg.Window) * float64(k) / float64(len(affected)-1)))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			err := retry(ctx, waitUntil, func() error {
				return call(ctx, http.MethodPost, sys.simURL+"/_sim/users/"+u.UserID+"/downgrade", "", nil, nil)
			})
			if err != nil {
				return
			}
			mu.Lock()
			u.DowngradedAt = time.Now()
			mu.Unlock()
			ev, ok := sys.obs.waitFor(u.UserID, func(ev received) bool { return reopenedBy(ev, u.OldSession) }, fixed(waitUntil), ctx.Done())
			if !ok {
				return
			}
			mu.Lock()
			u.NewSession, u.NewURL, u.ReopenedAt = ev.IdvSessionID, ev.HostedURL, ev.At
			reopened++
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stopSweepProbe)
	if cfg.SignupRate > 0 {
		c := compareSignups(quiet, <-sweepProbe, SignupFactor)
		r.Signups = &c
	}
	stopProgress()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	// Late notifications for the unaffected would show here.
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	case <-time.After(cfg.System.Settle):
	}
	close(stopSampling)
	sampling.Wait()
	r.Profiles = <-profiled
	callsAfter, err := sys.simCalls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the simulator's call counts: %w", err)
	}
	r.WaveCalls = map[string]int{}
	for route, n := range callsAfter {
		if n -= callsBefore[route]; n > 0 {
			r.WaveCalls[route] = n
		}
	}
	if r.Signups != nil {
		// The new users' calls are theirs, not the wave's: counted apart
		// from the simulator's call log, which names each call's user.
		log, err := sys.simCallLog(ctx, waveStart)
		if err != nil {
			return nil, fmt.Errorf("read the simulator's call log: %w", err)
		}
		r.WaveCalls, r.SignupCalls = splitProbeCalls(r.WaveCalls, log.Calls, r.Signups.Sweep.users())
	}
	samplesMu.Lock()
	r.Budget = checkBudget(samples, cfg.BudgetRate, cfg.BudgetBurst, time.Second)
	samplesMu.Unlock()
	waveCalls := 0
	for _, n := range r.WaveCalls {
		waveCalls += n
	}
	r.Bound = waveBound(waveCalls, cfg.BudgetRate, cfg.BudgetBurst, time.Duration(r.Wave.ToAll*float64(time.Second)))

	// What the platform API and Mangopay say now.
	users := make([]waveUser, len(verified))
	lookup(ctx, verified, 8, func(u *waveUser) {
		u.SessionsAtMP = -1
		if !u.Affected {
			for _, ev := range sys.obs.events(u.UserID) {
				if reopenedBy(ev, u.OldSession) {
					u.NewSession, u.NewURL = ev.IdvSessionID, ev.HostedURL
				}
			}
			return
		}
		deadline := time.Now().Add(time.Minute)
		var st workflows.StateView
		if retry(ctx, deadline, func() error {
			return call(ctx, http.MethodGet, sys.apiURL+"/v1/onboardings/"+u.UserID, sys.apiToken, nil, &st)
		}) == nil {
			u.StateAfter = st.Status
			u.StateSessionOK = st.IdvSessionID == u.NewSession && st.HostedURL == u.NewURL
		}
		_ = retry(ctx, deadline, func() error {
			list, _, err := sys.mangopay.ListIdentityVerifications(ctx, u.UserID, &mangopay.ListOptions{PerPage: 100})
			if err == nil {
				u.SessionsAtMP = len(list)
			}
			return err
		})
	})
	for i, u := range verified {
		users[i] = *u
	}
	r.Wave = account(users)
	var ids []string
	for _, u := range users {
		if u.Affected {
			ids = append(ids, u.UserID)
		}
	}
	r.Webhooks = waveWebhooks(ctx, sys, ids, waveStart)
	if r.Signups != nil {
		if tc, err := sys.temporalClient(); err != nil {
			r.Signups.StagesError = "connect to Temporal: " + err.Error()
		} else {
			r.Signups.Quiet.readStages(ctx, tc)
			r.Signups.Sweep.readStages(ctx, tc)
			tc.Close()
		}
	}
	return r, nil
}

// reopenedBy reports a notification of a new session awaiting the user,
// other than old.
func reopenedBy(ev received, old string) bool {
	return ev.Type == "onboarding.awaiting_user" && ev.IdvSessionID != "" && ev.IdvSessionID != old && ev.HostedURL != ""
}

// pickAffected chooses round(share × n) of n users, at random.
func pickAffected(n int, share float64, rng *rand.Rand) []int {
	k := int(math.Round(share * float64(n)))
	return rng.Perm(n)[:k]
}

// lookup runs fn on every user, concurrency at a time.
func lookup(ctx context.Context, users []*waveUser, concurrency int, fn func(*waveUser)) {
	ch := make(chan *waveUser)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range ch {
				fn(u)
			}
		}()
	}
	for _, u := range users {
		if ctx.Err() != nil {
			break
		}
		ch <- u
	}
	close(ch)
	wg.Wait()
}

// Table writes the report for a person.
func (r *WaveReport) Table(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	w := r.Wave
	fmt.Fprintf(tw, "verified users\t%d of %d (%d failed) in %s: %.1f/s; %d workers, %d bridges\n", r.Verified, r.Users, r.FailedVerify,
		r.VerifyPhase.Round(time.Second), r.VerifiedPerS, r.Workers, r.Bridges)
	if r.FirstError != "" {
		fmt.Fprintf(tw, "first failure\t%s\n", r.FirstError)
	}
	fmt.Fprintf(tw, "downgraded\t%d of %d affected (%.0f%%) over %.1f s\n", w.Downgraded, w.Affected, 100*r.Share, w.Spread)
	fmt.Fprintf(tw, "reopened\t%d of %d with a new session and HostedUrl\n", w.Reopened, w.Affected)
	if w.Reopened == w.Affected {
		fmt.Fprintf(tw, "time until every affected user has a new HostedUrl\t%.1f s from the first downgrade\n", w.ToAll)
	}
	fmt.Fprintf(tw, "downgrade to new HostedUrl, per user\tp50 %s, p99 %s, max %s (%d)\n", msOf(w.PerUser.P50), msOf(w.PerUser.P99),
		msOf(w.PerUser.Max), w.PerUser.Count)
	total := 0
	for _, n := range r.WaveCalls {
		total += n
	}
	fmt.Fprintf(tw, "Mangopay calls in the wave\t%d (%.2f per affected user)\n", total, float64(total)/float64(max(1, w.Affected)))
	if w.Reopened == w.Affected {
		fmt.Fprintf(tw, "the wave's lower bound\t%s for its calls at the budget's rate after its burst; %s beyond it\n",
			r.Bound.Bound.Round(100*time.Millisecond), r.Bound.Beyond.Round(100*time.Millisecond))
	}
	for _, route := range slices.Sorted(maps.Keys(r.WaveCalls)) {
		fmt.Fprintf(tw, "  %s\t%d\n", route, r.WaveCalls[route])
	}
	if r.Signups != nil {
		fmt.Fprintf(tw, "Mangopay calls of the new signups during the wave\t%d (not in the wave's)\n", r.SignupCalls)
	}
	if wh := r.Webhooks; wh.Error != "" {
		fmt.Fprintf(tw, "wave webhooks\tnot measured: %s\n", wh.Error)
	} else {
		fmt.Fprintf(tw, "wave webhooks\t%d sent, peak %d in one second\n", wh.Sent, wh.PeakPerSecond)
		fmt.Fprintf(tw, "  webhook to signal\tp50 %s, p99 %s, max %s (%d)\n", msOf(wh.ToSignal.P50), msOf(wh.ToSignal.P99), msOf(wh.ToSignal.Max), wh.ToSignal.Count)
		fmt.Fprintf(tw, "  webhook to state\tp50 %s, p99 %s, max %s (%d; %d delivered and never signalled)\n", msOf(wh.ToState.P50), msOf(wh.ToState.P99),
			msOf(wh.ToState.Max), wh.ToState.Count, wh.Unsignalled)
		wh.Stages.Table(tw, "  ")
	}
	if s := r.Signups; s != nil {
		for _, p := range []struct {
			name string
			p    SignupProbe
		}{{"new signups, quiet", s.Quiet}, {"new signups, during the wave", s.Sweep}} {
			fmt.Fprintf(tw, "%s\t%d in %s (%d failed): signup to HostedUrl p50 %s, p99 %s, max %s\n", p.name, p.p.Sent,
				p.p.Duration.Round(time.Second), p.p.Failed, msOf(p.p.Latency.P50), msOf(p.p.Latency.P99), msOf(p.p.Latency.Max))
			stageLines(tw, "  ", signupStageOrder, p.p.Stages)
		}
		if s.StagesError != "" {
			fmt.Fprintf(tw, "  signup stages\tnot read: %s\n", s.StagesError)
		}
		verdict := fmt.Sprintf("met: p99 %.2f× the quiet p99 (goal within %.0f×)", s.Ratio, s.Factor)
		if !s.Met {
			verdict = "MISSED: " + s.Why
			if s.Sweep.Slowest != "" && s.Ratio > s.Factor {
				verdict += "; slowest stage during the wave: " + s.Sweep.Slowest
			}
		}
		fmt.Fprintf(tw, "signups during the wave\t%s\n", verdict)
	}
	b := r.Budget
	kept := "kept"
	if !b.Kept {
		kept = "EXCEEDED"
	}
	fmt.Fprintf(tw, "call budget\t%s: %.1f calls/s, burst %d; closest window %s to %s: %d calls for a limit of %.0f; peak %.1f calls/s\n",
		kept, b.Rate, b.Burst, b.WorstFrom.Round(time.Millisecond), b.WorstTo.Round(time.Millisecond), b.WorstCalls, b.WorstLimit, b.PeakPerSecond)
	for _, f := range []struct {
		name string
		ids  []string
	}{{"not reopened", w.NotReopened}, {"same HostedUrl", w.SameURL}, {"HostedUrl shared", w.SharedURL},
		{"duplicate IDV sessions", w.DuplicateIDV}, {"wrong state", w.WrongState}, {"reopened without a downgrade", w.UnaffectedMoved}} {
		if len(f.ids) > 0 {
			fmt.Fprintf(tw, "FAILED: %s\t%d: %v\n", f.name, len(f.ids), f.ids[:min(len(f.ids), 10)])
		}
	}
	for _, p := range r.Profiles {
		fmt.Fprintf(tw, "profile over the wave\t%s\n", p)
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "logs and Temporal's database: %s\n", r.WorkDir)
}

// splitProbeCalls takes the calls of the probe's users (and the creation
// of users, the harness's own) out of the wave's calls by route.
func splitProbeCalls(byRoute map[string]int, log []sandbox.CallRecord, probe map[string]bool) (wave map[string]int, probeCalls int) {
	wave = maps.Clone(byRoute)
	for _, c := range log {
		if !probe[c.UserID] && !harnessRoute(c.Route) {
			continue
		}
		if wave[c.Route] > 0 {
			wave[c.Route]--
			if wave[c.Route] == 0 {
				delete(wave, c.Route)
			}
		}
		if probe[c.UserID] {
			probeCalls++
		}
	}
	return wave, probeCalls
}
