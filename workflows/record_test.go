package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/cloudactions"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// envRecordHistories turns TestRecordHistories on.
const envRecordHistories = "KYCFLOW_RECORD_HISTORIES"

// historiesDir holds the corpora of recorded histories that
// TestReplayRecordedHistories replays, one folder each, and MEASUREMENTS.md:
//
//   - unreleased/: today's histories, rewritten by `make record-histories`;
//   - <version>/ (0.1.0/, …): the corpus of a release, kept from the moment
//     it shipped and never overwritten (docs/workflow-versioning.md).
var historiesDir = filepath.Join("testdata", "histories")

// unreleasedCorpus is the folder TestRecordHistories writes.
const unreleasedCorpus = "unreleased"

// releasedMarker marks a released corpus (besides a version-named folder).
const releasedMarker = "RELEASED"

var versionName = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)

// isReleased tells a released corpus: a folder named as a version, or one
// holding a RELEASED file. Onboardings started on that release may still be
// running: its histories must replay for ever, and nothing rewrites them.
func isReleased(dir string) bool {
	if versionName.MatchString(filepath.Base(dir)) {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, releasedMarker))
	return err == nil
}

// checkRecordable refuses to record into a released corpus.
func checkRecordable(dir string) error {
	if isReleased(dir) {
		return fmt.Errorf("%s is a released corpus: it is never overwritten (record into %s, see docs/workflow-versioning.md)", dir, unreleasedCorpus)
	}
	return nil
}

// Waits on the workflow's state. They are generous: they bound a wait, they
// do not assert how fast anything is.
const (
	pollInterval = 100 * time.Millisecond
	waitTimeout  = time.Minute
)

// recordScenario is one onboarding path, run for real by TestRecordHistories.
type recordScenario struct {
	name string
	kind string           // the Mangopay user to create (see harness.createUser)
	cfg  workflows.Config // the workflow's Config, shortened where the path waits
	run  func(r *recording)
}

// recordScenarios are the paths recorded, in the order they run. They run
// one after the other, so that the simulator's call counts and event log
// since a scenario started are that scenario's.
var recordScenarios = []recordScenario{
	{name: "natural-happy-path", kind: "NATURAL", run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{ReturnURL: returnURL})
		r.decide(validated)
		r.deliver() // IDENTITY_VERIFICATION_VALIDATED
		r.waitStatus(workflows.StatusVerified)
		r.cancel()
	}},
	{name: "webhook-lost-reconciled", kind: "NATURAL", cfg: workflows.Config{ReconcileSchedule: []time.Duration{2 * time.Second}}, run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.decide(validated)
		r.skipEvents() // every webhook is lost: the 2 s reconciliation finds the outcome
		r.waitStatus(workflows.StatusVerified)
		r.cancel()
	}},
	{name: "refused-retried-validated", kind: "NATURAL", cfg: workflows.Config{RetryBackoff: time.Second}, run: func(r *recording) {
		first := r.ensureSession(workflows.EnsureSessionRequest{})
		r.decide(faceMismatch)
		r.deliver() // IDENTITY_VERIFICATION_FAILED
		// The 1 s backoff passes and attempt 2 opens by itself.
		second := r.waitFor("attempt 2 awaiting the user", func(v workflows.StateView) bool {
			return v.Attempt == 2 && v.Status == workflows.StatusAwaitingUser
		})
		require.NotEqual(r.t, first.IdvSessionID, second.IdvSessionID)
		r.decide(validated)
		r.deliver()
		r.waitStatus(workflows.StatusVerified)
		r.cancel()
	}},
	{name: "legal-review-validated", kind: "BUSINESS", run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.decide(businessKO)
		r.deliver() // IDENTITY_VERIFICATION_INCONCLUSIVE
		v := r.waitStatus(workflows.StatusInReview)
		require.NoError(r.t, r.sim.DecideReview(v.IdvSessionID, "VALIDATED", ""))
		r.deliver() // IDENTITY_VERIFICATION_VALIDATED
		// Then its legal representative's PSC session.
		v = r.waitFor("the PSC session", func(v workflows.StateView) bool {
			return v.Status == workflows.StatusAwaitingPSCs && len(v.PSCs) == 1
		})
		require.NoError(r.t, r.sim.DecidePsc(v.PSCs[0].PscID, "VALIDATED"))
		r.deliver()
		r.waitStatus(workflows.StatusVerified)
		r.cancel()
	}},
	{name: "expired-then-new-session", kind: "NATURAL", cfg: workflows.Config{SessionLifetime: 3 * time.Second, ExpiryGrace: time.Second}, run: func(r *recording) {
		first := r.ensureSession(workflows.EnsureSessionRequest{})
		r.waitStatus(workflows.StatusExpired) // the user never came
		again := r.ensureSession(workflows.EnsureSessionRequest{ReturnURL: "https://platform.example/back"})
		require.Equal(r.t, workflows.StatusAwaitingUser, again.Status)
		require.Equal(r.t, 2, again.Attempt)
		require.NotEqual(r.t, first.IdvSessionID, again.IdvSessionID)
		r.cancel() // before the second short-lived session expires too
	}},
	{name: "downgraded-new-session-validated", kind: "NATURAL", run: func(r *recording) {
		r.verified()
		require.NoError(r.t, r.sim.Downgrade(r.userID))
		r.deliver() // IDENTITY_VERIFICATION_OUTDATED and USER_KYC_LIGHT
		r.waitFor("attempt 2 awaiting the user", func(v workflows.StateView) bool {
			return v.Attempt == 2 && v.Status == workflows.StatusAwaitingUser
		})
		r.decide(validated)
		r.deliver()
		r.waitFor("attempt 2 verified", func(v workflows.StateView) bool {
			return v.Attempt == 2 && v.Status == workflows.StatusVerified
		})
		r.cancel()
	}},
	{name: "extra-document-accepted", kind: "NATURAL", run: func(r *recording) {
		r.verified()
		var keys []string
		for range 2 {
			k, err := r.pages.Put(r.ctx, append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
			require.NoError(r.t, err)
			keys = append(keys, k)
		}
		h, err := r.c.UpdateWorkflow(r.ctx, client.UpdateWorkflowOptions{
			WorkflowID: r.workflowID, UpdateName: workflows.UpdateSubmitDocument, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Pages: keys, Tag: "accept"}},
		})
		require.NoError(r.t, err)
		var submitted workflows.SubmitDocumentResult
		require.NoError(r.t, h.Get(r.ctx, &submitted))
		require.Equal(r.t, "VALIDATION_ASKED", submitted.Status)
		r.sim.Advance(kycProcessingDelay) // Mangopay processes the document
		r.deliver()                       // KYC_SUCCEEDED
		r.waitFor("document validated", func(v workflows.StateView) bool {
			return len(v.Documents) == 1 && v.Documents[0].Status == "VALIDATED"
		})
		r.cancel()
	}},
	{name: "not-eligible-payer", kind: "PAYER", run: func(r *recording) {
		got := r.ensureSession(workflows.EnsureSessionRequest{})
		require.Equal(r.t, workflows.StatusNotEligible, got.Status)
		// The workflow completes by itself.
	}},
	{name: "cancelled", kind: "NATURAL", run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.cancel()
	}},
	{name: "abandoned-session-expired", kind: "NATURAL", cfg: workflows.Config{SessionLifetime: 3 * time.Second, ExpiryGrace: time.Second}, run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.waitStatus(workflows.StatusExpired) // the user never came back
		r.cancel()
	}},
	{name: "cancelled-from-temporal", kind: "NATURAL", run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{})
		// An operator cancels it in the Web UI or with the CLI.
		require.NoError(r.t, r.c.CancelWorkflow(r.ctx, r.workflowID, ""))
	}},
	{name: "cancelled-delivered-after-outage", kind: "NATURAL", run: func(r *recording) {
		// The platform is down when the onboarding is cancelled: the run
		// goes on delivering (FinalDeliveryWait) and completes once the
		// platform takes onboarding.cancelled, on the next retry.
		var refused atomic.Int32
		r.platform.setRefuse(func(notify.Event) bool { refused.Add(1); return true })
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.cancel()
		after := refused.Load()
		require.Eventually(r.t, func() bool { return refused.Load() > after }, time.Minute, 50*time.Millisecond,
			"a notification refused after the cancel")
		r.platform.setRefuse(nil)
	}},
	{name: "cancelled-released-for-next-signup", kind: "NATURAL", run: func(r *recording) {
		// The platform is down when the onboarding is cancelled; the user
		// signs up again: the lingering run completes at once for the next
		// onboarding (OnboardingClosing), which carries what is undelivered.
		r.platform.setRefuse(func(notify.Event) bool { return true })
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.cancel()
		next, err := workflows.EnsureSession(r.ctx, r.c, r.userID, workflows.EnsureSessionRequest{ReturnURL: returnURL})
		require.NoError(r.t, err, "the next signup")
		require.Equal(r.t, workflows.StatusAwaitingUser, next.Status)
		r.platform.setRefuse(nil)
		r.cancel() // the next onboarding, so that nothing is left running
	}},
	{name: "refused-until-failed", kind: "NATURAL", cfg: workflows.Config{MaxAttempts: 2, RetryBackoff: time.Second}, run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.decide(faceMismatch)
		r.deliver()
		r.waitFor("attempt 2 awaiting the user", func(v workflows.StateView) bool {
			return v.Attempt == 2 && v.Status == workflows.StatusAwaitingUser
		})
		r.decide(faceMismatch)
		r.deliver() // the second refusal reaches the cap: FAILED, and the workflow completes
	}},
	{name: "review-then-refused", kind: "BUSINESS", cfg: workflows.Config{RetryBackoff: time.Hour}, run: func(r *recording) {
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.decide(businessKO)
		r.deliver() // IDENTITY_VERIFICATION_INCONCLUSIVE
		v := r.waitStatus(workflows.StatusInReview)
		require.NoError(r.t, r.sim.DecideReview(v.IdvSessionID, "REFUSED", "documents do not match"))
		r.deliver() // IDENTITY_VERIFICATION_FAILED
		r.waitStatus(workflows.StatusRefused)
		r.cancel()
	}},
	{name: "downgrade-user-event-first", kind: "NATURAL", run: func(r *recording) {
		r.verified()
		require.NoError(r.t, r.sim.Downgrade(r.userID))
		// USER_KYC_LIGHT alone: the downgrade-rereads-session branch.
		r.deliverOnly("USER_KYC_LIGHT")
		r.waitFor("attempt 2 awaiting the user", func(v workflows.StateView) bool {
			return v.Attempt == 2 && v.Status == workflows.StatusAwaitingUser
		})
		r.cancel()
	}},
	{name: "business-pscs-rejected-retried-validated", kind: "BUSINESS", run: func(r *recording) {
		require.NoError(r.t, r.sim.DeclarePscs(r.userID, []sandbox.PscPerson{
			{FirstName: "Ada", LastName: "Owner", PscType: "UBO"}, {FirstName: "Bob", LastName: "Director", PscType: "LEGAL_REPRESENTATIVE"},
		}))
		r.ensureSession(workflows.EnsureSessionRequest{})
		r.decide(validated)
		r.deliver()
		v := r.waitFor("two PSC sessions", func(v workflows.StateView) bool {
			return v.Status == workflows.StatusAwaitingPSCs && len(v.PSCs) == 2
		})
		require.NoError(r.t, r.sim.DecidePsc(v.PSCs[0].PscID, "VALIDATED"))
		require.NoError(r.t, r.sim.DecidePsc(v.PSCs[1].PscID, "REJECTED"))
		r.deliver()
		r.waitFor("a rejected PSC", func(v workflows.StateView) bool { return len(v.PSCs) == 2 && v.PSCs[1].Status == "REJECTED" })
		_, err := workflows.RetryPSC(r.ctx, r.c, r.userID, workflows.RetryPSCRequest{PscID: v.PSCs[1].PscID})
		require.NoError(r.t, err)
		require.NoError(r.t, r.sim.DecidePsc(v.PSCs[1].PscID, "VALIDATED"))
		r.deliver()
		r.waitStatus(workflows.StatusVerified)
		r.cancel()
	}},
	{name: "renewal-before-deadline", kind: "NATURAL", run: func(r *recording) {
		r.verified()
		_, err := r.sim.RequireRenewal(r.userID, 90)
		require.NoError(r.t, err)
		r.deliver() // USER_KYC_RENEWAL_REQUIRED
		r.waitStatus(workflows.StatusRenewal)
		again := r.ensureSession(workflows.EnsureSessionRequest{SessionLanguage: "de-DE"})
		require.Equal(r.t, 2, again.Attempt)
		r.decide(validated)
		r.deliver() // IDENTITY_VERIFICATION_VALIDATED, USER_KYC_RENEWED
		r.waitFor("renewed", func(v workflows.StateView) bool {
			return v.Status == workflows.StatusVerified && v.RenewalDeadline == ""
		})
		r.cancel()
	}},
	{name: "renewal-deadline-missed", kind: "NATURAL", run: func(r *recording) {
		r.verified()
		_, err := r.sim.RequireRenewal(r.userID, 1)
		require.NoError(r.t, err)
		r.deliver()
		r.waitStatus(workflows.StatusRenewal)
		r.sim.Advance(3 * 24 * time.Hour) // Mangopay downgrades the user after the deadline
		r.deliver()                       // USER_KYC_LIGHT, IDENTITY_VERIFICATION_OUTDATED
		r.waitFor("attempt 2 awaiting the user", func(v workflows.StateView) bool {
			return v.Attempt == 2 && v.Status == workflows.StatusAwaitingUser
		})
		r.cancel()
	}},
	{name: "signup-through-a-mangopay-outage", kind: "NATURAL", run: func(r *recording) {
		// Mangopay answers 503 to the signup's first try (made in its
		// workflow task); the try goes on as the activity after Temporal's
		// pause, by which time Mangopay is back.
		r.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 503})
		ctx, stop := context.WithCancel(r.ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer r.sim.SetFaults(sandbox.Faults{})
			r.awaitEvent(ctx, enumspb.EVENT_TYPE_TIMER_STARTED) // the pause
		}()
		// Whatever happens below, the faults end with the scenario.
		r.t.Cleanup(func() { stop(); <-done })
		r.ensureSession(workflows.EnsureSessionRequest{})
		<-done
		r.cancel()
	}},
	{name: "continued-as-new", kind: "NATURAL", cfg: workflows.Config{MaxHistoryEvents: 40}, run: func(r *recording) {
		r.verified()
		// Past 40 events the VERIFIED onboarding continues as new, next
		// time its loop wakes (a webhook, or any update); the downgrade
		// then happens in a later run.
		r.waitFor("a second run", func(workflows.StateView) bool {
			if r.continuedAsNew() {
				return true
			}
			r.signal(webhookstream.MangopayEvent{EventType: "KYC_SUCCEEDED", ResourceID: "kyc_m_unknown", Date: time.Now().UnixNano()})
			return false
		})
		require.NoError(r.t, r.sim.Downgrade(r.userID))
		r.deliver()
		r.waitFor("attempt 2 awaiting the user", func(v workflows.StateView) bool {
			return v.Attempt == 2 && v.Status == workflows.StatusAwaitingUser
		})
		r.cancel()
	}},
}

// kycProcessingDelay is the simulator's KYC document processing time; the
// scenario advances the simulator's clock by it. It is kept short because
// the simulator's dates (session CreationDate) then run that far ahead.
const kycProcessingDelay = time.Second

// TestRecordHistories runs every onboarding path for real: the workflow on a
// Temporal dev server, a worker in this process, the real activities against
// the in-process Mangopay simulator, Redis and a platform webhook sink. It
// writes each path's history to testdata/histories (replayed by
// TestReplayRecordedHistories) and what the path costs to MEASUREMENTS.md.
func TestRecordHistories(t *testing.T) {
	if os.Getenv(envRecordHistories) != "1" {
		t.Skipf("records workflow histories on a Temporal dev server: run `make record-histories` (sets %s=1)", envRecordHistories)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The server's own log is shown only when something failed.
	serverLog := &syncbuf.Buffer{}
	srv, err := devtemporal.Start(ctx, devtemporal.Options{Logger: sdkLogger(logger), Stdout: serverLog, Stderr: serverLog})
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil {
			t.Logf("stop dev server: %v", err)
		}
		if t.Failed() {
			t.Logf("dev server output:\n%s", serverLog)
		}
	})
	c := srv.Client()

	// The simulator, as in harness: outcomes land at once, no rate limit.
	set := simtest.FastSettings()
	set.KycProcessingDelaySeconds = kycProcessingDelay.Seconds()
	simS := simtest.Start(t, sandbox.Config{Settings: set})
	sim, mp := simS.Sandbox, simS.Client
	rdb := redistest.New(t)
	pages := claimcheck.NewStore(rdb, 0, 0)
	platform := newPlatformSink(t)

	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
	w.RegisterActivity(&activities.Activities{
		Mangopay: mp, Index: routing.NewIndex(rdb, 0), Pages: pages,
		Notifier: &notify.Notifier{URL: platform.srv.URL, Secrets: [][]byte{platformKey}},
		Logger:   logger,
	})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	into := filepath.Join(historiesDir, unreleasedCorpus)
	require.NoError(t, checkRecordable(into))
	require.NoError(t, os.MkdirAll(into, 0o755))
	// Today's corpus is rewritten whole: a path no longer recorded goes.
	old, err := filepath.Glob(filepath.Join(into, "*.json"))
	require.NoError(t, err)
	for _, f := range old {
		require.NoError(t, os.Remove(f))
	}
	var rows []measurement
	for _, sc := range recordScenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := &recording{t: t, ctx: ctx, c: c, sim: sim, pages: pages, cfg: sc.cfg, platform: platform}
			t.Cleanup(func() { platform.setRefuse(nil) })
			r.userID = createUser(t, mp, sc.kind)
			r.workflowID = workflows.WorkflowID(r.userID)
			r.delivered = len(sim.EventLog())
			r.before = sim.APICalls()
			r.baseline = sumCalls(r.before)
			sc.run(r)

			var res workflows.Result
			if err := c.GetWorkflow(ctx, r.workflowID, r.runID).Get(ctx, &res); !errors.As(err, new(*temporal.CanceledError)) {
				require.NoError(t, err, "the onboarding should be over")
			}
			calls := sim.APICalls()
			runs := r.histories()
			m := measure(sc.name, runs, sumCalls(calls)-r.baseline)
			for route, n := range calls {
				if d := n - r.before[route]; d > 0 {
					m.routes[route] = d
				}
			}
			for i, h := range runs {
				writeHistory(t, historyFile(sc.name, i), h)
			}
			t.Logf("%s: ended %s (%s); %d history events, %d billable actions %v, %d Mangopay calls %v",
				sc.name, res.Status, res.Reason, m.events, m.actions, m.breakdown, m.mangopayCalls, m.routes)
			rows = append(rows, m)
		})
	}
	if t.Failed() {
		t.Fatal("some scenarios failed: MEASUREMENTS.md left as it was")
	}
	writeMeasurements(t, rows)
}

// recording drives one scenario's onboarding through the Temporal client,
// as the platform API and the webhook bridge would.
type recording struct {
	t     *testing.T
	ctx   context.Context
	c     client.Client
	sim   *sandbox.Sandbox
	pages *claimcheck.Store
	cfg   workflows.Config
	// platform is the platform's webhook endpoint; a scenario that makes
	// it refuse sets it back.
	platform *platformSink

	userID     string
	workflowID string
	runID      string         // the first run, set by the first ensureSession
	delivered  int            // simulator events already signalled (or lost)
	before     map[string]int // Mangopay calls per route before the scenario (its setup included)
	baseline   int            // their total
}

// ensureSession calls ensure-session the way the platform API does:
// update-with-start, joining the running onboarding if there is one.
func (r *recording) ensureSession(req workflows.EnsureSessionRequest) workflows.EnsureSessionResult {
	r.t.Helper()
	start := r.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: r.workflowID, TaskQueue: workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.WorkflowType, workflows.Input{UserID: r.userID, ReturnURL: returnURL, Config: r.cfg})
	h, err := r.c.UpdateWithStartWorkflow(r.ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: workflows.UpdateEnsureSession, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	require.NoError(r.t, err, "update-with-start ensure-session")
	var res workflows.EnsureSessionResult
	require.NoError(r.t, h.Get(r.ctx, &res), "ensure-session result")
	if r.runID == "" {
		run, err := start.Get(r.ctx)
		require.NoError(r.t, err)
		r.runID = run.GetRunID()
	}
	return res
}

// awaitEvent waits until the onboarding's history holds an event of type
// typ, ctx ends or waitTimeout passes (the scenario then fails on what
// follows). Safe outside the test's goroutine: it reports nothing itself.
func (r *recording) awaitEvent(ctx context.Context, typ enumspb.EventType) {
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(pollInterval) {
		it := r.c.GetWorkflowHistory(ctx, r.workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break // not started yet
			}
			if ev.GetEventType() == typ {
				return
			}
		}
	}
}

// state queries the workflow.
func (r *recording) state() (workflows.StateView, error) {
	var v workflows.StateView
	q, err := r.c.QueryWorkflow(r.ctx, r.workflowID, "", workflows.QueryState)
	if err != nil {
		return v, err
	}
	return v, q.Get(&v)
}

// waitFor polls the state query until cond holds.
func (r *recording) waitFor(what string, cond func(workflows.StateView) bool) workflows.StateView {
	r.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		v, err := r.state()
		if err == nil && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: gave up after %s; last state %+v, error %v", what, waitTimeout, v, err)
		}
		time.Sleep(pollInterval)
	}
}

func (r *recording) waitStatus(s workflows.Status) workflows.StateView {
	r.t.Helper()
	return r.waitFor(string(s), func(v workflows.StateView) bool { return v.Status == s })
}

// decide gives the current session an outcome in the simulator.
func (r *recording) decide(choices map[string]sandbox.Choice) {
	r.t.Helper()
	v, err := r.state()
	require.NoError(r.t, err)
	require.NoError(r.t, r.sim.SubmitOutcome(v.IdvSessionID, choices))
}

// deliver signals every webhook kycflow subscribes to that the simulator
// emitted since the last call, as the webhook bridge would.
func (r *recording) deliver() {
	r.t.Helper()
	log := r.sim.EventLog()
	for _, ev := range log[r.delivered:] {
		if !slices.Contains(workflows.HookEventTypes, mangopay.EventType(ev.EventType)) {
			continue // kycflow registers no hook for it: Mangopay sends nothing
		}
		me := webhookstream.MangopayEvent{EventType: mangopay.EventType(ev.EventType), ResourceID: ev.ResourceID, Date: ev.Date}
		me.EventKey = me.Key()
		require.NoError(r.t, r.c.SignalWorkflow(r.ctx, r.workflowID, "", workflows.SignalMangopayEvent, me))
	}
	r.delivered = len(log)
}

// deliverOnly signals the simulator's events of the given types emitted since
// the last delivery; the others are lost.
func (r *recording) deliverOnly(types ...string) {
	r.t.Helper()
	log := r.sim.EventLog()
	for _, ev := range log[r.delivered:] {
		if !slices.Contains(types, ev.EventType) {
			continue
		}
		me := webhookstream.MangopayEvent{EventType: mangopay.EventType(ev.EventType), ResourceID: ev.ResourceID, Date: ev.Date}
		me.EventKey = me.Key()
		require.NoError(r.t, r.c.SignalWorkflow(r.ctx, r.workflowID, "", workflows.SignalMangopayEvent, me))
	}
	r.delivered = len(log)
}

// verified takes a new onboarding to VERIFIED through the hosted page's
// VALIDATED and its webhook.
func (r *recording) verified() {
	r.t.Helper()
	r.ensureSession(workflows.EnsureSessionRequest{})
	r.decide(validated)
	r.deliver()
	r.waitStatus(workflows.StatusVerified)
}

// signal sends one webhook as the bridge would.
func (r *recording) signal(ev webhookstream.MangopayEvent) {
	r.t.Helper()
	ev.EventKey = ev.Key()
	require.NoError(r.t, r.c.SignalWorkflow(r.ctx, r.workflowID, "", workflows.SignalMangopayEvent, ev))
}

// continuedAsNew reports whether the onboarding's latest run is not its
// first one.
func (r *recording) continuedAsNew() bool {
	r.t.Helper()
	d, err := r.c.DescribeWorkflowExecution(r.ctx, r.workflowID, "")
	require.NoError(r.t, err)
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != r.runID
}

// skipEvents drops the simulator's events so far (webhooks lost).
func (r *recording) skipEvents() { r.delivered = len(r.sim.EventLog()) }

// cancel ends the onboarding with the cancel update, which closes the
// history.
func (r *recording) cancel() {
	r.t.Helper()
	h, err := r.c.UpdateWorkflow(r.ctx, client.UpdateWorkflowOptions{
		WorkflowID: r.workflowID, UpdateName: workflows.UpdateCancel, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.CancelRequest{Reason: "recording over"}},
	})
	require.NoError(r.t, err)
	var v workflows.StateView
	require.NoError(r.t, h.Get(r.ctx, &v))
	require.Equal(r.t, workflows.StatusCancelled, v.Status)
}

// histories fetches the closed onboarding's history, one per run when it
// continued as new.
func (r *recording) histories() []*historypb.History {
	r.t.Helper()
	var runs []*historypb.History
	for runID := r.runID; runID != ""; {
		h := &historypb.History{}
		it := r.c.GetWorkflowHistory(r.ctx, r.workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(r.t, err)
			h.Events = append(h.Events, ev)
		}
		require.NotEmpty(r.t, h.Events)
		runs = append(runs, h)
		runID = h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	return runs
}

// historyFile names run i of a scenario: <scenario>.json, then
// <scenario>.run2.json and on for runs after a continue-as-new.
func historyFile(scenario string, i int) string {
	if i == 0 {
		return filepath.Join(historiesDir, unreleasedCorpus, scenario+".json")
	}
	return filepath.Join(historiesDir, unreleasedCorpus, fmt.Sprintf("%s.run%d.json", scenario, i+1))
}

// writeHistory writes h in the JSON form the Temporal CLI and Web UI export
// and worker.WorkflowReplayer's ReplayWorkflowHistoryFromJSONFile reads.
func writeHistory(t *testing.T, path string, h *historypb.History) {
	t.Helper()
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	// It must read back as the replayer reads it.
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	back, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	require.Len(t, back.Events, len(h.Events))
}

// measurement is what one onboarding path costs.
type measurement struct {
	scenario      string
	events        int            // history events, all runs
	actions       int            // billable actions (cloudactions.Count)
	breakdown     map[string]int // billable actions by kind
	mangopayCalls int
	routes        map[string]int // Mangopay calls by route
}

func measure(scenario string, runs []*historypb.History, mangopayCalls int) measurement {
	m := measurement{scenario: scenario, breakdown: map[string]int{}, mangopayCalls: mangopayCalls, routes: map[string]int{}}
	for _, h := range runs {
		m.events += len(h.Events)
		for kind, n := range cloudactions.Count(h.Events) {
			m.breakdown[kind] += n
		}
	}
	m.actions = cloudactions.Total(m.breakdown)
	return m
}

// counts formats a count map in key order.
func counts(by map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(by)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, by[k]))
	}
	return strings.Join(parts, ", ")
}

func sumCalls(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

// writeMeasurements writes MEASUREMENTS.md and logs the table.
func writeMeasurements(t *testing.T, rows []measurement) {
	t.Helper()
	b := &strings.Builder{}
	b.WriteString("# What each onboarding path costs\n\n")
	b.WriteString("Measured on real runs by `TestRecordHistories` (workflows/record_test.go): the KYCOnboarding\n")
	b.WriteString("workflow on a Temporal dev server (CLI v1.5.1), a worker with the real activities, the in-process\n")
	b.WriteString("Mangopay simulator, Redis and a platform webhook sink. The histories in unreleased/ come from\n")
	b.WriteString("the same runs and are replayed by `TestReplayRecordedHistories` with every released corpus.\n")
	b.WriteString("Re-run (rewrites both; a released corpus is never rewritten):\n\n")
	b.WriteString("    make record-histories\n\n")
	b.WriteString("| scenario | history events | billable actions | Mangopay calls |\n")
	b.WriteString("|---|---:|---:|---:|\n")
	for _, m := range rows {
		fmt.Fprintf(b, "| %s | %d | %d | %d |\n", m.scenario, m.events, m.actions, m.mangopayCalls)
	}
	b.WriteString("\nBillable actions are counted from the history as Temporal Cloud bills them (internal/cloudactions):\n")
	b.WriteString("the start (1 a run), each signal, each accepted update, each scheduled activity plus its retries\n")
	b.WriteString("(from ActivityTaskStarted.Attempt), each timer started, each search-attribute upsert but one of\n")
	b.WriteString("TemporalChangeVersion alone, and the markers of one workflow task (side effects, local activities,\n")
	b.WriteString("versions) as one action.\n")
	b.WriteString("Billed but not in a history, so not in the table: each state query (GET /v1/onboardings/<id>,\n")
	b.WriteString("1 action), each rejected update (1 action: the validator said no), and each heartbeat that\n")
	b.WriteString("reaches the server (UploadPages heartbeats per page, throttled by the SDK: about one per page\n")
	b.WriteString("of an extra document). Mangopay calls are the authenticated API calls the simulator\n")
	b.WriteString("received from the activities (token requests and the test's own setup excluded). Timings in the\n")
	b.WriteString("scenarios are shortened where the path waits (reconciliation 2 s, retry backoff 1 s, session\n")
	b.WriteString("lifetime 3 s, expiry grace 1 s), which changes no count, except for the abandoned session: over\n")
	b.WriteString("the real 7 days it costs at most 3 Mangopay calls (TestAbandonedSessionCost: one read at the expiry). Every scenario but not-eligible-payer ends with the cancel\n")
	b.WriteString("update so that its history is closed: that adds 3 or 4 actions (the update, a search-attribute upsert,\n")
	b.WriteString("the platform notification, and the timer of the final delivery's wait when that notification is\n")
	b.WriteString("still on its way) and no Mangopay call. History events vary by a few from one recording to the next\n")
	b.WriteString("(how signals, updates and activity results batch into workflow tasks), and so may that timer.\n")
	b.WriteString("The simulator does not count the calls it answers with an injected fault (the 503 of\n")
	b.WriteString("signup-through-a-mangopay-outage's first try).\n\n")
	b.WriteString("In detail (billable actions by kind; Mangopay calls by route):\n\n")
	for _, m := range rows {
		fmt.Fprintf(b, "- %s: %s; %s\n", m.scenario, counts(m.breakdown), counts(m.routes))
	}
	require.NoError(t, os.WriteFile(filepath.Join(historiesDir, "MEASUREMENTS.md"), []byte(b.String()), 0o644))
	t.Log("\n" + b.String())
}
