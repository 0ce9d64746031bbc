package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/kycflow/kycflow/internal/redisconn"
)

// Config is the bridge's configuration, from the environment.
type Config struct {
	PathToken        string   // WEBHOOK_PATH_TOKEN
	APIToken         string   // PLATFORM_API_TOKEN
	PublicAddr       string   // BRIDGE_PUBLIC_ADDR
	InternalAddr     string   // BRIDGE_INTERNAL_ADDR
	PublicURL        string   // BRIDGE_PUBLIC_URL: how Mangopay reaches the public listener
	TrustedProxies   []string // BRIDGE_TRUSTED_PROXIES, comma-separated
	RedisURL         string   // REDIS_URL
	RestartReturnURL string   // BRIDGE_RESTART_RETURN_URL
	CodecOrigins     []string // CODEC_ALLOWED_ORIGINS: Web UI origins allowed to call /codec
	CodecToken       string   // CODEC_SERVER_TOKEN: bearer token for /codec, optional
	ConsumerName     string   // BRIDGE_CONSUMER_NAME: this bridge in the consumer group
	// RestartUnknownUsers: BRIDGE_RESTART_UNKNOWN_USERS (true/false, default
	// false): may a downgrade webhook start an onboarding for a user
	// kycflow has none for.
	RestartUnknownUsers bool
	// FallbackLookupsPerSecond: BRIDGE_FALLBACK_LOOKUPS_PER_SECOND (default
	// 5): Mangopay lookups of resources the routing index misses, and
	// restarts, per second and per bridge.
	FallbackLookupsPerSecond float64
}

// Development defaults: they make the local stack work with no settings and
// must be replaced in production (the README says how).
const (
	DevPathToken = "dev-webhook-path-token"
	DevAPIToken  = "dev-platform-api-token"
)

// LoadConfig reads the configuration through getenv (os.Getenv).
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		PathToken:        get("WEBHOOK_PATH_TOKEN", DevPathToken),
		APIToken:         get("PLATFORM_API_TOKEN", DevAPIToken),
		PublicAddr:       get("BRIDGE_PUBLIC_ADDR", ":8080"),
		InternalAddr:     get("BRIDGE_INTERNAL_ADDR", "127.0.0.1:8081"),
		RedisURL:         get("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RestartReturnURL: get("BRIDGE_RESTART_RETURN_URL", ""),
		ConsumerName:     get("BRIDGE_CONSUMER_NAME", defaultConsumerName()),
	}
	c.PublicURL = get("BRIDGE_PUBLIC_URL", "http://"+loopbackFor(c.PublicAddr))
	origins, originsErr := parseOrigins(get("CODEC_ALLOWED_ORIGINS", "http://127.0.0.1:8233,http://localhost:8233"))
	c.CodecOrigins = origins
	c.CodecToken = strings.TrimSpace(getenv("CODEC_SERVER_TOKEN"))
	if v := get("BRIDGE_TRUSTED_PROXIES", ""); v != "" {
		for p := range strings.SplitSeq(v, ",") {
			c.TrustedProxies = append(c.TrustedProxies, strings.TrimSpace(p))
		}
	}
	errs := []error{originsErr}
	if len(c.PathToken) < 16 || !validResourceID(c.PathToken) {
		errs = append(errs, errors.New("WEBHOOK_PATH_TOKEN must be 16 to 128 of A-Z, a-z, 0-9, _ and -"))
	}
	if len(c.APIToken) < 16 {
		errs = append(errs, errors.New("PLATFORM_API_TOKEN must be at least 16 characters"))
	}
	for name, addr := range map[string]string{"BRIDGE_PUBLIC_ADDR": c.PublicAddr, "BRIDGE_INTERNAL_ADDR": c.InternalAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not host:port", name, addr))
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
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

// WebhookURL is the URL to register at Mangopay.
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

// parseOrigins reads a comma-separated list of web origins (scheme://host[:port]).
func parseOrigins(v string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(v, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("CODEC_ALLOWED_ORIGINS: %q is not an origin (scheme://host[:port])", o)
		}
		out = append(out, o)
	}
	return out, nil
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
