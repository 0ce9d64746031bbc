package workflows_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// The randomized model test drives the real KYCOnboarding workflow, with the
// real activities against the in-process simulator, through random
// interleavings drawn from a seed: webhooks (new, lost, duplicated, stale,
// reordered, forged, for another session or user), concurrent updates, time
// jumps across reconcile, review, retry and expiry boundaries, Mangopay
// outcomes and faults, and continue-as-new. After every step it checks the
// invariants in model_invariants_test.go; a failing seed prints itself and
// its step trace.
//
// Environment (or the -model.* flags):
//
//	KYCFLOW_MODEL_SEED=N       run only seed N (replay)
//	KYCFLOW_MODEL_SEEDS=N      how many seeds (default 300, 40 under -short)
//	KYCFLOW_MODEL_SEED_BASE=N  first seed (default 1: CI runs the same seeds)
//	KYCFLOW_MODEL_STEPS=N      random steps per seed (default 30)
const (
	envModelSeed  = "KYCFLOW_MODEL_SEED"
	envModelSeeds = "KYCFLOW_MODEL_SEEDS"
	envModelBase  = "KYCFLOW_MODEL_SEED_BASE"
	envModelSteps = "KYCFLOW_MODEL_STEPS"
)

var (
	modelSeedFlag  = flag.Uint64("model.seed", 0, "model test: run only this seed ("+envModelSeed+")")
	modelSeedsFlag = flag.Int("model.seeds", 0, "model test: number of seeds ("+envModelSeeds+")")
	modelStepsFlag = flag.Int("model.steps", 0, "model test: random steps per seed ("+envModelSteps+")")
)

// modelStart is the simulated instant every seed starts at; the simulator's
// clock is frozen there and moves only with the workflow's, so dates (and
// the decisions drawn from them) replay.
var modelStart = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const modelReturnURL = "https://platform.example/kyc/back"

var modelKey = []byte("model-test-secret-0123456789abcd")

func TestModel(t *testing.T) {
	seeds, steps := modelSettings(t)
	t.Logf("model test: %d seed(s) from %d, %d steps each; replay one with %s=<seed>", len(seeds), seeds[0], steps, envModelSeed)
	var ran, failed atomic.Int64
	stats := &modelStats{ends: map[string]int{}, seen: map[string]int{}}
	t.Cleanup(func() {
		t.Logf("model test: %d seed(s) ran, %d failed", ran.Load(), failed.Load())
		t.Logf("model test: %s", stats)
	})
	for _, seed := range seeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			m := newModel(t, seed, steps)
			m.run()
			ran.Add(1)
			stats.add(m)
			if m.violation != "" {
				failed.Add(1)
				t.Logf("model trace of seed %d:\n%s", seed, strings.Join(m.trace, "\n"))
				t.Errorf("seed %d: %s\nreplay: %s=%d go test -race -count=1 -run 'TestModel/seed=%d$' ./workflows/",
					seed, m.violation, envModelSeed, seed, seed)
			}
		})
	}
}

func modelSettings(t *testing.T) (seeds []uint64, steps int) {
	num := func(flagVal int, env string, def int) int {
		if flagVal > 0 {
			return flagVal
		}
		if v := os.Getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("%s=%q: want a positive number", env, v)
			}
			return n
		}
		return def
	}
	steps = num(*modelStepsFlag, envModelSteps, 30)
	one := *modelSeedFlag
	if v := os.Getenv(envModelSeed); one == 0 && v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a seed number", envModelSeed, v)
		}
		one = n
	}
	if one != 0 {
		return []uint64{one}, steps
	}
	def := 300
	if testing.Short() {
		def = 40
	}
	n := num(*modelSeedsFlag, envModelSeeds, def)
	base := uint64(num(0, envModelBase, 1))
	for i := range n {
		seeds = append(seeds, base+uint64(i))
	}
	return seeds, steps
}

// modelStats sums up what the seeds exercised.
type modelStats struct {
	mu                                            sync.Mutex
	ends, seen                                    map[string]int
	agreed, runs, updates, signals, inflight, can int
	simDays                                       float64
}

func (s *modelStats) add(m *model) {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := string(m.final)
	if m.violation != "" {
		end = "violation"
	}
	s.ends[end]++
	for st := range m.seen {
		s.seen[string(st)]++
	}
	if m.agreed {
		s.agreed++
	}
	s.runs += m.runs
	s.can += m.runs - 1
	s.updates += len(m.updates)
	s.signals += len(m.stimuli) - len(m.updates)
	s.inflight += m.inflight
	if len(m.runAt) > 0 && len(m.stimuli) > 0 {
		s.simDays += m.stimuli[len(m.stimuli)-1].Sub(modelStart).Hours() / 24
	}
}

func (s *modelStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("ended %v; seeds that saw each status %v; quiet comparison held in %d; %d runs (%d continue-as-new); %d updates, %d signals, %d actions while an activity ran; %.0f simulated days",
		s.ends, s.seen, s.agreed, s.runs, s.can, s.updates, s.signals, s.inflight, s.simDays)
}

// modelAbort stops a seed's test environment at its first violation.
type modelAbort struct{}

// Phases of a seed: random steps, then the system is made quiet and
// compared with Mangopay, then the platform cancels.
const (
	phaseRandom = iota
	phaseQuiet1
	phaseQuiet2
	phaseCompare
	phaseAfterCancel
)

type model struct {
	linksChecked int // notifications whose HostedUrl checkLink has seen

	t     *testing.T
	seed  uint64
	rng   *rand.Rand
	steps int

	sim    *simtest.Sim
	mp     *mangopay.Client // the test's own view of Mangopay
	pages  *claimcheck.Store
	sink   *modelSink
	acts   *activities.Activities
	calls  atomic.Int64 // Mangopay calls made by the activities
	kind   string
	userID string
	other  string // another user, whose webhooks must not matter
	cfg    workflows.Config

	env     *testsuite.TestWorkflowEnvironment
	input   workflows.Input
	runs    int
	runAt   []time.Time // start of each run
	nextAt  time.Time   // next step
	phase   int
	aborted bool

	updates  []*modelUpdate
	updSeq   int
	inFlight []*sentSignal // signals sent since the last step
	logSeen  int           // simulator events already offered

	final            workflows.Status // the first final status seen
	cancelRequested  bool
	temporalCancel   bool
	temporalCancelAt time.Time            // when (model time)
	view             *workflows.StateView // at the last step
	faultsUntil      time.Time
	lastLevel        mangopay.KYCLevel // the user's level at the last step
	lastStepAt       time.Time
	settling         int              // re-drains before a quiet comparison
	resume           bool             // a quiet point mid-seed: random steps resume after it
	denied           []timeWindow     // Mangopay denied kycflow access (401/403) in these windows
	platformDown     []timeWindow     // the platform's endpoint answered 503 in these windows
	faults           sandbox.Faults   // injected now
	simSet           sandbox.Settings // the simulator's settings now
	knownDocs        map[string]bool
	transitions      []audit.Entry // the timeline's transitions at the last step

	running map[string]runningActivity // by activity id, in this run
	debug   bool                       // KYCFLOW_MODEL_DEBUG: activity failures in the trace

	// Counters for the per-day and per-run bounds.
	mpAttempts []time.Time // Mangopay activity attempts
	timers     []time.Time
	stimuli    []time.Time // signals and updates sent
	callSample []callSample
	hist       histCount

	agreed    bool                      // the quiet comparison ran and held
	seen      map[workflows.Status]bool // statuses seen at steps
	inflight  int                       // actions taken while an activity ran
	traceMu   sync.Mutex
	trace     []string
	violation string
	result    *workflows.Result
	runErr    error
}

// runningActivity is an activity started and not completed: between
// retries a step may see its effects at Mangopay before the workflow does.
type runningActivity struct {
	name  string
	since time.Time
	// handedOver: a try in the workflow task that failed; the activity
	// takes over (activityEnded clears it).
	handedOver bool
}

type timeWindow struct{ from, to time.Time }

// deniedSince tells when the last access outage that overlaps [since, now]
// ended (zero: none did).
func (m *model) deniedSince(since time.Time) time.Time {
	var end time.Time
	for _, w := range m.denied {
		if w.to.After(since) && w.to.After(end) {
			end = w.to
		}
	}
	return end
}

type callSample struct {
	at    time.Time
	calls int64
}

type histCount struct{ acts, timers, signals, updates int }

// estimate is a rough count of the history events of the current run: the
// test environment keeps no history, so the model counts what the server
// would record (commands, their outcomes and workflow tasks).
func (h histCount) estimate() int {
	return 6*h.acts + 5*h.timers + 4*h.signals + 5*h.updates
}

type modelUpdate struct {
	id, name string
	arg      any
	sentAt   time.Time
	accepted bool
	done     bool
	rejected bool
	err      error
	value    any
	// doneAt is when an ensure-session answered; linkChecked once
	// checkAnswers has held its HostedUrl to the oracle.
	doneAt      time.Time
	linkChecked bool
}

func (u *modelUpdate) settled() bool { return u.done || u.rejected }

func newModel(t *testing.T, seed uint64, steps int) *model {
	m := &model{t: t, seed: seed, debug: os.Getenv("KYCFLOW_MODEL_DEBUG") != "", rng: rand.New(rand.NewPCG(seed, seed*0x9E3779B97F4A7C15+1)), steps: steps, knownDocs: map[string]bool{}, seen: map[workflows.Status]bool{}}
	set := simtest.FastSettings()
	// Outcomes and KYC processing land on the model's clock, so a session
	// can be submitted and still PENDING at its expiry.
	set.OutcomeDelaySeconds = []float64{0, 0, 30, 600}[m.rng.IntN(4)]
	set.KycProcessingDelaySeconds = 60
	m.simSet = set
	m.sim = simtest.Start(t, sandbox.Config{
		Settings: set, Seed: seed | 1<<62, Now: func() time.Time { return modelStart },
		Logger: slog.New(slog.DiscardHandler),
	})
	m.mp = m.sim.Client
	client, err := mangopay.New(mangopay.Config{
		BaseURL: m.sim.URL, ClientID: m.sim.ClientID(), APIKey: sandbox.DefaultAPIKey,
		Observe: func(string, string, int, time.Duration) { m.calls.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// An in-process Redis: seeds replay the simulator's ids, which must not
	// meet another run's keys in a shared server.
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	m.pages = claimcheck.NewStore(rdb, 0, 0)
	m.sink = newModelSink(t)
	m.acts = &activities.Activities{
		Mangopay: client, Index: routing.NewIndex(rdb, 0), Pages: m.pages,
		Notifier: &notify.Notifier{URL: m.sink.srv.URL, Secrets: [][]byte{modelKey}},
		Logger:   slog.New(slog.DiscardHandler),
	}

	kinds := []string{"NATURAL", "NATURAL", "NATURAL", "NATURAL", "NATURAL", "BUSINESS", "BUSINESS", "SOLETRADER", "SOLETRADER", "ORGANIZATION", "ORGANIZATION", "PAYER"}
	m.kind = kinds[m.rng.IntN(len(kinds))]
	m.userID = m.createUser(m.kind)
	m.other = m.createUser("NATURAL")
	m.cfg = workflows.Config{
		MaxHistoryEvents: []int{0, 0, 60, 150, 400}[m.rng.IntN(5)],
		RetryBackoff:     []time.Duration{0, time.Minute, 10 * time.Minute}[m.rng.IntN(3)],
	}
	m.input = workflows.Input{UserID: m.userID, ReturnURL: modelReturnURL, Config: m.cfg}
	m.nextAt = modelStart.Add(time.Second)
	m.logf("seed %d: %s user %s, outcome delay %vs, MaxHistoryEvents %d, RetryBackoff %v",
		seed, m.kind, m.userID, set.OutcomeDelaySeconds, m.cfg.MaxHistoryEvents, m.cfg.RetryBackoff)
	return m
}

func (m *model) createUser(kind string) string { return createUser(m.t, m.mp, kind) }

// run executes run after run of the workflow (a continue-as-new starts the
// next one in a fresh test environment) until it ends or a check fails.
func (m *model) run() {
	start := modelStart
	for m.violation == "" {
		m.runs++
		m.runAt = append(m.runAt, start)
		if n := len(m.runAt); n > 20 && !m.runAt[n-1].After(m.runAt[n-21]) {
			m.fail("20 runs continued as new at one instant: a continue-as-new loop")
			return
		}
		canIn, end := m.runEnv(start)
		if m.aborted || m.violation != "" {
			return
		}
		if canIn == nil {
			m.checkCompletionBound(end)
			m.endChecks()
			return
		}
		m.input = *canIn
		start = end
	}
}

// runEnv runs one run; it returns the next run's input after a
// continue-as-new.
func (m *model) runEnv(start time.Time) (next *workflows.Input, end time.Time) {
	suite := &testsuite.WorkflowTestSuite{}
	logger := slog.New(slog.DiscardHandler)
	if m.debug {
		logger = slog.New(slog.NewTextHandler(&modelLogWriter{m}, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))
	}
	suite.SetLogger(tlog.NewStructuredLogger(logger))
	env := suite.NewTestWorkflowEnvironment()
	m.env = env
	m.hist = histCount{}
	m.running = map[string]runningActivity{}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	env.SetStartTime(start)
	env.SetTestTimeout(2 * time.Minute)
	env.SetWorkflowRunTimeout(10 * 365 * 24 * time.Hour)
	env.RegisterWorkflow(workflows.KYCOnboarding)
	env.RegisterActivity(m.acts)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		m.activityStarted(info)
	})
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		m.activityEnded(info)
		if err != nil && m.debug {
			m.logf("activity %s attempt %d failed: %v", info.ActivityType.Name, info.Attempt, err)
		}
	})
	env.SetOnActivityCanceledListener(m.activityEnded)
	// A call a person waits on tries in the workflow task first (a local
	// activity): the same call, held to the same invariants.
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		m.activityStarted(info)
	})
	env.SetOnLocalActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if err != nil && goesOnAsActivity(err) {
			// The activity takes over after a pause; what the try may
			// have made at Mangopay (a lost response) is still in the
			// making until that activity ends.
			r := m.running[info.ActivityID]
			r.handedOver = true
			m.running[info.ActivityID] = r
			return
		}
		delete(m.running, info.ActivityID)
	})
	env.SetOnLocalActivityCanceledListener(func(info *activity.Info) { delete(m.running, info.ActivityID) })
	env.SetOnTimerScheduledListener(func(string, time.Duration) {
		m.timers = append(m.timers, env.Now())
		m.hist.timers++
		m.noteHistory()
	})
	if m.runs > 1 {
		m.logf("run %d starts (continued as new)", m.runs)
		// What the server hands the new run: updates not yet accepted
		// and signals sent since the last step (duplicates are dropped by
		// the workflow).
		var pending []webhookstream.MangopayEvent
		for _, s := range m.inFlight {
			if !s.delivered {
				pending = append(pending, s.ev)
			}
		}
		m.inFlight = nil
		env.RegisterDelayedCallback(func() {
			for _, u := range m.updates {
				if !u.accepted && !u.settled() {
					m.logf("update %s (%s) goes to the new run", u.id, u.name)
					m.sendUpdate(u)
				}
			}
			for _, ev := range pending {
				m.signal(ev)
			}
		}, 0)
	}
	if m.runs == 1 {
		// The signup: update-with-start.
		env.RegisterDelayedCallback(func() {
			m.logf("signup: ensure-session")
			m.update(workflows.UpdateEnsureSession, workflows.EnsureSessionRequest{ReturnURL: modelReturnURL})
		}, 0)
	}
	m.schedule()
	m.armFaultsEnd()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(modelAbort); !ok {
					panic(r)
				}
				m.aborted = true
			}
		}()
		env.ExecuteWorkflow(workflows.KYCOnboarding, m.input)
	}()
	if m.aborted {
		return nil, time.Time{}
	}
	end = env.Now()
	if !env.IsWorkflowCompleted() {
		m.fail("the test environment stopped before the workflow completed")
		return nil, end
	}
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if errors.As(err, &can) {
		var in workflows.Input
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
			m.fail("decode the continue-as-new input: %v", err)
			return nil, end
		}
		for _, u := range m.updates {
			if u.accepted && !u.settled() {
				m.fail("update %s (%s) was accepted and never completed: the run continued as new under it", u.id, u.name)
				return nil, end
			}
		}
		m.logf("run %d continued as new (history estimate %d)", m.runs, m.hist.estimate())
		return &in, end
	}
	m.runErr = err
	if err == nil {
		var res workflows.Result
		if derr := env.GetWorkflowResult(&res); derr != nil {
			m.fail("decode the workflow result: %v", derr)
			return nil, end
		}
		m.result = &res
	}
	return nil, end
}

// schedule registers the next step in the current environment.
func (m *model) schedule() {
	d := m.nextAt.Sub(m.env.Now())
	if d <= 0 {
		d = time.Millisecond
	}
	m.env.RegisterDelayedCallback(m.step, d)
}

// step runs at a quiet instant (no activity in flight): it checks the
// invariants, then acts.
func (m *model) step() {
	m.syncSim()
	m.checkStep()
	m.inFlight = nil
	now := m.env.Now()
	if !m.faultsUntil.IsZero() && !now.Before(m.faultsUntil) {
		m.clearFaults()
	}
	switch m.phase {
	case phaseRandom:
		if m.steps == 0 {
			m.logf("quiet: faults off, every webhook delivered, time passes")
			m.clearFaults()
			m.drainAll()
			m.phase = phaseQuiet1
			m.nextAt = now.Add(25 * time.Hour)
			break
		}
		m.steps--
		m.randomStep()
		m.nextAt = now.Add(m.delay())
	case phaseQuiet1:
		m.drainAll()
		m.phase = phaseQuiet2
		m.nextAt = now.Add(25 * time.Hour)
	case phaseQuiet2:
		m.drainAll()
		m.phase = phaseCompare
		m.nextAt = now.Add(time.Hour)
	case phaseCompare:
		if n := len(m.sim.EventLog()); n > m.logSeen && m.settling < 5 {
			// Mangopay moved meanwhile (a deadline passed, a session
			// expired on its own clock): deliver that too, then judge.
			m.settling++
			m.drainAll()
			m.nextAt = now.Add(time.Hour)
			break
		}
		m.settling = 0
		m.checkAgreement()
		if m.resume {
			// A quiet point in the middle of the seed: the random
			// steps go on.
			m.resume = false
			m.phase = phaseRandom
			m.nextAt = now.Add(m.delay())
			break
		}
		m.logf("the platform cancels")
		m.cancel("model test over")
		m.phase = phaseAfterCancel
		m.nextAt = now.Add(24 * time.Hour)
	case phaseAfterCancel:
		m.fail("the workflow has not ended a day after the platform cancelled it (status %s)", m.statusNow())
	}
	m.schedule()
}

func (m *model) statusNow() workflows.Status {
	if m.view == nil {
		return ""
	}
	return m.view.Status
}

// syncSim brings the simulator's clock level with the workflow's.
func (m *model) syncSim() {
	if lag := m.env.Now().Sub(m.sim.Now()); lag > 0 {
		m.sim.Advance(lag)
	}
}

// activityEnded: an activity completed or was cancelled; so did the
// tries in the workflow task it took over from, or, when a cancel came
// before it could take over, that the cancel's lookup of what Mangopay
// made (FindCreatedSession) settled.
func (m *model) activityEnded(info *activity.Info) {
	delete(m.running, info.ActivityID)
	for id, r := range m.running {
		if r.handedOver && (r.name == info.ActivityType.Name || info.ActivityType.Name == "FindCreatedSession") {
			delete(m.running, id)
		}
	}
}

// goesOnAsActivity: a failed try in the workflow task that the workflow
// retries as an activity (Mangopay's refusals and access denied are
// answers, not retried).
func goesOnAsActivity(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable() && appErr.Type() != activities.ErrTypeAccessDenied
	}
	return true
}

// activityStarted runs on the environment's main loop before each activity
// attempt: it keeps Mangopay's clock in step, counts, and sometimes acts
// while the activity is in flight.
func (m *model) activityStarted(info *activity.Info) {
	m.syncSim()
	if info.Attempt <= 1 {
		m.hist.acts++
		m.noteHistory()
		m.running[info.ActivityID] = runningActivity{name: info.ActivityType.Name, since: m.env.Now()}
	}
	if info.ActivityType.Name == "NotifyPlatform" {
		return
	}
	now := m.env.Now()
	m.mpAttempts = append(m.mpAttempts, now)
	m.checkHotLoop(now)
	if m.phase == phaseRandom && info.Attempt <= 1 && m.rng.Float64() < 0.12 {
		m.inflight++
		m.inFlightAction(info.ActivityType.Name)
	}
}

// noteHistory tells the workflow its (estimated) history length, and has the
// "server" suggest continue-as-new past 400 events.
func (m *model) noteHistory() {
	est := m.hist.estimate()
	m.env.SetCurrentHistoryLength(est)
	if est >= serverSuggestsAt {
		m.env.SetContinueAsNewSuggested(true)
	}
}

const serverSuggestsAt = 400

func (m *model) sendUpdate(u *modelUpdate) {
	m.hist.updates++
	m.stimuli = append(m.stimuli, m.env.Now())
	m.noteHistory()
	m.env.UpdateWorkflow(u.name, u.id, &testsuite.TestUpdateCallback{
		OnAccept: func() { u.accepted = true },
		OnReject: func(err error) {
			// Temporal writes no event for a rejected update.
			m.hist.updates--
			m.noteHistory()
			u.rejected, u.err = true, err
			m.logf("update %s rejected: %v", u.id, err)
		},
		OnComplete: func(v any, err error) {
			u.done, u.err, u.value = true, err, v
			if r, ok := v.(workflows.EnsureSessionResult); ok && err == nil {
				m.logf("update %s done: %s attempt %d %s", u.id, r.Status, r.Attempt, r.IdvSessionID)
				u.doneAt = m.env.Now() // its link is checked at the next step (checkAnswers)
			} else {
				m.logf("update %s done (%v)", u.id, errOrOK(err))
			}
		},
	}, u.arg)
}

func (m *model) update(name string, arg any) *modelUpdate {
	m.updSeq++
	u := &modelUpdate{id: fmt.Sprintf("model-%d-%d", m.seed, m.updSeq), name: name, arg: arg, sentAt: m.env.Now()}
	m.updates = append(m.updates, u)
	m.sendUpdate(u)
	return u
}

func (m *model) signal(ev webhookstream.MangopayEvent) {
	ev.EventKey = ev.Key()
	m.hist.signals++
	m.stimuli = append(m.stimuli, m.env.Now())
	m.noteHistory()
	s := &sentSignal{ev: ev}
	m.inFlight = append(m.inFlight, s)
	m.env.SignalWorkflow(workflows.SignalMangopayEvent, ev)
	// Runs after the signal's own callback, unless the run ended in
	// between: then the signal never reached it.
	m.env.RegisterDelayedCallback(func() { s.delivered = true }, 0)
}

type sentSignal struct {
	ev        webhookstream.MangopayEvent
	delivered bool
}

func (m *model) logf(format string, args ...any) {
	at := ""
	if m.env != nil {
		at = fmtSince(m.env.Now().Sub(modelStart)) + " "
	}
	m.traceMu.Lock()
	defer m.traceMu.Unlock()
	m.trace = append(m.trace, at+fmt.Sprintf(format, args...))
}

// modelLogWriter puts the workflow's and activities' logs in the trace
// (KYCFLOW_MODEL_DEBUG=1).
type modelLogWriter struct{ m *model }

func (w *modelLogWriter) Write(p []byte) (int, error) {
	w.m.traceMu.Lock()
	defer w.m.traceMu.Unlock()
	w.m.trace = append(w.m.trace, "    log: "+strings.TrimSpace(string(p)))
	return len(p), nil
}

// fail records the first violation and stops the seed.
func (m *model) fail(format string, args ...any) {
	if m.violation != "" {
		return
	}
	m.violation = fmt.Sprintf(format, args...)
	m.logf("VIOLATION: %s", m.violation)
	if m.env != nil && !m.env.IsWorkflowCompleted() {
		panic(modelAbort{})
	}
}

func fmtSince(d time.Duration) string {
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	return fmt.Sprintf("+%dd%02dh%02dm%02ds", days, d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
}

// modelSink is the platform's webhook endpoint: it verifies signatures and
// records each event once, in arrival order.
type modelSink struct {
	mu     sync.Mutex
	srv    *httptest.Server
	events []notify.Event
	ids    map[string]bool
	down   atomic.Bool // the platform answers 503
}

func newModelSink(t *testing.T) *modelSink {
	p := &modelSink{ids: map[string]bool{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "platform down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if err := verifyNotification(modelKey, r, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		ev, err := decodeNotification(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		if !p.ids[ev.ID] {
			p.ids[ev.ID] = true
			p.events = append(p.events, ev)
		}
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *modelSink) all() []notify.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]notify.Event(nil), p.events...)
}

// modelRetries lifts a limit of the test environment: it caps retry
// policies that allow unlimited attempts (MaximumAttempts 0, what the
// workflow uses for Mangopay) at 10 attempts, where the server retries
// until the activity succeeds. The interceptor gives such policies a cap
// that a seed never reaches, so a long fault is retried as in production
// instead of failing the activity.
type modelRetries struct {
	interceptor.WorkerInterceptorBase
}

const modelUnlimitedAttempts = 1_000_000

func (*modelRetries) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &modelRetriesInbound{}
	in.Next = next
	return in
}

type modelRetriesInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *modelRetriesInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	out := &modelRetriesOutbound{}
	out.Next = outbound
	return i.Next.Init(out)
}

type modelRetriesOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *modelRetriesOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	opts := workflow.GetActivityOptions(ctx)
	rp := temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 100 * time.Second}
	if opts.RetryPolicy != nil {
		rp = *opts.RetryPolicy
	}
	if rp.MaximumAttempts == 0 {
		rp.MaximumAttempts = modelUnlimitedAttempts
		opts.RetryPolicy = &rp
		ctx = workflow.WithActivityOptions(ctx, opts)
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}
