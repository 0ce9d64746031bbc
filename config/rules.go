package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// rules are the checks across variables that keep an unsafe setting from
// starting. Development (KYCFLOW_DEV=1) stays on this machine and off real
// Mangopay accounts; everything else must say what it runs against, with
// its secrets, over https.
func rules(e *Env) []error {
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, &Error{name, fmt.Errorf(format, args...)})
	}
	reads := func(name string) bool {
		v, ok := Lookup(name)
		return ok && v.ReadBy(e.Process)
	}
	base := e.Get("MANGOPAY_BASE_URL")

	// PAYLOAD_ENCRYPTION=off is a statement: a key beside it contradicts it.
	if reads("PAYLOAD_ENCRYPTION") && strings.EqualFold(e.Get("PAYLOAD_ENCRYPTION"), PayloadEncryptionOff) && e.Get("PAYLOAD_ENCRYPTION_KEY") != "" {
		fail("PAYLOAD_ENCRYPTION", "is off but PAYLOAD_ENCRYPTION_KEY is set: remove one of them")
	}

	if e.Dev {
		if reads("MANGOPAY_BASE_URL") && IsLiveMangopay(base) {
			fail("MANGOPAY_BASE_URL", "%s=1 is refused against live Mangopay (%s): development defaults never meet a real account; unset %s, or point at a simulator",
				DevSwitch, hostOf(base), DevSwitch)
		}
		for i := range Vars {
			v := &Vars[i]
			if v.Listener && v.ReadBy(e.Process) && e.Get(v.Name) != "" && isHostPort(e.Get(v.Name)) == nil && !IsLoopback(e.Get(v.Name)) {
				fail(v.Name, "%s=1 is refused on a listener other machines can reach (%s): use 127.0.0.1:<port>, or unset %s",
					DevSwitch, e.Get(v.Name), DevSwitch)
			}
		}
		return errs
	}

	for i := range Vars {
		v := &Vars[i]
		if slices.Contains(v.RequiredBy, e.Process) && e.Get(v.Name) == "" {
			fail(v.Name, "is required outside %s=1 (%s)", DevSwitch, requiredHint(v.Name))
		}
	}
	// Onboarding payloads carry PII (HostedUrl, Mangopay's error texts):
	// never in clear in Temporal unless someone said so.
	if reads("PAYLOAD_ENCRYPTION") && e.Get("PAYLOAD_ENCRYPTION_KEY") == "" && !strings.EqualFold(e.Get("PAYLOAD_ENCRYPTION"), PayloadEncryptionOff) {
		fail("PAYLOAD_ENCRYPTION_KEY", "is required outside %s=1: onboarding payloads hold PII that would sit in Temporal in clear "+
			"(e.g. openssl rand -hex 32, the same on every process); set PAYLOAD_ENCRYPTION=off to store them in clear on purpose", DevSwitch)
	}
	if reads("PLATFORM_WEBHOOK_URL") {
		if u := e.Get("PLATFORM_WEBHOOK_URL"); u != "" && !isHTTPS(u) {
			fail("PLATFORM_WEBHOOK_URL", "must be https outside %s=1: the notifications carry the user's HostedUrl", DevSwitch)
		}
	}
	if e.Process == Bridge && IsLiveMangopay(base) {
		hook := e.Get("BRIDGE_PUBLIC_URL")
		if hook == "" {
			hook = "http://" + e.Get("BRIDGE_PUBLIC_ADDR")
		}
		if !isHTTPS(hook) {
			fail("BRIDGE_PUBLIC_URL", "must be an https URL at live Mangopay (%s): the webhook URL registered there carries WEBHOOK_PATH_TOKEN",
				hostOf(base))
		}
	}
	return errs
}

func requiredHint(name string) string {
	switch name {
	case "MANGOPAY_BASE_URL":
		return "https://api.mangopay.com, https://api.sandbox.mangopay.com or their api-mtls hosts; " + DevSwitch + "=1 uses the local simulator"
	case "MANGOPAY_CLIENT_ID", "MANGOPAY_API_KEY":
		return "from Mangopay's Dashboard; " + DevSwitch + "=1 uses the simulator's published development credentials"
	case "WEBHOOK_PATH_TOKEN", "PLATFORM_API_TOKEN":
		return "e.g. openssl rand -hex 32; " + DevSwitch + "=1 uses a published development token"
	case "BRIDGE_PUBLIC_ADDR":
		return "e.g. :8080 to listen on all interfaces; " + DevSwitch + "=1 uses 127.0.0.1:8080"
	}
	return "see docs/configuration.md"
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Scheme, "https") && u.Host != ""
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Hostname()
}
