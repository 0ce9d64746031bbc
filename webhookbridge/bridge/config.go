package bridge

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/tokens"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/webhookbridge/platformapi"
	"github.com/kycflow/kycflow/webhookstream"
)

// Config is the bridge's configuration, from the environment.
type Config struct {
	// PathToken is the first of WEBHOOK_PATH_TOKEN: the one registered at
	// Mangopay. OldPathTokens, the rest, are still accepted (a rotation).
	PathToken     string
	OldPathTokens []string
	// APIToken is the first of PLATFORM_API_TOKEN (the one kycflow's own
	// tools send); OldAPITokens, the rest, are still accepted.
	APIToken     string
	OldAPITokens []string
	// Operators are OPERATOR_API_TOKENS: the tokens of the operator
	// actions, each with the operator's name.
	Operators        []platformapi.OperatorToken
	PublicAddr       string   // BRIDGE_PUBLIC_ADDR
	InternalAddr     string   // BRIDGE_INTERNAL_ADDR
	PublicURL        string   // BRIDGE_PUBLIC_URL: how Mangopay reaches the public listener
	TrustedProxies   []string // BRIDGE_TRUSTED_PROXIES, comma-separated
	RedisURL         string   // REDIS_URL
	RedisKeyPrefix   string   // REDIS_KEY_PREFIX: the first segment of this deployment's keys
	RestartReturnURL string   // BRIDGE_RESTART_RETURN_URL
	CodecOrigins     []string // CODEC_ALLOWED_ORIGINS: Web UI origins allowed to call /codec
	CodecToken       string   // CODEC_SERVER_TOKEN: bearer token(s) for /codec, comma-separated, optional
	// Dev is the development switch (KYCFLOW_DEV=1): it allows the
	// published development tokens and document pages kept in clear.
	// Without it the bridge refuses to start on anything but real secrets.
	Dev          bool
	ConsumerName string // BRIDGE_CONSUMER_NAME: this bridge in the consumer group
	// RestartUnknownUsers: BRIDGE_RESTART_UNKNOWN_USERS (true/false, default
	// false): may a downgrade webhook start an onboarding for a user
	// kycflow has none for.
	RestartUnknownUsers bool
	// FallbackLookupsPerSecond: BRIDGE_FALLBACK_LOOKUPS_PER_SECOND (default
	// 5): Mangopay lookups of resources the routing index misses, and
	// restarts, per second and per bridge.
	FallbackLookupsPerSecond float64
	// MaxConcurrentUploads: BRIDGE_MAX_CONCURRENT_UPLOADS (default
	// DefaultMaxConcurrentUploads): document uploads taken at once.
	MaxConcurrentUploads int
	// IntakePerClientPerSecond: BRIDGE_INTAKE_PER_CLIENT_PER_SECOND
	// (default DefaultIntakePerClientPerSecond; 0 and a Config built in
	// code without it: no limit): webhooks one client address may send
	// the public intake, per second and bridge.
	IntakePerClientPerSecond float64
	// IntakePerClientBurst: BRIDGE_INTAKE_PER_CLIENT_BURST (default twice
	// the rate, at least 1).
	IntakePerClientBurst int
	// MaxDateAhead: BRIDGE_WEBHOOK_MAX_DATE_AHEAD (DefaultMaxDateAhead
	// when 0): the clock skew tolerated between a webhook's Date and the
	// time it was received.
	MaxDateAhead time.Duration
}

// DevSwitch is the environment variable of the development switch.
const DevSwitch = "KYCFLOW_DEV"

// EnvAPIToken is the variable of the platform API's bearer token (the load
// harness's target mode reads it too: the first of its list).
const EnvAPIToken = "PLATFORM_API_TOKEN"

// EnvOperatorTokens is the variable of the operators' tokens.
const EnvOperatorTokens = "OPERATOR_API_TOKENS"

// Development defaults: published in the source, so only the development
// switch lets the bridge use them (the README says how to set real ones).
const (
	DevPathToken  = "dev-webhook-path-token"
	DevAPIToken   = "dev-platform-api-token"
	DevPublicAddr = "127.0.0.1:8080"
)

// DevMode reads the development switch (KYCFLOW_DEV: 1, true, 0, false or
// empty).
func DevMode(getenv func(string) string) (bool, error) {
	v := strings.TrimSpace(getenv(DevSwitch))
	if v == "" {
		return false, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be 1 or 0 (true or false), not %q", DevSwitch, v)
	}
	return on, nil
}

// LoadConfig reads the configuration through getenv (config.Env.Get).
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	dev, devErr := DevMode(getenv)
	devDefault := func(v string) string {
		if dev {
			return v
		}
		return ""
	}
	pathTokens := tokens.Split(get("WEBHOOK_PATH_TOKEN", devDefault(DevPathToken)))
	apiTokens := tokens.Split(get(EnvAPIToken, devDefault(DevAPIToken)))
	c := Config{
		Dev:              dev,
		PathToken:        firstOf(pathTokens),
		APIToken:         firstOf(apiTokens),
		PublicAddr:       get("BRIDGE_PUBLIC_ADDR", devDefault(DevPublicAddr)),
		InternalAddr:     get("BRIDGE_INTERNAL_ADDR", "127.0.0.1:8081"),
		RedisURL:         get("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisKeyPrefix:   get("REDIS_KEY_PREFIX", redisconn.DefaultKeyPrefix),
		RestartReturnURL: get("BRIDGE_RESTART_RETURN_URL", ""),
		ConsumerName:     get("BRIDGE_CONSUMER_NAME", defaultConsumerName()),
	}
	if c.PublicAddr != "" {
		c.PublicURL = get("BRIDGE_PUBLIC_URL", "http://"+loopbackFor(c.PublicAddr))
	} else {
		c.PublicURL = get("BRIDGE_PUBLIC_URL", "")
	}
	origins, originsErr := payloadcodec.ParseOrigins(get("CODEC_ALLOWED_ORIGINS", "http://127.0.0.1:8233,http://localhost:8233"))
	c.CodecOrigins = origins
	c.CodecToken = strings.TrimSpace(getenv("CODEC_SERVER_TOKEN"))
	if v := get("BRIDGE_TRUSTED_PROXIES", ""); v != "" {
		for p := range strings.SplitSeq(v, ",") {
			c.TrustedProxies = append(c.TrustedProxies, strings.TrimSpace(p))
		}
	}
	if len(pathTokens) > 1 {
		c.OldPathTokens = pathTokens[1:]
	}
	if len(apiTokens) > 1 {
		c.OldAPITokens = apiTokens[1:]
	}
	operators, operatorsErr := platformapi.ParseOperatorTokens(getenv(EnvOperatorTokens), apiTokens)
	c.Operators = operators
	errs := []error{devErr, originsErr, operatorsErr}
	// With a payload key the bridge serves the codec, which decrypts
	// whatever it is sent: never without its token outside development.
	if strings.TrimSpace(getenv("PAYLOAD_ENCRYPTION_KEY")) != "" && (c.CodecToken != "" || !dev) {
		if err := payloadcodec.CheckToken(c.CodecToken); err != nil {
			errs = append(errs, err)
		}
	}
	if len(pathTokens) == 0 {
		errs = append(errs, fmt.Errorf("WEBHOOK_PATH_TOKEN is required (e.g. openssl rand -hex 32; %s=1 uses a development token)", DevSwitch))
	}
	for i, t := range pathTokens {
		switch {
		case len(t) < 16 || !webhookstream.ValidResourceID(t):
			errs = append(errs, fmt.Errorf("WEBHOOK_PATH_TOKEN must be 16 to 128 of A-Z, a-z, 0-9, _ and - (token %d of %d; several are separated by commas)", i+1, len(pathTokens)))
		case t == DevPathToken && !dev:
			errs = append(errs, fmt.Errorf("WEBHOOK_PATH_TOKEN is the published development token; set a secret one (or %s=1)", DevSwitch))
		}
	}
	if len(apiTokens) == 0 {
		errs = append(errs, fmt.Errorf("PLATFORM_API_TOKEN is required (e.g. openssl rand -hex 32; %s=1 uses a development token)", DevSwitch))
	}
	for i, t := range apiTokens {
		switch {
		case len(t) < 16 || strings.ContainsAny(t, " \t"):
			errs = append(errs, fmt.Errorf("PLATFORM_API_TOKEN must be at least 16 characters, without spaces (token %d of %d; several are separated by commas)", i+1, len(apiTokens)))
		case t == DevAPIToken && !dev:
			errs = append(errs, fmt.Errorf("PLATFORM_API_TOKEN is the published development token; set a secret one (or %s=1)", DevSwitch))
		}
	}
	if c.PublicAddr == "" {
		// No default on all interfaces: exposing the intake is a decision.
		errs = append(errs, fmt.Errorf("BRIDGE_PUBLIC_ADDR is required (e.g. :8080 to listen on all interfaces; %s=1 uses %s)", DevSwitch, DevPublicAddr))
	}
	for name, addr := range map[string]string{"BRIDGE_PUBLIC_ADDR": c.PublicAddr, "BRIDGE_INTERNAL_ADDR": c.InternalAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil && addr != "" {
			errs = append(errs, fmt.Errorf("%s %q is not host:port", name, addr))
		}
	}
	if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("BRIDGE_PUBLIC_URL %q is not an http(s) URL", c.PublicURL))
	}
	if err := redisconn.CheckURL(c.RedisURL); err != nil {
		errs = append(errs, err)
	}
	var err error
	if c.RestartUnknownUsers, err = strconv.ParseBool(get("BRIDGE_RESTART_UNKNOWN_USERS", "false")); err != nil {
		errs = append(errs, errors.New("BRIDGE_RESTART_UNKNOWN_USERS must be true or false"))
	}
	c.FallbackLookupsPerSecond, err = strconv.ParseFloat(get("BRIDGE_FALLBACK_LOOKUPS_PER_SECOND", strconv.Itoa(DefaultFallbackLookupsPerSec)), 64)
	if err != nil || c.FallbackLookupsPerSecond <= 0 || c.FallbackLookupsPerSecond > 1000 {
		errs = append(errs, errors.New("BRIDGE_FALLBACK_LOOKUPS_PER_SECOND must be a number above 0 and at most 1000"))
	}
	c.MaxConcurrentUploads, err = strconv.Atoi(get("BRIDGE_MAX_CONCURRENT_UPLOADS", strconv.Itoa(platformapi.DefaultMaxConcurrentUploads)))
	if err != nil || c.MaxConcurrentUploads < 1 || c.MaxConcurrentUploads > 1000 {
		errs = append(errs, errors.New("BRIDGE_MAX_CONCURRENT_UPLOADS must be an integer from 1 to 1000"))
	}
	c.IntakePerClientPerSecond, err = strconv.ParseFloat(get("BRIDGE_INTAKE_PER_CLIENT_PER_SECOND", strconv.Itoa(DefaultIntakePerClientPerSecond)), 64)
	if err != nil || math.IsNaN(c.IntakePerClientPerSecond) || c.IntakePerClientPerSecond < 0 || c.IntakePerClientPerSecond > 100_000 {
		errs = append(errs, errors.New("BRIDGE_INTAKE_PER_CLIENT_PER_SECOND must be a number from 0 (no limit) to 100000"))
	}
	if v := get("BRIDGE_INTAKE_PER_CLIENT_BURST", ""); v != "" {
		if c.IntakePerClientBurst, err = strconv.Atoi(v); err != nil || c.IntakePerClientBurst < 1 || c.IntakePerClientBurst > 1_000_000 {
			errs = append(errs, errors.New("BRIDGE_INTAKE_PER_CLIENT_BURST must be a whole number from 1 to 1000000"))
		}
	}
	if c.MaxDateAhead, err = time.ParseDuration(get("BRIDGE_WEBHOOK_MAX_DATE_AHEAD", DefaultMaxDateAhead.String())); err != nil ||
		c.MaxDateAhead < time.Second || c.MaxDateAhead > 30*time.Second {
		errs = append(errs, errors.New("BRIDGE_WEBHOOK_MAX_DATE_AHEAD must be a duration from 1s to 30s"))
	}
	if !validConsumerName(c.ConsumerName) {
		errs = append(errs, fmt.Errorf("BRIDGE_CONSUMER_NAME %q must be 1 to 128 of A-Z, a-z, 0-9, '.', '_' and '-'", c.ConsumerName))
	}
	for _, p := range c.TrustedProxies {
		if !validProxy(p) {
			errs = append(errs, fmt.Errorf("BRIDGE_TRUSTED_PROXIES: %q is not an IP address or CIDR range", p))
		}
	}
	if c.RestartReturnURL != "" {
		if u, err := url.Parse(c.RestartReturnURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("BRIDGE_RESTART_RETURN_URL %q is not an http(s) URL", c.RestartReturnURL))
		}
	}
	return c, errors.Join(errs...)
}

// validProxy accepts what gin's SetTrustedProxies accepts: an IP address or
// a CIDR range. Gin would otherwise fail at startup and the bridge would
// trust no proxy, with only a log line to say so.
func validProxy(p string) bool {
	if strings.Contains(p, "/") {
		_, _, err := net.ParseCIDR(p)
		return err == nil
	}
	return net.ParseIP(p) != nil
}

func firstOf(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// WebhookURL is the URL to register at Mangopay: with the first
// WEBHOOK_PATH_TOKEN (the others are only still accepted).
func (c Config) WebhookURL() string {
	return strings.TrimRight(c.PublicURL, "/") + "/webhooks/mangopay/" + c.PathToken
}

func loopbackFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// defaultConsumerName names this bridge in the consumer group: the host
// name, which a restarted container or pod keeps (a StatefulSet's pods, a
// compose service), so that the restarted bridge takes up its own pending
// entries instead of leaving an orphan consumer.
func defaultConsumerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "webhookbridge"
	}
	return host
}

// validConsumerName: what a host name may hold, bounded.
func validConsumerName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
