// Package kycworker runs kycflow's Temporal worker: the onboarding workflow
// and its activities on the kyc-onboarding task queue, plus a small HTTP
// listener for health and Prometheus metrics (the SDK's and Mangopay's
// calls). The worker command wires it to its environment; the dev stack
// runs it in-process.
package kycworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/attention"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/health"
	"github.com/kycflow/kycflow/internal/searchattrs"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// The variables of the worker's platform notifications (devstack and the
// load harness's target mode name them too).
const (
	EnvPlatformWebhookURL = "PLATFORM_WEBHOOK_URL"
	// EnvPlatformWebhookSecret holds one or more Standard Webhooks secrets
	// ("whsec_" and a base64 key of 24 to 64 bytes, notify.ParseSecrets),
	// separated by spaces or commas: during a rotation every one signs.
	EnvPlatformWebhookSecret = "PLATFORM_WEBHOOK_SECRET"
)

// Config is the worker's own configuration (Temporal and Mangopay have
// theirs).
type Config struct {
	HTTPAddr              string // WORKER_HTTP_ADDR: health and metrics
	RedisURL              string // REDIS_URL
	PlatformWebhookURL    string // PLATFORM_WEBHOOK_URL: empty, notifications are logged and skipped
	PlatformWebhookSecret string // PLATFORM_WEBHOOK_SECRET: required with a URL
	// PlatformWebhookKeys are the secrets' keys, parsed (every one signs).
	PlatformWebhookKeys [][]byte
	Tuning              Tuning
}

// Tuning is the worker's memory and polling knobs. Zero fields keep the
// Temporal SDK's defaults.
type Tuning struct {
	// StickyCacheSize (WORKER_STICKY_CACHE_SIZE) is how many workflows the
	// worker keeps in memory between their tasks; zero sizes it from the
	// memory limit (StickyCacheSizeFor). A workflow evicted from it is
	// replayed from its history on its next task: less memory per open
	// onboarding, more CPU per event.
	StickyCacheSize int
	// WorkflowPollers and ActivityPollers (WORKER_WORKFLOW_POLLERS,
	// WORKER_ACTIVITY_POLLERS) are the concurrent long polls on the task
	// queue (the SDK's default is 2 each).
	WorkflowPollers int
	ActivityPollers int
}

// Limits of the tuning values: beyond them a value is a typo.
const (
	maxStickyCacheSize = 1_000_000
	maxPollers         = 1_000
)

// LoadConfig reads the configuration through getenv.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		HTTPAddr:              get("WORKER_HTTP_ADDR", "127.0.0.1:9091"),
		RedisURL:              get("REDIS_URL", "redis://127.0.0.1:6379/0"),
		PlatformWebhookURL:    get(EnvPlatformWebhookURL, ""),
		PlatformWebhookSecret: getenv(EnvPlatformWebhookSecret),
	}
	var errs []error
	positive := func(name string, max int) int {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			errs = append(errs, fmt.Errorf("%s %q must be a whole number from 1 to %d", name, v, max))
			return 0
		}
		return n
	}
	c.Tuning.StickyCacheSize = positive("WORKER_STICKY_CACHE_SIZE", maxStickyCacheSize)
	c.Tuning.WorkflowPollers = positive("WORKER_WORKFLOW_POLLERS", maxPollers)
	c.Tuning.ActivityPollers = positive("WORKER_ACTIVITY_POLLERS", maxPollers)
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("WORKER_HTTP_ADDR %q is not host:port", c.HTTPAddr))
	}
	if c.PlatformWebhookURL != "" {
		u, err := url.Parse(c.PlatformWebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("PLATFORM_WEBHOOK_URL %q is not an http(s) URL", c.PlatformWebhookURL))
		}
		keys, err := notify.ParseSecrets(c.PlatformWebhookSecret)
		if err != nil {
			errs = append(errs, PlatformWebhookSecretError(err))
		}
		c.PlatformWebhookKeys = keys
	}
	return c, errors.Join(errs...)
}

// PlatformWebhookSecretError explains a PLATFORM_WEBHOOK_SECRET that
// notify.ParseSecrets refused, with how to make a valid one.
func PlatformWebhookSecretError(err error) error {
	return fmt.Errorf("%s is required when %s is set, as one or more whsec_ secrets (make one with: echo \"whsec_$(openssl rand -base64 32)\"): %w",
		EnvPlatformWebhookSecret, EnvPlatformWebhookURL, err)
}

// Metrics holds the worker's Prometheus registry: the SDK's metrics (set
// MetricsHandler on the client options before dialling) and Mangopay calls.
type Metrics struct {
	Registry       *prometheus.Registry
	MetricsHandler client.MetricsHandler
	mangopayCalls  *prometheus.HistogramVec
	scopeCloser    interface{ Close() error }
	// Attention counts the onboardings needing a person (Temporal
	// visibility), refreshed while the worker runs.
	Attention *attention.Gauge
	backlog   *backlogGauges
}

// NewMetrics builds the registry and the SDK's metrics handler.
func NewMetrics() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The SDK's timers as histograms, not summaries: histograms add up
	// across workers (the schedule-to-start alerts take a fleet-wide p99),
	// with buckets reaching the minutes a task may wait in a backlog.
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: reg, DefaultTimerType: tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter: reporter, Separator: tallyprom.DefaultSeparator, SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	m := &Metrics{
		Registry:       reg,
		MetricsHandler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		mangopayCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kycflow_mangopay_request_duration_seconds", Help: "Mangopay API calls by method, route template and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "status"}),
		scopeCloser: closer,
	}
	reg.MustRegister(m.mangopayCalls)
	g, err := attention.NewGauge(reg)
	if err != nil {
		return nil, err
	}
	m.Attention = g
	if m.backlog, err = newBacklogGauges(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// ObserveMangopay is a mangopay.Config.Observe function.
func (m *Metrics) ObserveMangopay(method, route string, status int, d time.Duration) {
	m.mangopayCalls.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// Close flushes the SDK metrics scope.
func (m *Metrics) Close() error { return m.scopeCloser.Close() }

// Deps are what the worker runs on.
type Deps struct {
	Temporal client.Client
	Redis    redis.UniversalClient
	Mangopay *mangopay.Client
	Notifier *notify.Notifier
	Metrics  *Metrics
	Logger   *slog.Logger
	// Reconcile, when set, registers the fleet reconciliation and creates
	// (or updates) its schedule at start.
	Reconcile *reconcile.Config
	// PageSealer decrypts document pages the bridge stored encrypted (the
	// payload codec, PAYLOAD_ENCRYPTION_KEY); nil reads them in clear.
	PageSealer claimcheck.Sealer
	// Tuning sets the sticky cache, the pollers and pprof; zero keeps the
	// SDK's defaults.
	Tuning Tuning
	// Namespace is Temporal's, where Run checks that the workflow's search
	// attributes are registered; empty means "default".
	Namespace string
}

// readyChecks are the worker's readiness: polling, Redis (routing index,
// document pages, the call budget) and Temporal, required; Mangopay,
// reported but optional (its outage is retried by the activities, and no
// traffic is routed to a worker anyway).
func (d Deps) readyChecks(started *atomic.Bool) []health.Check {
	checks := []health.Check{
		{Name: "Worker", Run: func(context.Context) error {
			if !started.Load() {
				return errors.New("worker not polling")
			}
			return nil
		}},
		{Name: "Temporal", Run: func(ctx context.Context) error {
			_, err := d.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
	if d.Redis != nil {
		checks = append(checks, health.Check{Name: "Redis", Run: func(ctx context.Context) error { return d.Redis.Ping(ctx).Err() }})
	}
	if d.Mangopay != nil {
		checks = append(checks, health.Check{Name: "Mangopay", Optional: true, Run: health.Reachable(d.Mangopay.BaseURL())})
	}
	return checks
}

// Activities builds the activities from the dependencies.
func (d Deps) Activities() *activities.Activities {
	return &activities.Activities{
		Mangopay: d.Mangopay, Index: routing.NewIndex(d.Redis, 0), Pages: claimcheck.NewStore(d.Redis, 0, 0, claimcheck.WithSealer(d.PageSealer)),
		Notifier: d.Notifier, Logger: d.Logger,
	}
}

// Register puts the workflow and activities on a worker.
func Register(w worker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
	w.RegisterActivity(acts)
}

// Run polls the task queue and serves health and metrics on httpLn until ctx
// ends, then stops gracefully: in-flight activities get their
// WorkerStopTimeout to finish.
func Run(ctx context.Context, d Deps, httpLn net.Listener) error {
	ns := d.Namespace
	if ns == "" {
		ns = client.DefaultNamespace
	}
	// Without them every workflow task that writes one fails, again and
	// again: refuse to start instead, naming the command that fixes it.
	if err := searchattrs.Check(ctx, d.Temporal, ns); err != nil {
		_ = httpLn.Close()
		return err
	}
	cache := d.Tuning.StickyCacheSize
	if cache == 0 {
		// The SDK's default (10,000) holds every open onboarding of a
		// worker and misses the memory goal; size it from the limit.
		limit := MemoryLimit()
		cache = StickyCacheSizeFor(limit)
		d.Logger.Info("sticky cache sized", "workflows", cache, "memory_limit_bytes", limit)
	}
	// Process-wide in the SDK, and read when the first worker is made.
	worker.SetStickyWorkflowCacheSize(cache)
	w := worker.New(d.Temporal, workflows.TaskQueue, worker.Options{
		WorkerStopTimeout: 20 * time.Second,
		// Each activity's Mangopay calls carry its priority for the budget.
		// The webhook's span goes from its signal to the work it causes
		// (after Temporal's tracing interceptor, which the client adds).
		Interceptors:                     []interceptor.WorkerInterceptor{&activities.PriorityInterceptor{}, &workflows.EventSpanInterceptor{}},
		MaxConcurrentWorkflowTaskPollers: d.Tuning.WorkflowPollers,
		MaxConcurrentActivityTaskPollers: d.Tuning.ActivityPollers,
	})
	Register(w, d.Activities())
	if d.Reconcile != nil {
		reconcile.Register(w, &reconcile.Activities{
			Feeder: &reconcile.Feeder{Mangopay: d.Mangopay, Store: webhookstream.NewStore(d.Redis), Logger: d.Logger},
			Redis:  d.Redis, Config: *d.Reconcile,
		})
	}
	var started atomic.Bool
	mux := http.NewServeMux()
	// Kubernetes' probes: /livez (and its alias /healthz) while the
	// process runs, /readyz once the worker polls with its dependencies up.
	mux.HandleFunc("GET /livez", health.LiveHandler)
	mux.HandleFunc("GET /healthz", health.LiveHandler)
	mux.HandleFunc("GET /readyz", health.ReadyHandler(func() []health.Check { return d.readyChecks(&started) }, d.Logger))
	if d.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if err := w.Start(); err != nil {
		_ = srv.Close()
		return fmt.Errorf("start worker: %w", err)
	}
	if d.Reconcile != nil {
		if err := reconcile.EnsureSchedule(ctx, d.Temporal, d.Reconcile.Every); err != nil {
			w.Stop()
			_ = srv.Close()
			return err
		}
		d.Logger.Info("fleet reconciliation scheduled", "schedule_id", reconcile.ScheduleID, "every", d.Reconcile.Every.String())
	}
	if d.Metrics != nil {
		go d.Metrics.Attention.Run(ctx, d.Temporal, d.Logger)
		go d.Metrics.backlog.run(ctx, d.Temporal, ns, d.Logger)
	}
	started.Store(true)
	d.Logger.Info("worker polling", "task_queue", workflows.TaskQueue, "http", httpLn.Addr().String())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	d.Logger.Info("worker stopping")
	started.Store(false)
	w.Stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return errors.Join(err, srv.Shutdown(sctx))
}
