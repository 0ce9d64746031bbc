package config

import (
	"github.com/kycflow/kycflow/notify"

	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The checks of a non-empty value, by type. Messages never quote a value:
// the caller may not know whether it is a secret.

func parseDev(raw string) (bool, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return false, nil
	}
	on, err := strconv.ParseBool(raw)
	if err != nil {
		return false, errors.New("must be 1 or 0 (true or false)")
	}
	return on, nil
}

func isBool(v string) error {
	if _, err := strconv.ParseBool(v); err != nil {
		return errors.New("must be true or false")
	}
	return nil
}

func intIn(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

// numberIn accepts a number above lo (or at lo when loIncluded) and at most
// hi (or below hi when !hiIncluded).
func numberIn(lo float64, loIncluded bool, hi float64, hiIncluded bool) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		bad := err != nil || math.IsNaN(f) || f < lo || f > hi || (!loIncluded && f == lo) || (!hiIncluded && f == hi)
		if bad {
			return fmt.Errorf("must be a number in %s%v, %v%s", map[bool]string{true: "[", false: "("}[loIncluded], lo, hi,
				map[bool]string{true: "]", false: ")"}[hiIncluded])
		}
		return nil
	}
}

func durationIn(lo, hi time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("must be a Go duration from %s to %s (for example 10m)", lo, hi)
		}
		return nil
	}
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, strings.ToLower(v)) {
			return fmt.Errorf("must be one of %s", strings.Join(values, ", "))
		}
		return nil
	}
}

func isLogLevel(v string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		return errors.New("must be debug, info, warn or error")
	}
	return nil
}

func isHostPort(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return errors.New("must be host:port (for example 127.0.0.1:8080)")
	}
	return nil
}

func isLoopbackAddr(v string) error {
	if err := isHostPort(v); err != nil {
		return err
	}
	if !IsLoopback(v) {
		return errors.New("must be a loopback address (127.0.0.1:<port>, [::1]:<port> or localhost:<port>)")
	}
	return nil
}

// isWebhookSecrets: the notification secrets as notify reads them.
func isWebhookSecrets(v string) error {
	_, err := notify.ParseSecrets(v)
	return err
}

func isHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http(s) URL")
	}
	return nil
}

func isRedisURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return errors.New("must be a redis://[:password@]host:port/db or rediss:// URL")
	}
	return nil
}

// isKeyPrefix: what goes before the first colon of a Redis key.
func isKeyPrefix(v string) error {
	if len(v) > 64 || strings.ContainsAny(v, ": \t{}*?[]") {
		return errors.New("must be 1 to 64 characters without ':', spaces, braces or glob characters")
	}
	return nil
}

// redactURL hides a URL's password.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return Redacted
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return strings.Replace(u.String(), "xxxxx", Redacted, 1)
	}
	return v
}

// IsLoopback reports whether a listener's host:port stays on this machine
// (127.0.0.0/8, ::1 or localhost); an empty host listens everywhere.
func IsLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LiveMangopayHosts are Mangopay's API hosts (Production, Sandbox and their
// mTLS variants): real accounts, real users' data.
var LiveMangopayHosts = []string{
	"api.mangopay.com", "api.sandbox.mangopay.com", "api-mtls.mangopay.com", "api-mtls.sandbox.mangopay.com",
}

// IsLiveMangopay reports whether baseURL points at Mangopay itself rather
// than a simulator: one of LiveMangopayHosts, or any other host under
// mangopay.com.
func IsLiveMangopay(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	return slices.Contains(LiveMangopayHosts, h) || h == "mangopay.com" || strings.HasSuffix(h, ".mangopay.com")
}
