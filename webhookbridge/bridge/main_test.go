package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookbridge/platformapi"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// Redis for the bridge's tests.
//
// The bridge uses fixed key names (webhookstream.StreamKey, DeadLetterKey,
// UnroutedKey, its consumer group, its attempts hash), as production needs:
// every bridge must meet on the same stream. Unique keys (redistest.Unique)
// therefore cannot keep these tests apart from other runs against a shared
// Redis, and the tests need an empty stream to count what a forwarder did.
// So, against a real Redis (REDIS_URL), they use a database of their own,
// bridgeTestDB, which no other package touches and which they FLUSHDB
// before each test. Two runs of this package at once (two engineers, two
// worktrees, a benchmark next to `make test`) would still flush each
// other's streams, so the first test to need Redis takes a lock key in that
// database for the whole run and later runs wait for it. Tests that touch
// Redis never call t.Parallel. Without REDIS_URL the tests share one
// embedded miniredis, flushed the same way.
const bridgeTestDB = 9

// shared is the state the package's tests share: one Redis client (and
// its lock) and, once a test asks for it, the Temporal dev server with a
// worker running the real workflow and activities against the simulator.
var shared struct {
	redisOnce sync.Once
	rdb       *redis.Client
	mr        *miniredis.Miniredis
	locked    *redistest.Exclusive // bridgeTestDB, held for the run
	redisErr  error

	devOnce sync.Once
	dev     *devEnv
	devErr  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	code = reportAPIContract(code)
	if d := shared.dev; d != nil {
		d.close()
	}
	if shared.locked != nil {
		shared.locked.Release() // empty, then let the next run in
	}
	if shared.mr != nil {
		shared.mr.Close()
	}
	os.Exit(code)
}

// realRedis reports whether the tests run against the server at REDIS_URL.
func realRedis() bool { return os.Getenv(redistest.EnvURL) != "" }

// newRedis returns the package's Redis client with an empty database. It is
// taken lazily, so that `go test -fuzz` workers (which run TestMain too but
// never touch Redis) do not contend for the lock.
func newRedis(t testing.TB) *redis.Client {
	t.Helper()
	shared.redisOnce.Do(func() { shared.redisErr = openRedis() })
	require.NoError(t, shared.redisErr)
	ctx := context.Background()
	if shared.mr != nil {
		shared.mr.FlushAll()
		return shared.rdb
	}
	require.NoError(t, shared.locked.Flush(ctx), "flush the bridge tests' Redis database")
	return shared.rdb
}

func openRedis() error {
	url := os.Getenv(redistest.EnvURL)
	if url == "" {
		mr, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("start miniredis: %w", err)
		}
		shared.mr = mr
		shared.rdb = redis.NewClient(&redis.Options{Addr: mr.Addr()})
		return nil
	}
	x, err := redistest.LockDB(context.Background(), url, bridgeTestDB, "bridge-tests", 5*time.Minute)
	if err != nil {
		return err
	}
	shared.locked, shared.rdb = x, x.Client
	return nil
}

// testNow is the clock of the tests that fix one.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// ev is an accepted event with its key.
func ev(eventType, resourceID string, date int64) webhookstream.MangopayEvent {
	e := webhookstream.MangopayEvent{EventType: mangopay.EventType(eventType), ResourceID: resourceID, Date: date}
	e.EventKey = eventType + "|" + resourceID + "|" + strconv.FormatInt(date, 10)
	return e
}

// quietLogger drops the bridge's logs unless BRIDGE_TEST_LOG is set.
func quietLogger() *slog.Logger {
	if os.Getenv("BRIDGE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Tokens of the bridges under test.
const (
	testPathToken = "test-path-token-0123456789"
	testAPIToken  = "test-api-token-0123456789abcdef"
	// testOperator holds testOperatorToken (OPERATOR_API_TOKENS).
	testOperator      = "alice"
	testOperatorToken = "test-operator-token-alice-0123456789"
)

// newSim starts a simulator of its own with instant outcomes and no rate
// limit, and a Mangopay client for it.
func newSim(t testing.TB) (*sandbox.Sandbox, *mangopay.Client, string) {
	t.Helper()
	sim, mp, url, closeFn := startSim()
	t.Cleanup(closeFn)
	return sim, mp, url
}

func startSim() (*sandbox.Sandbox, *mangopay.Client, string, func()) {
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds, set.KycProcessingDelaySeconds, set.RateLimitEnforced = 0, 1, false
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	sim := sandbox.New(sandbox.Config{PublicURL: srv.URL, Settings: set, Seed: 1, Logger: quietLogger()})
	handler = sim.Handler()
	mp, err := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: sim.ClientID(), APIKey: sandbox.DefaultAPIKey, Logger: quietLogger()})
	if err != nil {
		panic(err) // static configuration
	}
	return sim, mp, srv.URL, func() { srv.Close(); sim.Close() }
}

// createUser makes a natural OWNER user at the simulator.
func createUser(t testing.TB, mp *mangopay.Client) string {
	t.Helper()
	birthday := mangopay.Timestamp(652117514)
	u, err := mp.CreateNaturalUserSCA(context.Background(), &mangopay.CreateNaturalUserParams{
		FirstName: "Alex", LastName: "Smith", Email: "alex+accept@example.com", UserCategory: mangopay.UserCategoryOwner,
		TermsAndConditionsAccepted: true, Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
	})
	require.NoError(t, err)
	return u.ID
}

// devEnv is a Temporal dev server with a worker running the real
// KYCOnboarding workflow and activities against a simulator, sharing the
// package's Redis. One serves every test of the package that needs it.
type devEnv struct {
	srv      *testsuite.DevServer
	c        client.Client
	w        worker.Worker
	sim      *sandbox.Sandbox
	mp       *mangopay.Client
	simURL   string
	closeSim func()
	rdb      *redis.Client
	pages    *claimcheck.Store
	index    *routing.Index
	log      *syncbuf.Buffer
}

func (d *devEnv) close() {
	d.w.Stop()
	d.c.Close()
	if err := d.srv.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop dev server: %v\n", err)
	}
	d.closeSim()
}

// requireDev returns the shared dev environment, starting it on first use.
// It skips, saying why, in -short mode and when the Temporal CLI is not
// installed; any other failure to start is a test failure.
func requireDev(t testing.TB) *devEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Temporal dev server: skipped in -short mode")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skipf("needs a Temporal dev server: %v", err)
	}
	rdb := newRedis(t) // the database is flushed for this test
	shared.devOnce.Do(func() { shared.dev, shared.devErr = startDev(rdb) })
	if errors.Is(shared.devErr, devtemporal.ErrNoCLI) {
		t.Skipf("needs a Temporal dev server: %v", shared.devErr)
	}
	require.NoError(t, shared.devErr, "start the Temporal dev server")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dev server output so far:\n%s", shared.dev.log)
		}
	})
	return shared.dev
}

func startDev(rdb *redis.Client) (*devEnv, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := &devEnv{rdb: rdb, log: &syncbuf.Buffer{}}
	sdkLog := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelWarn})))
	srv, err := devtemporal.Start(ctx, devtemporal.Options{Logger: sdkLog, Stdout: d.log, Stderr: d.log})
	if err != nil {
		return nil, err
	}
	d.srv, d.c = srv, srv.Client()
	d.sim, d.mp, d.simURL, d.closeSim = startSim()
	d.pages = claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(testCodec))
	d.index = routing.NewIndex(rdb, 0)
	d.w = worker.New(d.c, workflows.TaskQueue, worker.Options{})
	d.w.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
	d.w.RegisterActivity(&activities.Activities{Mangopay: d.mp, Index: d.index, Pages: d.pages, Logger: quietLogger()})
	if err := d.w.Start(); err != nil {
		d.c.Close()
		_ = srv.Stop()
		d.closeSim()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return d, nil
}

// testCodec is the payload key of the bridges and workers under test: pages
// are encrypted in Redis, as in production.
var testCodec = func() *payloadcodec.Codec {
	c, err := payloadcodec.New([][]byte{[]byte("kycflow-bridge-tests-payload-key")})
	if err != nil {
		panic(err) // a static 32-byte key
	}
	return c
}()

// newBridge returns a bridge on rdb with the test tokens and fresh metrics,
// built as the webhookbridge command builds it (without its forwarder,
// which tests start themselves with fast settings).
func newBridge(rdb redis.UniversalClient, tc client.Client) *bridge.Bridge {
	b := bridge.New(bridge.Config{PathToken: testPathToken, APIToken: testAPIToken, ConsumerName: "test",
		Operators: []platformapi.OperatorToken{{Name: testOperator, Token: testOperatorToken}}},
		bridge.Deps{Redis: rdb, Temporal: tc, Codec: testCodec, Logger: quietLogger()})
	b.Forwarder = nil
	return b
}

// newTextLogger logs everything to w.
func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// quietSDKLogger is quietLogger for the Temporal SDK.
func quietSDKLogger() tlog.Logger { return tlog.NewStructuredLogger(quietLogger()) }
