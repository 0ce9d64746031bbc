// Package harness is kycflow's load and chaos harness: it starts the system
// as separate OS processes wired as in production (a Temporal dev server
// with a database file, the Mangopay simulator, K workers, M webhook bridges
// behind a balancer, a Redis of its own with the append-only file on, a
// platform receiving the signed notifications), drives onboardings through the public
// interfaces only, injects faults, and checks every user's outcome against
// the simulator's decisions. `go run ./loadtest` runs it.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/worker/kycworker"
)

// Sabotage breaks the system on purpose, to prove the harness catches a
// broken build. Zero is an honest run.
type Sabotage string

const (
	// SabotageNone runs the system as shipped.
	SabotageNone Sabotage = ""
	// SabotageHookToken registers the hooks at Mangopay with a path token
	// the bridges do not serve: every webhook is answered 404 and lost.
	SabotageHookToken Sabotage = "hook-token"
	// SabotageBudget gives the processes a budget a thousand times the
	// one the run checks: the fleet's calls overrun the checked budget.
	SabotageBudget Sabotage = "budget"
)

// Config is one run's profile.
type Config struct {
	Users   int     // onboardings to drive
	Rate    float64 // onboardings started per second
	Workers int
	Bridges int
	Mix     Mix
	Chaos   Chaos
	// Budget is the fleet's Mangopay call budget; zero: DefaultBudget.
	Budget Budget
	// UserDeadline bounds one user's whole path; a user still short of its
	// outcome then is lost.
	UserDeadline time.Duration
	// SessionLifetime shortens the simulator's IDV session lifetime for
	// the run (SessionLifetimeSeconds); zero: Mangopay's 7 days. Every
	// path's sessions get it, so it must outlast what the faults can make a
	// decision wait. Without it, the expired path ends its own session's
	// lifetime at the simulator (POST /_sim/identity-verifications/{id}/expire)
	// and no other session can expire under the run.
	SessionLifetime time.Duration
	// Settle is how long the harness waits after the last user before it
	// re-reads every final status (a status that changes then is a
	// violation).
	Settle time.Duration

	// RedisServer is the redis-server binary the run starts its own
	// Redis with (DefaultRedisServer when empty).
	RedisServer string
	TemporalCLI string // empty: $TEMPORAL_CLI or .tools/bin/temporal
	// TemporalArgs are appended to `temporal server start-dev` (its
	// SQLite pragmas, say, to tell the server's persistence apart).
	TemporalArgs []string
	ModuleDir    string // the kycflow module to build
	WorkDir      string // binaries, logs, Temporal's database; empty: a temporary folder
	Sabotage     Sabotage
	// Target, when set, is a running deployment the run drives and
	// observes: nothing is built or started, Workers, Bridges, RedisServer
	// and the module do not apply.
	Target *Target
	Seed   int64 // 0: random
	// PprofDir: when set, the first worker and the first bridge serve
	// pprof (PPROF_ADDR) and the run saves their CPU and heap profiles
	// here.
	PprofDir string
	// Env is added to every kycflow process's environment (the call
	// budget, for one); WorkerEnv to the workers' only (the sticky cache,
	// the pollers).
	Env, WorkerEnv []string

	Progress      io.Writer // progress lines; nil: none
	ProgressEvery time.Duration
	Logger        *slog.Logger
}

const defaultUserDeadline = 3 * time.Minute

// polls reports a run against a target that does not notify the harness:
// it reads the platform API's states instead.
func (c *Config) polls() bool { return c.Target != nil && c.Target.NotifyListen == "" }

// Defaults fills the zero fields.
func (c *Config) Defaults() {
	if c.Users == 0 {
		c.Users = 20
	}
	if c.Rate == 0 {
		c.Rate = 5
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Bridges == 0 {
		c.Bridges = 2
	}
	if c.Mix == nil {
		c.Mix = DefaultMix()
		if c.polls() {
			for _, p := range NotifiedPaths {
				delete(c.Mix, p)
			}
		}
	}
	switch {
	case c.Budget != (Budget{}):
	case c.Target != nil:
		c.Budget = c.Target.Budget // zero unless known (TargetDev): Validate refuses it
	default:
		c.Budget = DefaultBudget(c.Rate)
	}
	if c.UserDeadline == 0 {
		c.UserDeadline = defaultUserDeadline
	}
	if c.Settle == 0 {
		c.Settle = 3 * time.Second
	}
	if c.RedisServer == "" {
		c.RedisServer = DefaultRedisServer
	}
	if c.ModuleDir == "" {
		c.ModuleDir = "."
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.Seed = int64(binary.LittleEndian.Uint64(b[:])>>1) | 1
	}
}

// Validate reports a profile that cannot run.
func (c *Config) Validate() error {
	var errs []error
	if c.Users < 1 {
		errs = append(errs, errors.New("--users must be at least 1"))
	}
	if c.Rate <= 0 {
		errs = append(errs, errors.New("--rate must be above 0"))
	}
	if c.Target != nil {
		errs = append(errs, c.validateTargetMode()...)
	} else if c.Workers < 1 || c.Bridges < 1 {
		errs = append(errs, errors.New("--workers and --bridges must be at least 1"))
	}
	if c.RedisServer != "" && c.Target == nil {
		if _, err := os.Stat(c.RedisServer); err != nil {
			errs = append(errs, fmt.Errorf("--redis-server: %w", err))
		}
	}
	if err := c.Chaos.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateSessionLifetime(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Budget.validate(); err != nil && c.Budget != (Budget{}) {
		errs = append(errs, fmt.Errorf("--budget-rate, --budget-burst: %w", err))
	}
	if c.Sabotage != SabotageNone && c.Sabotage != SabotageHookToken && c.Sabotage != SabotageBudget {
		errs = append(errs, fmt.Errorf("unknown sabotage %q (hook-token, budget)", c.Sabotage))
	}
	return errors.Join(errs...)
}

// Session lifetimes a run may give the simulator.
const (
	// MinSessionLifetime: shorter, a session of another path could expire
	// before its decision.
	MinSessionLifetime = 30 * time.Second
	// MangopaySessionLifetime is Mangopay's own (the simulator's default).
	MangopaySessionLifetime = 7 * 24 * time.Hour
)

// validateSessionLifetime checks the lifetime against the simulator's
// bounds and, with the expired path, against a user's deadline (that user
// waits it out).
func (c *Config) validateSessionLifetime() error {
	lifetime, deadline := c.SessionLifetime, c.UserDeadline
	if deadline == 0 {
		deadline = defaultUserDeadline
	}
	switch {
	case lifetime == 0:
		return nil
	case lifetime < MinSessionLifetime || lifetime > MangopaySessionLifetime:
		return fmt.Errorf("--session-lifetime must be from %s to %s (Mangopay's), got %s", MinSessionLifetime, MangopaySessionLifetime, lifetime)
	case c.Mix[PathExpired] > 0 && lifetime+MinSessionLifetime > deadline:
		return fmt.Errorf("--session-lifetime %s leaves the expired path no time: --user-deadline (%s) must be at least %s longer", lifetime, deadline, MinSessionLifetime)
	}
	return nil
}

// system is the running system under test.
type system struct {
	cfg      Config
	workDir  string
	temporal *testsuite.DevServer
	redis    *proc // the run's own redis-server
	redisURL string
	sim      *proc
	workers  []*proc
	bridges  []*proc
	servers  []*http.Server

	simURL   string
	apiURL   string // the balancer in front of the bridges' platform API
	apiToken string
	sink     *sink     // the harness's listener for notifications; nil when it polls
	obs      observer  // the sink, or the poller against a target that does not notify the harness
	target   *Target   // set in target mode: the harness started none of the processes
	began    time.Time // when the run began driving (target mode reads the simulator's logs from then)
	// temporalAddr and namespace: the Temporal frontend the histories are
	// read from; empty against a target given none.
	temporalAddr, namespace string
	mangopay                *mangopay.Client
	temporalLog             *os.File
	pprof                   map[string]string // process name -> pprof address (Config.PprofDir)
	// undo puts back what the run changed in a target's simulator.
	undo []func()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serve runs handler on a fresh loopback port and returns its URL.
func (s *system) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// start brings the system up: Redis, Temporal, the simulator, the
// platform's sink, the bridges behind their balancers, the hooks, the
// workers.
func start(ctx context.Context, cfg Config, bins Binaries, workDir string) (s *system, err error) {
	s = &system{cfg: cfg, workDir: workDir, apiToken: randomHex(16)}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	logDir := filepath.Join(workDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return s, fmt.Errorf("log folder: %w", err)
	}

	if s.redis, s.redisURL, err = newRedisServer(cfg.RedisServer, filepath.Join(workDir, "redis"), filepath.Join(logDir, "redis.log")); err != nil {
		return s, err
	}
	if err := s.redis.start(ctx); err != nil {
		return s, err
	}

	if s.temporalLog, err = os.Create(filepath.Join(logDir, "temporal.log")); err != nil {
		return s, fmt.Errorf("temporal log: %w", err)
	}
	if s.temporal, err = devtemporal.Start(ctx, s.temporalOptions("")); err != nil {
		return s, err
	}
	s.temporalAddr, s.namespace = s.temporal.FrontendHostPort(), "default"

	simAddr, err := freeAddr()
	if err != nil {
		return s, err
	}
	s.simURL = "http://" + simAddr
	s.sim = &proc{name: "mangopaysim", path: bins.Simulator, args: []string{"--addr", simAddr},
		env: []string{"MANGOPAY_SIM_OUTCOME_DELAY=0s"}, logPath: filepath.Join(logDir, "mangopaysim.log"), ready: s.simURL + "/healthz"}
	if err := s.sim.start(ctx); err != nil {
		return s, err
	}
	// A load profile would exhaust the Sandbox's 15-minute rate limit on
	// its own: the windows are the budget's (mangopayLimits), and 429s come
	// from the chaos.
	if err := s.simSettings(ctx, func(set *sandbox.Settings) {
		set.RateLimitEnforced, set.RateLimits = false, cfg.Budget.mangopayLimits()
		if cfg.SessionLifetime > 0 {
			set.SessionLifetimeSeconds = cfg.SessionLifetime.Seconds()
		}
	}); err != nil {
		return s, err
	}
	if s.mangopay, err = mangopay.New(mangopay.Config{BaseURL: s.simURL, ClientID: sandbox.DefaultClientID, APIKey: sandbox.DefaultAPIKey,
		Logger: slog.New(slog.DiscardHandler)}); err != nil {
		return s, err
	}

	secret := notify.NewSecret()
	if s.sink, err = newSink(secret); err != nil {
		return s, err
	}
	s.obs = s.sink
	sinkURL, err := s.serve(s.sink)
	if err != nil {
		return s, err
	}

	pathToken := randomHex(16)
	hookToken := pathToken
	if cfg.Sabotage == SabotageHookToken {
		hookToken = randomHex(16)
	}
	var publics, internals []string
	type addrs struct{ public, internal string }
	bridgeAddrs := make([]addrs, cfg.Bridges)
	for i := range bridgeAddrs {
		pub, err := freeAddr()
		if err != nil {
			return s, err
		}
		in, err := freeAddr()
		if err != nil {
			return s, err
		}
		bridgeAddrs[i] = addrs{pub, in}
		publics, internals = append(publics, "http://"+pub), append(internals, "http://"+in)
	}
	publicURL, err := s.serve(newBalancer(publics))
	if err != nil {
		return s, err
	}
	if s.apiURL, err = s.serve(newBalancer(internals)); err != nil {
		return s, err
	}

	common := []string{
		"KYCFLOW_DEV=1", "LOG_FORMAT=json", "LOG_LEVEL=info",
		"TEMPORAL_ADDRESS=" + s.temporal.FrontendHostPort(), "TEMPORAL_NAMESPACE=default",
		"REDIS_URL=" + s.redisURL,
		"MANGOPAY_BASE_URL=" + s.simURL, "MANGOPAY_CLIENT_ID=" + sandbox.DefaultClientID, "MANGOPAY_API_KEY=" + sandbox.DefaultAPIKey,
		"PAYLOAD_ENCRYPTION_KEY=",
	}
	budget := cfg.Budget
	if cfg.Sabotage == SabotageBudget {
		budget = Budget{CallsPerSecond: 1000 * budget.CallsPerSecond, Burst: 1000 * budget.Burst}
	}
	common = append(common, budget.env()...)
	// The run's own settings come last: a later duplicate wins.
	common = append(common, cfg.Env...)
	bridgeEnv := func(token string) []string {
		return append(append([]string(nil), common...),
			"WEBHOOK_PATH_TOKEN="+token, "PLATFORM_API_TOKEN="+s.apiToken, "BRIDGE_PUBLIC_URL="+publicURL,
			"BRIDGE_RESTART_RETURN_URL="+sinkURL+"/kyc/done")
	}
	for i, a := range bridgeAddrs {
		name := fmt.Sprintf("bridge-%d", i+1)
		p := &proc{name: name, path: bins.Bridge, logPath: filepath.Join(logDir, name+".log"), ready: "http://" + a.internal + "/readyz",
			env: append(bridgeEnv(pathToken), "BRIDGE_PUBLIC_ADDR="+a.public, "BRIDGE_INTERNAL_ADDR="+a.internal, "BRIDGE_CONSUMER_NAME="+name)}
		if err := s.withPprof(p, i); err != nil {
			return s, err
		}
		if err := p.start(ctx); err != nil {
			return s, err
		}
		s.bridges = append(s.bridges, p)
	}

	// The hooks, as an operator registers them.
	hooks := &proc{name: "hooks", path: bins.Bridge, args: []string{"hooks", "--apply"}, logPath: filepath.Join(logDir, "hooks.log"),
		env: append(bridgeEnv(hookToken), "BRIDGE_PUBLIC_ADDR="+bridgeAddrs[0].public)}
	if err := hooks.start(ctx); err != nil {
		return s, err
	}
	<-hooks.exited
	if code := hooks.cmd.ProcessState.ExitCode(); code != 0 {
		return s, fmt.Errorf("webhookbridge hooks --apply exited %d (log %s)", code, hooks.logPath)
	}

	for i := range cfg.Workers {
		name := fmt.Sprintf("worker-%d", i+1)
		addr, err := freeAddr()
		if err != nil {
			return s, err
		}
		p := &proc{name: name, path: bins.Worker, logPath: filepath.Join(logDir, name+".log"), ready: "http://" + addr + "/readyz",
			env: append(append(append([]string(nil), common...), "WORKER_HTTP_ADDR="+addr,
				kycworker.EnvPlatformWebhookURL+"="+sinkURL+"/kycflow/events", kycworker.EnvPlatformWebhookSecret+"="+secret), s.reconcileEnv()...)}
		if err := s.withPprof(p, i); err != nil {
			return s, err
		}
		p.env = append(p.env, cfg.WorkerEnv...)
		if err := p.start(ctx); err != nil {
			return s, err
		}
		s.workers = append(s.workers, p)
	}
	return s, nil
}

// temporalOptions starts the dev server on hostPort (empty: a free port)
// with the run's database file.
func (s *system) temporalOptions(hostPort string) devtemporal.Options {
	return devtemporal.Options{
		CLIPath: s.cfg.TemporalCLI, DBFile: filepath.Join(s.workDir, "temporal.db"), HostPort: hostPort,
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), Stdout: s.temporalLog, Stderr: s.temporalLog,
		ExtraArgs: s.cfg.TemporalArgs,
	}
}

// stop ends every process, Redis last.
func (s *system) stop() {
	for _, u := range s.undo {
		u()
	}
	s.undo = nil
	for _, p := range s.workers {
		p.stop()
	}
	for _, p := range s.bridges {
		p.stop()
	}
	if s.sim != nil {
		s.sim.stop()
	}
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	if s.temporal != nil {
		_ = s.temporal.Stop()
	}
	if s.temporalLog != nil {
		_ = s.temporalLog.Close()
	}
	if s.redis != nil {
		s.redis.stop()
	}
}
