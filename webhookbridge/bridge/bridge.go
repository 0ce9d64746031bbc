// Package bridge is kycflow's webhook bridge: the public intake that keeps
// Mangopay's webhooks durably in the webhook stream (webhookstream) before
// answering, the forwarder that routes them to onboarding workflows as
// signals, the internal listener that serves the platform API
// (platformapi) with health, readiness and metrics, and the operator
// commands (hook registration, dead letters). The webhookbridge command
// wires it to its configuration.
package bridge

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookbridge/platformapi"
	"github.com/kycflow/kycflow/webhookstream"
)

// Bridge serves the public webhook intake and, on its internal listener,
// the platform API (platformapi) with health, readiness and metrics; its
// forwarder routes the stored webhooks to the onboarding workflows.
type Bridge struct {
	Store    *webhookstream.Store
	RDB      redis.UniversalClient
	Temporal client.Client
	Metrics  *Metrics
	Logger   *slog.Logger
	// PathToken is the secret last segment of the webhook URL (the one
	// registered at Mangopay); OldPathTokens are still accepted during a
	// rotation.
	PathToken     string
	OldPathTokens []string
	// API is the platform API, served on the internal listener.
	API *platformapi.API
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string
	// Codec, when set, is served at /codec/ on the internal listener so the
	// Temporal Web UI can show encrypted payloads (payloadcodec.Handler).
	Codec http.Handler
	// DevRedis: a development Redis (KYCFLOW_DEV) need not be durable, so
	// its persistence settings are a warning, not the ERROR they are in
	// production.
	DevRedis bool
	// Forwarder, when set, runs alongside the listeners in Serve.
	Forwarder *Forwarder
	// MangopayURL, when set, is the Mangopay host /readyz reports on.
	MangopayURL string
	// Intake guards the public intake (per-client rate, subscribed event
	// types, Date ahead); nil: no rate limit, the default Date bound.
	Intake *IntakeGuard
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

func (b *Bridge) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Deps are the services a bridge runs on.
type Deps struct {
	Redis    redis.UniversalClient
	Temporal client.Client
	// Mangopay resolves webhooks the routing index misses and feeds the
	// rate-limit metric; nil, the index alone routes.
	Mangopay *mangopay.Client
	// Codec, when set, is served to the Temporal Web UI (see Bridge.Codec).
	Codec  *payloadcodec.Codec
	Logger *slog.Logger
}

// HookCheckInterval is how often the bridge lists its hooks at Mangopay
// for the kycflow_mangopay_hook_healthy metric (one call each time).
const HookCheckInterval = 5 * time.Minute

// New builds a bridge and its forwarder from the configuration and the
// services they use: the one way the webhookbridge command, the dev stack
// and the tests assemble it.
func New(cfg Config, deps Deps) *Bridge {
	logger := deps.Logger
	if logger == nil {
		logger = slog.Default()
	}
	metrics := NewMetrics(deps.Mangopay)
	metrics.WatchStreams(deps.Redis)
	if deps.Mangopay != nil {
		hookURL := ""
		if cfg.PublicURL != "" {
			hookURL = cfg.WebhookURL()
		}
		metrics.WatchHooks(deps.Mangopay, hookURL, HookCheckInterval)
	}
	b := &Bridge{
		Store: webhookstream.NewStore(deps.Redis), RDB: deps.Redis, Temporal: deps.Temporal,
		Metrics: metrics, Logger: logger, PathToken: cfg.PathToken, OldPathTokens: cfg.OldPathTokens, TrustedProxies: cfg.TrustedProxies,
		API: &platformapi.API{
			Temporal: deps.Temporal, Pages: claimcheck.NewStore(deps.Redis, 0, 0, claimcheck.WithSealer(deps.Codec)),
			Logger: logger, Token: cfg.APIToken, OldTokens: cfg.OldAPITokens, Operators: cfg.Operators,
			AllowClearPages: cfg.Dev, RDB: deps.Redis, MaxConcurrentUploads: cfg.MaxConcurrentUploads,
		},
		DevRedis: cfg.Dev,
		Intake:   &IntakeGuard{PerSecond: cfg.IntakePerClientPerSecond, Burst: cfg.IntakePerClientBurst, MaxDateAhead: cfg.MaxDateAhead},
	}
	if deps.Codec != nil {
		b.API.FingerprintKeys = deps.Codec.MACKeys("upload-fingerprint")
	}
	metrics.WatchIntake(b.Intake, b.now)
	if cfg.IntakePerClientPerSecond > 0 && len(cfg.TrustedProxies) == 0 {
		// Behind a reverse proxy that is not trusted, the proxy is the one
		// client of every webhook: one limit for all, Mangopay's included.
		logger.Info("the webhook intake limits each client address; with no BRIDGE_TRUSTED_PROXIES a reverse proxy in front counts as one client",
			"per_second", cfg.IntakePerClientPerSecond)
	}
	if deps.Mangopay != nil {
		b.MangopayURL = deps.Mangopay.BaseURL()
	}
	if deps.Codec != nil {
		b.Codec = payloadcodec.Handler(deps.Codec, cfg.CodecOrigins, cfg.CodecToken)
	}
	perSec := cfg.FallbackLookupsPerSecond
	if perSec <= 0 {
		perSec = DefaultFallbackLookupsPerSec
	}
	b.Forwarder = &Forwarder{
		RDB: deps.Redis, Temporal: deps.Temporal, Metrics: metrics, Logger: logger, Consumer: cfg.ConsumerName,
		RestartReturnURL: cfg.RestartReturnURL, RestartUnknownUsers: cfg.RestartUnknownUsers,
		Resolver: &Resolver{
			Index: routing.NewIndex(deps.Redis, 0), Mangopay: deps.Mangopay, Unknown: deps.Redis, Metrics: metrics,
			Limit: rate.NewLimiter(rate.Limit(perSec), max(1, int(2*perSec))),
		},
	}
	return b
}
