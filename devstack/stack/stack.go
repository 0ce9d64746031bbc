// Package stack runs the whole of kycflow in one process on embedded
// defaults: a Temporal dev server (with the Web UI and kycflow's search
// attributes), Redis (the one at REDIS_URL when told, an embedded one
// otherwise: never a shared Redis by chance), the Mangopay simulator, the worker,
// the webhook bridge with kycflow's hooks registered, and a stand-in
// platform receiving notifications. `make dev` runs it; the end-to-end tests
// start it too.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/worker/kycworker"
	"github.com/kycflow/kycflow/workflows"
)

// Options choose addresses and behaviour. An address ending in ":0" picks a
// free port (tests).
type Options struct {
	DataDir            string // Temporal's database file lives here; empty keeps it in memory
	TemporalHostPort   string
	UIPort             string // empty: no Web UI
	SimAddr            string
	BridgePublicAddr   string
	BridgeInternalAddr string
	PlatformAddr       string
	WorkerHTTPAddr     string
	RedisURL           string // empty: an embedded Redis
	// RedisKeyPrefix is the first segment of the stack's Redis keys
	// (REDIS_KEY_PREFIX); empty: redisconn.DefaultKeyPrefix.
	RedisKeyPrefix string
	PathToken      string
	APIToken       string
	SimSettings    sandbox.Settings // zero: the Sandbox's defaults
	// PlatformWebhookURL and PlatformWebhookSecret, when set, send the
	// worker's notifications there (PLATFORM_WEBHOOK_URL and _SECRET: a
	// load harness driving the stack) instead of to the stand-in platform.
	PlatformWebhookURL    string
	PlatformWebhookSecret string
	// Budget is the Mangopay call budget; zero: MANGOPAY_MAX_CALLS_PER_SECOND,
	// MANGOPAY_MAX_BURST and MANGOPAY_RATE_RESERVE through Getenv, or
	// DevBudget without Getenv.
	Budget callbudget.Config
	// Getenv reads the variables the stack takes as production does
	// (config.Env.Get of the devstack process: RECONCILE_EVENTS_EVERY, the
	// budget's); nil leaves them at their defaults (tests).
	Getenv func(string) string
	Logger *slog.Logger
}

// DevOptions are `make dev`'s defaults.
func DevOptions() Options {
	return Options{
		DataDir: ".data", TemporalHostPort: "127.0.0.1:7233", UIPort: "8233", SimAddr: "127.0.0.1:8090",
		BridgePublicAddr: "127.0.0.1:8080", BridgeInternalAddr: "127.0.0.1:8081", PlatformAddr: "127.0.0.1:8095",
		WorkerHTTPAddr: "127.0.0.1:9091", PathToken: bridge.DevPathToken, APIToken: bridge.DevAPIToken,
	}
}

// Stack is the running system.
type Stack struct {
	TemporalAddr      string
	UIURL             string
	SimURL            string
	BridgePublicURL   string
	BridgeInternalURL string
	PlatformURL       string
	NotifyURL         string // where the worker sends its notifications
	// NotifySecret is the stand-in platform's secret (a fresh whsec_ each
	// run); empty when the notifications go to PLATFORM_WEBHOOK_URL.
	NotifySecret  string
	WorkerURL     string
	WebhookURL    string
	APIToken      string
	RedisURL      string
	RedisEmbedded bool

	Temporal client.Client
	Sim      *sandbox.Sandbox
	Mangopay *mangopay.Client
	Budget   *callbudget.Limiter
	Redis    *redis.Client
	Platform *Platform
	Hooks    []bridge.HookReport

	cancel  context.CancelFunc
	running sync.WaitGroup // the worker and the bridge
	errs    chan error
	closers []func()
}

// Start brings the stack up and returns once every part is ready.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.PlatformWebhookURL != "" {
		if _, err := notify.ParseSecrets(o.PlatformWebhookSecret); err != nil {
			return nil, kycworker.PlatformWebhookSecretError(err)
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s = &Stack{cancel: cancel, errs: make(chan error, 8), APIToken: o.APIToken}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	// Listeners first: the simulator and the hooks need their URLs.
	listen := func(addr string) (net.Listener, string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
		}
		s.closers = append(s.closers, func() { _ = ln.Close() })
		return ln, "http://" + ln.Addr().String(), nil
	}
	simLn, simURL, err := listen(o.SimAddr)
	if err != nil {
		return s, err
	}
	pubLn, pubURL, err := listen(o.BridgePublicAddr)
	if err != nil {
		return s, err
	}
	intLn, intURL, err := listen(o.BridgeInternalAddr)
	if err != nil {
		return s, err
	}
	platLn, platURL, err := listen(o.PlatformAddr)
	if err != nil {
		return s, err
	}
	workLn, workURL, err := listen(o.WorkerHTTPAddr)
	if err != nil {
		return s, err
	}
	s.SimURL, s.BridgePublicURL, s.BridgeInternalURL, s.PlatformURL, s.WorkerURL = simURL, pubURL, intURL, platURL, workURL
	s.WebhookURL = pubURL + "/webhooks/mangopay/" + o.PathToken

	// Redis.
	if err := s.startRedis(ctx, o.RedisURL, o.RedisKeyPrefix); err != nil {
		return s, err
	}
	log.Info("redis ready", "url", s.RedisURL, "embedded", s.RedisEmbedded)

	// The worker's metrics first: its Temporal client records the SDK's.
	metrics, err := kycworker.NewMetrics()
	if err != nil {
		return s, err
	}
	s.closers = append(s.closers, func() { _ = metrics.Close() })

	// Temporal.
	dopts := devtemporal.Options{HostPort: o.TemporalHostPort, EnableUI: o.UIPort != "", UIPort: o.UIPort, MetricsHandler: metrics.MetricsHandler,
		Logger: tlog.NewStructuredLogger(log.With("component", "temporal-client")), Stdout: io.Discard, Stderr: io.Discard}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
			return s, fmt.Errorf("data folder: %w", err)
		}
		dopts.DBFile = filepath.Join(o.DataDir, TemporalDBFile)
		if err := setAsidePreviousRun(o.DataDir); err != nil {
			return s, err
		}
		// The server's own output goes to a file, away from kycflow's logs.
		f, err := os.OpenFile(filepath.Join(o.DataDir, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return s, fmt.Errorf("temporal log file: %w", err)
		}
		s.closers = append(s.closers, func() { _ = f.Close() })
		dopts.Stdout, dopts.Stderr = f, f
	}
	srv, err := devtemporal.Start(ctx, dopts)
	if err != nil {
		return s, fmt.Errorf("temporal dev server: %w", err)
	}
	s.closers = append(s.closers, func() { _ = srv.Stop() })
	s.Temporal, s.TemporalAddr = srv.Client(), srv.FrontendHostPort()
	if o.UIPort != "" {
		s.UIURL = "http://127.0.0.1:" + o.UIPort
	}
	log.Info("temporal ready", "address", s.TemporalAddr, "ui", s.UIURL)

	// Mangopay simulator.
	s.Sim = sandbox.New(sandbox.Config{PublicURL: simURL, Settings: o.SimSettings, Logger: log.With("component", "mangopaysim")})
	s.closers = append(s.closers, s.Sim.Close)
	s.serve(&http.Server{Handler: s.Sim.Handler(), ReadHeaderTimeout: 5 * time.Second}, simLn)
	budget, err := devBudget(o.Budget, o.Getenv, s.Redis, s.Sim.ClientID())
	if err != nil {
		return s, err
	}
	s.Budget = budget
	mp, err := mangopay.New(mangopay.Config{BaseURL: simURL, ClientID: s.Sim.ClientID(), APIKey: sandbox.DefaultAPIKey, Limiter: budget})
	if err != nil {
		return s, err
	}
	s.Mangopay = mp

	// The platform.
	secret := notify.NewSecret()
	s.Platform, err = newPlatform(secret, log.With("component", "platform"))
	if err != nil {
		return s, err
	}
	s.serve(&http.Server{Handler: s.Platform.handler(), ReadHeaderTimeout: 5 * time.Second}, platLn)
	s.NotifyURL, s.NotifySecret = platURL+"/kycflow/events", secret
	if o.PlatformWebhookURL != "" {
		s.NotifyURL, secret, s.NotifySecret = o.PlatformWebhookURL, o.PlatformWebhookSecret, ""
	}

	// Worker.
	// RECONCILE_EVENTS_EVERY as in production; no lag behind now: the
	// simulator's events are listed the moment they happen.
	rc := reconcile.DefaultConfig()
	if o.Getenv != nil {
		if rc, err = reconcile.ConfigFromEnv(o.Getenv); err != nil {
			return s, err
		}
	}
	rc.Lag = 0
	wdeps := kycworker.Deps{
		Reconcile: &rc,
		Temporal:  s.Temporal, Redis: s.Redis, Mangopay: mp, Metrics: metrics, Logger: log.With("component", "worker"),
	}
	keys, err := notify.ParseSecrets(secret)
	if err != nil {
		return s, kycworker.PlatformWebhookSecretError(err)
	}
	wdeps.Notifier = &notify.Notifier{URL: s.NotifyURL, Secrets: keys}
	if err := budget.RegisterMetrics(metrics.Registry); err != nil {
		return s, err
	}
	s.run(func() error { return kycworker.Run(runCtx, wdeps, workLn) })

	// Bridge.
	b := bridge.New(bridge.Config{
		PathToken: o.PathToken, APIToken: o.APIToken, ConsumerName: "devstack-" + randomHex(4), RestartReturnURL: platURL + "/kyc/done",
		PublicURL: pubURL, Dev: true, // published tokens, pages in clear: the dev stack runs without a payload key
	}, bridge.Deps{Redis: s.Redis, Temporal: s.Temporal, Mangopay: mp, Logger: log.With("component", "webhookbridge")})
	s.run(func() error { return b.Serve(runCtx, pubLn, intLn) })

	// Hooks, as an operator would register them.
	if s.Hooks, err = bridge.RegisterHooks(ctx, mp, s.WebhookURL); err != nil {
		return s, fmt.Errorf("register hooks: %w", err)
	}
	if err := waitHealthy(ctx, workURL+"/readyz", intURL+"/readyz"); err != nil {
		return s, err
	}
	return s, nil
}

// The Temporal database of the running stack, and the previous run's, in
// Options.DataDir.
const (
	TemporalDBFile         = "temporal.db"
	PreviousTemporalDBFile = "temporal.previous.db"
)

// setAsidePreviousRun starts Temporal clean, as the simulator always does
// (it keeps its users and sessions in memory): onboardings kept from a
// previous run would show AWAITING_USER with links the new simulator
// answers 404, and wait on users it no longer knows. The previous run's
// database is kept beside, for its histories (docs/integrate.md says how
// to browse it).
func setAsidePreviousRun(dir string) error {
	cur := filepath.Join(dir, TemporalDBFile)
	if _, err := os.Stat(cur); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.Rename(cur, filepath.Join(dir, PreviousTemporalDBFile)); err != nil {
		return fmt.Errorf("set the previous run's Temporal database aside: %w", err)
	}
	// SQLite's companions of the old file, if it was not closed cleanly.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		_ = os.Remove(cur + suffix)
	}
	return nil
}

// DevBudget is the dev stack's call budget when the environment sets none:
// the simulator is an account of its own, not the platform's.
var DevBudget = callbudget.Config{CallsPerSecond: 50, Burst: 500, Reserve: callbudget.DefaultReserve,
	Share: 1, BackgroundShare: callbudget.DefaultBackgroundShare}

// devBudget builds the stack's call budget: cfg, else getenv's (whose
// defaults for the dev stack are DevBudget's: config.Vars), else DevBudget.
// Each simulator counts its own calls, so each stack has a budget of its
// own in Redis.
func devBudget(cfg callbudget.Config, getenv func(string) string, rdb redis.UniversalClient, clientID string) (*callbudget.Limiter, error) {
	if cfg == (callbudget.Config{}) {
		cfg = DevBudget
		if getenv != nil {
			var err error
			if cfg, err = callbudget.ConfigFromEnv(getenv); err != nil {
				return nil, err
			}
		}
	}
	return callbudget.New(rdb, clientID+":devstack-"+randomHex(8), cfg)
}

func (s *Stack) startRedis(ctx context.Context, url, prefix string) error {
	try := func(u string) (*redis.Client, error) {
		rdb, err := redisconn.NewPrefixed(u, prefix)
		if err != nil {
			return nil, err
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := rdb.Ping(pctx).Err(); err != nil {
			_ = rdb.Close()
			return nil, err
		}
		return rdb, nil
	}
	if url != "" {
		rdb, err := try(url)
		if err != nil {
			return fmt.Errorf("redis at REDIS_URL does not answer: %w", err)
		}
		s.Redis, s.RedisURL = rdb, url
		s.closers = append(s.closers, func() { _ = rdb.Close() })
		return nil
	}
	// Not the Redis on 127.0.0.1:6379 that happens to answer: another
	// deployment's streams and consumer groups may live there.
	m, err := miniredis.Run()
	if err != nil {
		return fmt.Errorf("embedded redis: %w", err)
	}
	s.RedisURL, s.RedisEmbedded = "redis://"+m.Addr(), true
	if s.Redis, err = redisconn.NewPrefixed(s.RedisURL, prefix); err != nil {
		m.Close()
		return err
	}
	s.closers = append(s.closers, func() { _ = s.Redis.Close(); m.Close() })
	return nil
}

func (s *Stack) serve(srv *http.Server, ln net.Listener) {
	s.closers = append(s.closers, func() { _ = srv.Close() })
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- err
		}
	}()
}

func (s *Stack) run(fn func() error) {
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		if err := fn(); err != nil {
			s.errs <- err
		}
	}()
}

// Wait blocks until ctx ends or a part fails.
func (s *Stack) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.errs:
		return err
	}
}

// Stop shuts everything down, newest first, and leaves nothing running.
func (s *Stack) Stop() {
	s.cancel()
	// The worker and the bridge stop gracefully before what they use goes.
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// Demo is the onboarding `make dev` starts.
type Demo struct {
	UserID string
	Result workflows.EnsureSessionResult
}

// StartDemo creates a natural OWNER user at the simulator and starts their
// onboarding through the platform path (update-with-start).
func (s *Stack) StartDemo(ctx context.Context) (Demo, error) {
	birthday := mangopay.Timestamp(652117514)
	u, err := s.Mangopay.CreateNaturalUserSCA(ctx, &mangopay.CreateNaturalUserParams{
		FirstName: "Alex", LastName: "Martin", Email: "alex.martin+accept@example.com", UserCategory: mangopay.UserCategoryOwner,
		TermsAndConditionsAccepted: true, Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
	})
	if err != nil {
		return Demo{}, fmt.Errorf("create the demo user: %w", err)
	}
	res, err := workflows.EnsureSession(ctx, s.Temporal, u.ID, workflows.EnsureSessionRequest{ReturnURL: s.PlatformURL + "/kyc/done"})
	if err != nil {
		return Demo{}, fmt.Errorf("start the demo onboarding: %w", err)
	}
	return Demo{UserID: u.ID, Result: res}, nil
}

func waitHealthy(ctx context.Context, urls ...string) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range urls {
		for {
			res, err := http.Get(u)
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s did not become ready", u)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
