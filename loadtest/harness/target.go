package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kycflow/kycflow/devstack/stack"
	"github.com/kycflow/kycflow/internal/tokens"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/worker/kycworker"
	"github.com/kycflow/kycflow/workflows"
)

// TargetDev is the --target value that names `make dev`'s stack on its
// default addresses and development tokens.
const TargetDev = "dev"

// Target is a running deployment the harness drives and observes (--target)
// instead of starting one: it starts no process, and causes faults only
// through the simulator's control API.
type Target struct {
	Name     string // TargetDev or the platform API's URL, for the report
	APIURL   string // the bridges' platform API (internal listener)
	APIToken string
	// MangopayURL, ClientID and APIKey: the Mangopay API the deployment
	// uses, where the harness creates its users and lists their sessions.
	MangopayURL string
	ClientID    string
	APIKey      string
	// SimURL is the simulator's control API (/_sim/...): outcomes, faults,
	// the call and webhook logs. The harness cannot run without one.
	SimURL string
	// NotifyListen is the address the harness takes the platform's
	// notifications on (the deployment's PLATFORM_WEBHOOK_URL must point
	// there), signed with NotifySecret. Empty: the harness polls the
	// platform API instead, and the checks that need the notifications
	// are left out.
	NotifyListen string
	NotifySecret string
	// TemporalAddr (optional) is the Temporal frontend: each onboarding's
	// history, for the actions and the webhook-to-signal figures.
	TemporalAddr      string
	TemporalNamespace string
	// BridgeMetrics (optional) are bridges' /metrics URLs: the intake p99.
	BridgeMetrics []string
	// Budget is the deployment's Mangopay call budget when the flags give
	// none: only known for TargetDev (stack.DevBudget).
	Budget Budget
}

// TargetFlags are target mode's flags as given.
type TargetFlags struct {
	Target            string // TargetDev or the platform API's URL
	APIToken          string
	MangopayURL       string
	ClientID          string
	APIKey            string
	SimURL            string
	NotifyListen      string
	NotifySecret      string
	TemporalAddr      string
	TemporalNamespace string
	BridgeMetrics     string // comma-separated
}

// ParseTarget reads target mode's flags; getenv gives the secrets a flag
// leaves out (PLATFORM_API_TOKEN, PLATFORM_WEBHOOK_SECRET), so that they
// need not be on the command line. TargetDev takes `make dev`'s addresses
// and tokens from the code that sets them (stack.DevOptions).
func ParseTarget(f TargetFlags, getenv func(string) string) (*Target, error) {
	t := &Target{
		Name: f.Target, APIToken: f.APIToken, MangopayURL: f.MangopayURL, ClientID: f.ClientID, APIKey: f.APIKey,
		SimURL: f.SimURL, NotifyListen: f.NotifyListen, NotifySecret: f.NotifySecret,
		TemporalAddr: f.TemporalAddr, TemporalNamespace: f.TemporalNamespace,
	}
	if t.APIToken == "" {
		// During a rotation the variable lists the new token first.
		if list := tokens.Split(getenv(bridge.EnvAPIToken)); len(list) > 0 {
			t.APIToken = list[0]
		}
	}
	if t.NotifySecret == "" {
		t.NotifySecret = getenv(kycworker.EnvPlatformWebhookSecret)
	}
	for m := range strings.SplitSeq(f.BridgeMetrics, ",") {
		if m = strings.TrimSpace(m); m != "" {
			t.BridgeMetrics = append(t.BridgeMetrics, m)
		}
	}
	if f.Target == TargetDev {
		dev := stack.DevOptions()
		t.APIURL = "http://" + dev.BridgeInternalAddr
		t.APIToken = cmpOr(f.APIToken, dev.APIToken) // make dev serves the development token, whatever the environment says
		t.MangopayURL = cmpOr(t.MangopayURL, "http://"+dev.SimAddr)
		t.ClientID = cmpOr(t.ClientID, sandbox.DefaultClientID)
		t.APIKey = cmpOr(t.APIKey, sandbox.DefaultAPIKey)
		t.TemporalAddr = cmpOr(t.TemporalAddr, dev.TemporalHostPort)
		if len(t.BridgeMetrics) == 0 {
			t.BridgeMetrics = []string{t.APIURL + "/metrics"}
		}
		t.Budget = Budget{CallsPerSecond: stack.DevBudget.CallsPerSecond, Burst: stack.DevBudget.Burst}
	} else {
		t.APIURL = strings.TrimSuffix(f.Target, "/")
	}
	t.SimURL = cmpOr(t.SimURL, t.MangopayURL)
	t.TemporalNamespace = cmpOr(t.TemporalNamespace, "default")
	return t, t.validate()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// validate reports a target the harness cannot drive.
func (t *Target) validate() error {
	var errs []error
	httpURL := func(flag, v string) {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", flag, v))
		}
	}
	httpURL("--target (dev, or the platform API's URL)", t.APIURL)
	if t.APIToken == "" {
		errs = append(errs, fmt.Errorf("--api-token (or %s) is required: the platform API's bearer token", bridge.EnvAPIToken))
	}
	if t.MangopayURL == "" {
		errs = append(errs, errors.New("--mangopay-url is required: the Mangopay API the deployment uses (the harness creates its users there)"))
	} else {
		httpURL("--mangopay-url", t.MangopayURL)
	}
	if t.SimURL != "" && t.SimURL != t.MangopayURL {
		httpURL("--sim-url", t.SimURL)
	}
	if t.ClientID == "" || t.APIKey == "" {
		errs = append(errs, errors.New("--mangopay-client-id and --mangopay-api-key are required (the deployment's MANGOPAY_CLIENT_ID and MANGOPAY_API_KEY)"))
	}
	switch {
	case t.NotifyListen == "":
	case t.NotifySecret == "":
		errs = append(errs, fmt.Errorf("--notify-listen needs --notify-secret (or %s): the deployment's %s", kycworker.EnvPlatformWebhookSecret, kycworker.EnvPlatformWebhookSecret))
	default:
		if _, _, err := net.SplitHostPort(t.NotifyListen); err != nil {
			errs = append(errs, fmt.Errorf("--notify-listen %q is not host:port", t.NotifyListen))
		}
		if _, err := notify.ParseSecrets(t.NotifySecret); err != nil {
			errs = append(errs, fmt.Errorf("--notify-secret (or %s): %w", kycworker.EnvPlatformWebhookSecret, err))
		}
	}
	if t.TemporalAddr != "" {
		if _, _, err := net.SplitHostPort(t.TemporalAddr); err != nil {
			errs = append(errs, fmt.Errorf("--temporal-address %q is not host:port", t.TemporalAddr))
		}
	}
	for _, m := range t.BridgeMetrics {
		httpURL("--bridge-metrics", m)
	}
	return errors.Join(errs...)
}

// TargetFaults are the faults the harness can cause in a deployment it did
// not start: the simulator's, through its control API. The process kills
// and restarts need processes of its own.
var TargetFaults = []Fault{Fault5xx, Fault429, FaultLostResponses, FaultWebhooksDuplicated, FaultWebhooksReordered,
	FaultWebhooksDropped, FaultLatency}

// TargetDefaultFaults are what `--chaos all` injects in target mode:
// TargetFaults but webhooks-dropped, which only the deployment's fleet
// reconciliation repairs (every 10 minutes by default: longer than a
// user's deadline), so it must be asked for.
var TargetDefaultFaults = slices.DeleteFunc(slices.Clone(TargetFaults), func(f Fault) bool { return f == FaultWebhooksDropped })

// validateTargetMode reports what a run against a target cannot do.
func (c *Config) validateTargetMode() []error {
	var errs []error
	for _, f := range c.Chaos.Kinds {
		if !slices.Contains(TargetFaults, f) {
			errs = append(errs, fmt.Errorf("--chaos %s: refused with --target: the harness did not start the deployment's processes, so it cannot kill or restart them (faults in target mode: %s)", f, faultNames(TargetFaults)))
		}
	}
	if err := c.Target.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Budget == (Budget{}) && c.Target.Budget == (Budget{}) {
		errs = append(errs, errors.New("--budget-rate and --budget-burst are required with --target: the deployment's MANGOPAY_MAX_CALLS_PER_SECOND and MANGOPAY_MAX_BURST, which the harness cannot know"))
	}
	if c.polls() {
		for _, p := range NotifiedPaths {
			if c.Mix[p] > 0 {
				errs = append(errs, fmt.Errorf("--mix %s: needs the deployment to notify the harness (--notify-listen): polling the platform API does not see document and PSC events", p))
			}
		}
	}
	if c.Sabotage != SabotageNone {
		errs = append(errs, errors.New("sabotage needs a system the harness starts, not --target"))
	}
	if c.PprofDir != "" {
		errs = append(errs, errors.New("--pprof is refused with --target: the processes are not the harness's"))
	}
	return errs
}

func faultNames(fs []Fault) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// ErrTarget marks a deployment the harness cannot drive (unreachable, a
// wrong token, not the simulator): loadtest exits 2, as for a bad flag.
var ErrTarget = errors.New("target")

// attach connects to the target: it checks that the platform API answers
// its token and that the Mangopay URL is the simulator, and starts the
// harness's own listener for the notifications when there is one.
func attach(ctx context.Context, cfg Config, workDir string) (s *system, err error) {
	t := cfg.Target
	s = &system{cfg: cfg, workDir: workDir, target: t, simURL: strings.TrimSuffix(t.SimURL, "/"), apiURL: t.APIURL, apiToken: t.APIToken,
		temporalAddr: t.TemporalAddr, namespace: t.TemporalNamespace}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := Preflight(ctx, t); err != nil {
		return s, err
	}
	if s.mangopay, err = mangopay.New(mangopay.Config{BaseURL: t.MangopayURL, ClientID: t.ClientID, APIKey: t.APIKey,
		Logger: slog.New(slog.DiscardHandler)}); err != nil {
		return s, fmt.Errorf("%w: mangopay client: %w", ErrTarget, err)
	}
	if cfg.SessionLifetime > 0 {
		// The expired path needs short sessions: the run's, put back at its
		// end (sessions keep the lifetime they were created with).
		var was float64
		if err := s.simSettings(ctx, func(set *sandbox.Settings) {
			was, set.SessionLifetimeSeconds = set.SessionLifetimeSeconds, cfg.SessionLifetime.Seconds()
		}); err != nil {
			return s, fmt.Errorf("%w: set the simulator's session lifetime: %w", ErrTarget, err)
		}
		s.undo = append(s.undo, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.simSettings(ctx, func(set *sandbox.Settings) { set.SessionLifetimeSeconds = was })
		})
	}
	if t.NotifyListen == "" {
		s.obs = &poller{sink: newRecorder(), apiURL: s.apiURL, token: s.apiToken, every: pollEvery}
		return s, nil
	}
	sk, err := newSink(t.NotifySecret)
	if err != nil {
		return s, fmt.Errorf("%w: --notify-secret: %w", ErrTarget, err)
	}
	ln, err := net.Listen("tcp", t.NotifyListen)
	if err != nil {
		return s, fmt.Errorf("%w: --notify-listen: %w", ErrTarget, err)
	}
	srv := &http.Server{Handler: sk, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	s.sink, s.obs = sk, sk
	return s, nil
}

// Preflight checks that the target answers as the harness needs: the
// platform API with its token, and a Mangopay simulator with its control
// API. Each error says what cannot be done.
func Preflight(ctx context.Context, t *Target) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// An unknown user: 404 from a bridge that took the token, 401 from one
	// that did not.
	code, err := statusOf(ctx, t.APIURL+"/v1/onboardings/loadtest-preflight-"+randomHex(4), t.APIToken)
	switch {
	case err != nil:
		return fmt.Errorf("%w: the platform API does not answer (is the deployment running? make dev): %w", ErrTarget, err)
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%w: the platform API at %s refuses the token (401): give the deployment's %s (--api-token)", ErrTarget, t.APIURL, bridge.EnvAPIToken)
	case code != http.StatusNotFound:
		return fmt.Errorf("%w: %s/v1/onboardings/<unknown user> answered %d, not 404: is it kycflow's platform API (the bridge's internal listener)?", ErrTarget, t.APIURL, code)
	}
	var set sandbox.Settings
	if err := call(ctx, http.MethodGet, strings.TrimSuffix(t.SimURL, "/")+"/_sim/settings", "", nil, &set); err != nil {
		return fmt.Errorf("%w: %s is not the Mangopay simulator (GET /_sim/settings: %w): target mode decides every verification's outcome, "+
			"injects the Mangopay and webhook faults and reads the call and webhook logs through the simulator's control API, "+
			"so it cannot drive a deployment on Mangopay's own Sandbox or Production (use the simulator: docker compose --profile sandbox, or make dev)",
			ErrTarget, t.SimURL, err)
	}
	return nil
}

// statusOf answers the status code of a GET.
func statusOf(ctx context.Context, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// pollEvery is how often a user waited on is read through the platform
// API when the deployment does not notify the harness.
const pollEvery = 250 * time.Millisecond

// poller stands in for the notifications when the deployment does not
// send them to the harness: it reads a waited-on user's state through the
// platform API and records each change as the notification it would be
// (no event id, no signature: those checks are left out).
type poller struct {
	*sink
	apiURL, token string
	every         time.Duration
}

func (p *poller) waitFor(userID string, match func(received) bool, deadline until, done <-chan struct{}) (received, bool) {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		// The deadline may have moved since the last poll.
		ctx, cancel := context.WithDeadline(context.Background(), deadline())
		var st workflows.StateView
		err := call(ctx, http.MethodGet, p.apiURL+"/v1/onboardings/"+userID, p.token, nil, &st)
		cancel()
		if err == nil {
			p.record(st)
		}
		if ev, ok := p.sink.waitFor(userID, match, fixed(time.Now()), done); ok {
			return ev, true
		}
		if !time.Now().Before(deadline()) {
			return received{}, false
		}
		select {
		case <-done:
			return received{}, false
		case <-t.C:
		}
	}
}

// record adds the state as a notification when it differs from the
// user's last one.
func (p *poller) record(st workflows.StateView) {
	ev := received{At: time.Now()}
	ev.Type, ev.UserID, ev.Status = "onboarding."+strings.ToLower(string(st.Status)), st.UserID, string(st.Status)
	ev.Attempt, ev.IdvSessionID, ev.HostedURL = st.Attempt, st.IdvSessionID, st.HostedURL
	p.sink.mu.Lock()
	defer p.sink.mu.Unlock()
	if evs := p.sink.byUser[st.UserID]; len(evs) > 0 {
		last := evs[len(evs)-1]
		if last.Type == ev.Type && last.Attempt == ev.Attempt && last.IdvSessionID == ev.IdvSessionID && last.HostedURL == ev.HostedURL {
			return
		}
	}
	p.sink.addLocked(ev)
}

// TargetReport is what a run against a target observed it by, and what
// the run could not measure or check there.
type TargetReport struct {
	Name       string `json:"name"`
	APIURL     string `json:"api_url"`
	ObservedBy string `json:"observed_by"`
	// Omitted: each figure or check the run left out, and why.
	Omitted []string `json:"omitted"`
}

// Observation modes.
const (
	ObservedByNotifications = "notifications"
	ObservedByPolling       = "polling"
)

func (s *system) observedBy() string {
	if s.sink != nil {
		return ObservedByNotifications
	}
	return ObservedByPolling
}

func targetReport(t *Target, s *system) *TargetReport {
	r := &TargetReport{Name: t.Name, APIURL: t.APIURL, ObservedBy: s.observedBy()}
	r.Omitted = append(r.Omitted,
		"each process's peak RSS and CPU, restarts: the deployment's processes are not the harness's",
		"worker-kill, bridge-kill, redis-restart, temporal-restart: refused in target mode (no process of the harness's to kill)")
	if s.sink == nil {
		r.Omitted = append(r.Omitted, fmt.Sprintf("double-transition, transition-order and unverified-notification checks, and the paths %s: the deployment does not notify the harness "+
			"(--notify-listen); states were read through the platform API every %s while waited on, so decision to notification is rounded up "+
			"by up to that, a state held for less is not seen, and notifications counts the states seen", pathNamesOf(NotifiedPaths), pollEvery))
	}
	if t.TemporalAddr == "" {
		r.Omitted = append(r.Omitted, "Temporal actions per onboarding, webhook to signal and to state: no --temporal-address")
	}
	if len(t.BridgeMetrics) == 0 {
		r.Omitted = append(r.Omitted, "bridge intake p99: no --bridge-metrics")
	}
	r.Omitted = append(r.Omitted, "Mangopay calls and the budget check count every call the simulator got from the deployment during the run, "+
		"other traffic on it included")
	return r
}
