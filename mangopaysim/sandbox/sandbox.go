// Package sandbox is a faithful, in-memory stand-in for Mangopay's Sandbox:
// the REST API v2.01 endpoints kycflow uses (OAuth, users and their
// regulatory status, IDV sessions and their PSC sessions, KYC documents,
// hooks, events, idempotent responses), the hosted verification page behind
// each HostedUrl, webhook delivery with Mangopay's retry schedule, and a
// control API under /_sim/ for tests and demos (outcomes, reviews, PSC
// outcomes, downgrades, KYC renewal deadlines, a movable clock, fault
// injection).
//
// The wire format follows Mangopay's API reference and its 2026 release
// notes (docs/simulator.md); where the documentation pages disagree the later source
// wins and both spellings are tolerated, and what Mangopay has not published
// is a Settings switch. Everything lives in memory and is safe for concurrent
// use.
package sandbox

import (
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kycflow/kycflow/mangopay"
)

// Defaults shared with the rest of kycflow so that a local stack works with no
// settings at all.
const (
	DefaultAddr     = "127.0.0.1:8090"
	DefaultClientID = mangopay.DevClientID
	DefaultAPIKey   = mangopay.DevAPIKey
)

// Config configures a Sandbox. The zero value of every field is a usable
// default.
type Config struct {
	// ClientID and APIKey are the platform credentials accepted at
	// POST /v2.01/oauth/token.
	ClientID string
	APIKey   string
	// PublicURL is the base of the HostedUrl and SCA links handed out, e.g.
	// http://127.0.0.1:8090.
	PublicURL string
	// Settings are the behaviour switches also reachable at /_sim/settings.
	Settings Settings
	// AllowRemoteControl lets non-loopback clients use /_sim/ (containers).
	AllowRemoteControl bool
	// WebhookClient sends webhook deliveries; its timeout is overridden by
	// Settings.WebhookTimeout.
	WebhookClient *http.Client
	// Now replaces the real clock underneath the simulated one (tests).
	Now func() time.Time
	// Seed makes generated IDs and fault draws reproducible (0: time-based).
	Seed   uint64
	Logger *slog.Logger
}

// Settings are the Sandbox behaviours a test or an operator may change at run
// time.
type Settings struct {
	// IdvActivated is false to answer IDV calls with Mangopay's 403 "feature
	// not activated" problem body.
	IdvActivated bool `json:"IdvActivated"`
	// ReturnURLMaxLength bounds ReturnUrl on IDV creation: 500 as the API
	// reference says; 50 (what its newest page says, probably a typo) plays
	// a stricter Mangopay.
	ReturnURLMaxLength int `json:"ReturnUrlMaxLength"`
	// OutcomeDelaySeconds is how long after submission an IDV outcome lands.
	OutcomeDelaySeconds float64 `json:"OutcomeDelaySeconds"`
	// KycProcessingDelaySeconds is how long a submitted KYC document waits
	// before its Sandbox Tag rule is applied.
	KycProcessingDelaySeconds float64 `json:"KycProcessingDelaySeconds"`
	// TokenTTLSeconds is the OAuth token lifetime (Sandbox: 1200).
	TokenTTLSeconds int `json:"TokenTtlSeconds"`
	// RateLimits are the calls allowed per window (15 min, 30 min, 1 h, 24 h).
	RateLimits [4]int `json:"RateLimits"`
	// RateLimitEnforced answers 429 once a window is exhausted.
	RateLimitEnforced bool `json:"RateLimitEnforced"`
	// WebhookTimeoutSeconds is how long a delivery may take before it counts
	// as failed (Mangopay: 2 s).
	WebhookTimeoutSeconds float64 `json:"WebhookTimeoutSeconds"`
	// PscSessionsActivated gives BUSINESS and ORGANIZATION users PSC
	// sessions after their main session is validated (activated per
	// platform by Mangopay; on in 2026).
	PscSessionsActivated bool `json:"PscSessionsActivated"`
	// PscRejectedEventType is the event a rejected PSC session sends:
	// IDENTITY_VERIFICATION_PSC_REJECTED (PHP SDK code, Python notes) or
	// IDENTITY_VERIFICATION_PSC_FAILED (Node, Java, .NET notes).
	PscRejectedEventType string `json:"PscRejectedEventType"`
	// PscEventResource is what the RessourceId of PSC events names: PSC
	// (the PSC's psc_x_ id) or SESSION (the main session's idnver_ id).
	// Mangopay has not published which.
	PscEventResource string `json:"PscEventResource"`
	// AddressProofForLegalUsers accepts ADDRESS_PROOF documents for legal
	// users. The API reference refuses them ("ADDRESS_PROOF cannot be
	// submitted for BUSINESS user"); the hosted KYC guide tells platforms to
	// send any additional non-ID document as one.
	AddressProofForLegalUsers bool `json:"AddressProofForLegalUsers"`
	// SessionLifetimeSeconds is how long a new IDV session's HostedUrl can
	// be submitted before it turns EXPIRED (Mangopay: 7 days). A load
	// profile shortens it so that one user's session expires without
	// moving the clock, which would expire every other user's too.
	SessionLifetimeSeconds float64 `json:"SessionLifetimeSeconds"`
	// KycRenewalPeriodDays is how far after a successful verification
	// Mangopay sets an OWNER's next KycRenewalDeadline. Every OWNER has
	// one; Mangopay derives it from its risk assessment and does not
	// publish the period. USER_KYC_RENEWAL_REQUIRED comes 90 days before
	// the deadline, so the period must be longer than that.
	KycRenewalPeriodDays int `json:"KycRenewalPeriodDays"`
}

// withDefaultChoices fills the settings added in 2026 when a caller
// built Settings without them, so that older code keeps working.
func (set Settings) withDefaultChoices() Settings {
	if set.PscRejectedEventType == "" {
		set.PscRejectedEventType = EventPscRejected
	}
	if set.PscEventResource == "" {
		set.PscEventResource = PscResourcePSC
	}
	if set.SessionLifetimeSeconds == 0 {
		set.SessionLifetimeSeconds = sessionLifetime.Seconds()
	}
	if set.KycRenewalPeriodDays == 0 {
		set.KycRenewalPeriodDays = defaultRenewalPeriodDays
	}
	return set
}

// Values of Settings.PscEventResource.
const (
	PscResourcePSC     = "PSC"
	PscResourceSession = "SESSION"
)

// DefaultSettings are those of Mangopay's Sandbox as documented in November
// 2026.
func DefaultSettings() Settings {
	return Settings{
		IdvActivated:              true,
		ReturnURLMaxLength:        500,
		OutcomeDelaySeconds:       2,
		KycProcessingDelaySeconds: 6,
		TokenTTLSeconds:           1200,
		RateLimits:                [4]int{2300, 4500, 8800, 105600},
		RateLimitEnforced:         true,
		WebhookTimeoutSeconds:     2,
		PscSessionsActivated:      true,
		PscRejectedEventType:      EventPscRejected,
		PscEventResource:          PscResourcePSC,
		SessionLifetimeSeconds:    sessionLifetime.Seconds(),
		KycRenewalPeriodDays:      defaultRenewalPeriodDays,
	}
}

// Sandbox is the simulator. Use Handler to serve it and Close to stop its
// background work.
type Sandbox struct {
	cfg    Config
	log    *slog.Logger
	clock  *clock
	sched  *scheduler
	ids    *idSource
	api    router[apiFunc]
	ctl    router[ctlFunc]
	hooksC *http.Client

	mu       sync.Mutex
	settings Settings
	faults   Faults
	st       *state
	limits   rateWindows
	calls    map[string]int // authenticated API calls by route, for measurements

	callLog      []CallRecord // every API call, for rates and per-user counts
	callsDropped int

	deliveries sync.WaitGroup
	inflight   atomic.Int64 // deliveries started and not yet logged
	sem        chan struct{}
}

// New returns a running Sandbox.
func New(cfg Config) *Sandbox {
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.APIKey == "" {
		cfg.APIKey = DefaultAPIKey
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + DefaultAddr
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Settings == (Settings{}) {
		cfg.Settings = DefaultSettings()
	}
	cfg.Settings = cfg.Settings.withDefaultChoices()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	hc := cfg.WebhookClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second}}
	}
	clk := newClock(cfg.Now)
	s := &Sandbox{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "mangopaysim"),
		clock:    clk,
		sched:    newScheduler(clk),
		ids:      newIDSource(cfg.Seed),
		hooksC:   hc,
		settings: cfg.Settings,
		st:       newState(),
		calls:    map[string]int{},
		sem:      make(chan struct{}, 32),
	}
	s.routes()
	return s
}

// ClientID returns the platform ClientId the Sandbox accepts.
func (s *Sandbox) ClientID() string { return s.cfg.ClientID }

// Now returns the simulated time.
func (s *Sandbox) Now() time.Time { return s.clock.Now() }

// Close stops the scheduler and waits for in-flight webhook deliveries.
func (s *Sandbox) Close() {
	s.sched.Close()
	s.deliveries.Wait()
}

// APICalls returns how many authenticated API calls each route received
// (e.g. "GET /identity-verifications/{id}"), token requests excluded. It is
// how kycflow measures the Mangopay calls each onboarding path costs.
func (s *Sandbox) APICalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Settle runs every task that is due and waits until no webhook delivery is
// in flight, so a test can assert that nothing more was sent.
func (s *Sandbox) Settle() {
	for {
		s.sched.RunDue()
		if s.inflight.Load() == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// currentSettings returns a copy of the settings.
func (s *Sandbox) currentSettings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// Handler serves the API, the hosted pages and the control API.
func (s *Sandbox) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Sandbox) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case hasPrefixFold(path, "/v2.01/"):
		s.serveAPI(w, r)
	case strings.HasPrefix(path, "/_sim/"):
		s.serveControl(w, r)
	case strings.HasPrefix(path, hostedPrefix):
		s.serveHosted(w, r)
	case path == scaPath:
		s.serveSCA(w, r)
	case path == "/" || path == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("mangopaysim: Mangopay Sandbox simulator for API v2.01 (client " + s.cfg.ClientID + ")\n"))
	default:
		http.NotFound(w, r)
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
