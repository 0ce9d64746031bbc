package harness_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/loadtest/harness"
)

// The binaries are built once for the package's tests.
var (
	buildOnce sync.Once
	bins      harness.Binaries
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func binaries(t *testing.T) *harness.Binaries {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "kycflow-loadtest-bin-"); buildErr != nil {
			return
		}
		bins, buildErr = harness.Build(context.Background(), filepath.Join("..", ".."), binDir)
	})
	require.NoError(t, buildErr)
	return &bins
}

func profile(t *testing.T) harness.Config {
	t.Helper()
	if testing.Short() {
		t.Skip("the load harness starts the whole system: skipped under -short")
	}
	// `make test` runs these on their own, after every other package, with
	// KYCFLOW_LOADTEST=1: a plain `go test ./...` leaves the whole system
	// alone.
	if os.Getenv("KYCFLOW_LOADTEST") != "1" {
		t.Skip("the load harness runs with KYCFLOW_LOADTEST=1 (make test, make loadtest-check)")
	}
	var progress bytes.Buffer
	work, err := os.MkdirTemp("", "kycflow-loadtest-run-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(work)
			return
		}
		t.Log("progress:\n" + progress.String())
		t.Log("the run's work folder (logs, Temporal's database, stories/, mangopay-calls.json) is kept: " + keepWork(t, work))
	})
	cfg := harness.Config{
		WorkDir: work, Progress: &progress, ProgressEvery: 5 * time.Second,
		Settle: 2 * time.Second,
	}
	// KYCFLOW_LOADTEST_SEED replays one run's paths and chaos.
	if s := os.Getenv("KYCFLOW_LOADTEST_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, "KYCFLOW_LOADTEST_SEED")
		cfg.Seed = seed
	}
	return cfg
}

// keepWork moves a failed run's work folder where it outlives the clone
// it ran in: KYCFLOW_LOADTEST_KEEP, else the user's cache folder
// (kycflow/loadtest-failed/). It returns where it is.
func keepWork(t *testing.T, work string) string {
	dir := os.Getenv("KYCFLOW_LOADTEST_KEEP")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return work
		}
		dir = filepath.Join(cache, "kycflow", "loadtest-failed")
	}
	dest := filepath.Join(dir, time.Now().UTC().Format("20060102T150405Z")+"-"+t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return work
	}
	// The binaries are the test's, not the run's: left behind.
	if err := os.Rename(work, dest); err != nil {
		return work
	}
	return dest
}

// logReport writes the run's report, with the story of each user a check
// named, to the test's output and the work folder (report.json).
func logReport(t *testing.T, r *harness.Report) {
	t.Helper()
	var table bytes.Buffer
	r.Table(&table)
	t.Log("\n" + table.String())
	if b, err := json.MarshalIndent(r, "", "  "); err == nil && r.WorkDir != "" {
		_ = os.WriteFile(filepath.Join(r.WorkDir, "report.json"), b, 0o644)
	}
}

// A small profile with every fault kind once: nothing is lost, duplicated
// or notified twice, and every fault is recovered from.
func TestSmallProfileWithChaos(t *testing.T) {
	cfg := profile(t)
	// A webhook dropped comes back through the fleet reconciliation, up to
	// a minute and a half later.
	const users = 200 // make test's small profile: a few hundred onboardings
	cfg.Users, cfg.Rate, cfg.UserDeadline = users, 4, 3*time.Minute
	var err error
	cfg.Chaos, err = harness.ParseChaos("all", 1, 2*time.Second)
	require.NoError(t, err)
	require.ElementsMatch(t, harness.Faults, cfg.Chaos.Kinds, "every fault kind is in all: a kind left out needs a test of its own")

	r, err := harness.Run(context.Background(), cfg, binaries(t))
	require.NoError(t, err)
	logReport(t, r)
	assert.Empty(t, r.Violations)
	assert.Equal(t, users, r.Completed)
	assert.Len(t, r.Faults, len(harness.Faults), "each fault kind once")
	for _, f := range r.Faults {
		assert.Empty(t, f.Error, "fault %s", f.Fault)
		assert.GreaterOrEqual(t, f.Ended, f.At, "fault %s", f.Fault)
		assert.Zero(t, f.Unrecovered, "fault %s", f.Fault)
	}
	assert.Equal(t, harness.ReconcileEvery, r.ReconcileEvery, "the reconciliation was shortened for the dropped webhooks")
	assert.Equal(t, 1, r.Restarts["redis"])
	assert.Positive(t, r.MangopayAPI, "the simulator's call counts were read")

	// The figures read from the servers.
	assert.Empty(t, r.MeasureError)
	assert.Zero(t, r.HistoriesUnread)
	happy := r.Cost[harness.PathValidated]
	assert.Positive(t, happy.Onboardings)
	assert.GreaterOrEqual(t, happy.Actions.P50, 5, "at least the start, an update, the session's activities and the signal")
	assert.GreaterOrEqual(t, happy.MangopayCalls.P50, 2, "at least the user read and the session creation")
	assert.Positive(t, r.PeakCallsPerSecond)
	assert.Positive(t, r.WebhookToState.Count)
	assert.Positive(t, r.Intake.Overall.Count)
	procs := map[string]bool{}
	for _, p := range r.Processes {
		procs[p.Name] = true
		assert.Positive(t, p.PeakRSSKiB, p.Name)
	}
	for _, name := range []string{"mangopaysim", "worker-1", "worker-2", "bridge-1", "bridge-2", "temporal"} {
		assert.True(t, procs[name], "figures of %s in %v", name, procs)
	}
}

// The harness catches a fleet that overruns the Mangopay call budget: the
// processes get a budget far above the one the run checks.
func TestCatchesABudgetOverrun(t *testing.T) {
	cfg := profile(t)
	cfg.Users, cfg.Rate, cfg.UserDeadline = 10, 10, 60*time.Second
	cfg.Mix = harness.Mix{harness.PathValidated: 1}
	cfg.Budget = harness.Budget{CallsPerSecond: 0.5, Burst: 2}
	cfg.Sabotage = harness.SabotageBudget

	r, err := harness.Run(context.Background(), cfg, binaries(t))
	require.NoError(t, err)
	var over []harness.Violation
	for _, v := range r.Violations {
		if v.Kind == harness.ViolationBudget {
			over = append(over, v)
		}
	}
	assert.NotEmpty(t, over, "budget overruns reported: %+v", r.Violations)
}

// The harness catches a broken deployment: hooks registered with a path
// token the bridges do not serve lose every webhook, and every user is
// reported lost.
func TestCatchesLostWebhooks(t *testing.T) {
	cfg := profile(t)
	cfg.Users, cfg.Rate, cfg.UserDeadline = 4, 4, 15*time.Second
	cfg.Mix = harness.Mix{harness.PathValidated: 1}
	cfg.Sabotage = harness.SabotageHookToken

	r, err := harness.Run(context.Background(), cfg, binaries(t))
	require.NoError(t, err)
	lost := map[string]bool{}
	for _, v := range r.Violations {
		if v.Kind == harness.ViolationLost {
			lost[v.UserID] = true
		}
	}
	assert.Len(t, lost, 4, "every user lost: %+v", r.Violations)
	assert.Zero(t, r.Completed)

	// Each lost user's story says why without a rerun: its webhooks were
	// sent and refused (the wrong path token), the onboarding waits with
	// no activity pending, and its history and calls are there.
	require.Len(t, r.Stories, 4)
	for _, s := range r.Stories {
		assert.True(t, lost[s.UserID], s.UserID)
		assert.NotEmpty(t, s.History, "%s: its workflow history", s.UserID)
		assert.NotEmpty(t, s.Calls, "%s: its Mangopay calls", s.UserID)
		assert.Contains(t, s.Temporal, "Running", s.UserID)
		require.NotEmpty(t, s.Webhooks, "%s: its webhooks in the delivery log", s.UserID)
		assert.Contains(t, strings.Join(s.Webhooks, "\n"), "FAILED 404", "%s: the bridge refused them", s.UserID)
		_, err := os.Stat(filepath.Join(r.WorkDir, "stories", s.UserID+".json"))
		assert.NoError(t, err, "the story is in the work folder")
	}
	var table bytes.Buffer
	r.Table(&table)
	assert.Contains(t, table.String(), "=== story of "+r.Stories[0].UserID)
}

// The harness catches a broken build: a worker whose session-creation
// idempotency key changes on every try creates a second IDV session
// whenever Mangopay's response to the first is lost, and the harness
// reports the duplicates.
func TestCatchesABrokenWorker(t *testing.T) {
	cfg := profile(t)
	src := filepath.Join(t.TempDir(), "kycflow")
	copyModule(t, filepath.Join("..", ".."), src)
	const honest = "ReturnURL: in.ReturnURL, Tag: in.Tag, IdempotencyKey: in.IdempotencyKey,"
	file := filepath.Join(src, "activities", "sessions.go")
	code, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(code), honest), "the session creation moved: update the broken build")
	broken := strings.Replace(string(code), honest,
		"ReturnURL: in.ReturnURL, Tag: in.Tag, IdempotencyKey: mangopay.DeriveIdempotencyKey(in.IdempotencyKey, time.Now().String()),", 1)
	require.NoError(t, os.WriteFile(file, []byte(broken), 0o644))
	bins, err := harness.Build(context.Background(), src, filepath.Join(t.TempDir(), "bin"))
	require.NoError(t, err)

	cfg.Users, cfg.Rate, cfg.UserDeadline = 10, 10, 60*time.Second
	cfg.Mix = harness.Mix{harness.PathValidated: 1}
	// Responses lost from the start, for as long as the run takes.
	cfg.Chaos = harness.Chaos{Kinds: []harness.Fault{harness.FaultLostResponses}, Times: 1, Window: 10 * time.Second, Span: time.Nanosecond}

	r, err := harness.Run(context.Background(), cfg, &bins)
	require.NoError(t, err)
	var dup []harness.Violation
	for _, v := range r.Violations {
		if v.Kind == harness.ViolationDuplicateIDV {
			dup = append(dup, v)
		}
	}
	assert.NotEmpty(t, dup, "duplicate sessions reported: %+v", r.Violations)
}

// copyModule copies the module's sources (no .git, no tools, no data).
func copyModule(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".tools", ".data", "node_modules":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	require.NoError(t, err)
}
