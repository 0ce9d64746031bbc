package mangopay

import (
	"errors"
	"strings"
)

// Development defaults, shared with the local simulator (mangopaysim) so
// that kycflow runs with no settings at all.
const (
	LocalSimulatorURL = "http://127.0.0.1:8090"
	DevClientID       = "kycflow-dev"
	DevAPIKey         = "kycflow-dev-api-key"
)

// ConfigFromEnv reads MANGOPAY_BASE_URL, MANGOPAY_CLIENT_ID,
// MANGOPAY_API_KEY, MANGOPAY_CLIENT_CERT_FILE and MANGOPAY_CLIENT_KEY_FILE
// through getenv. With no credentials it targets the local simulator; with
// credentials and no base URL, Mangopay's Sandbox (the real API stays the
// default whenever credentials are given).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		BaseURL: get("MANGOPAY_BASE_URL"), ClientID: get("MANGOPAY_CLIENT_ID"), APIKey: get("MANGOPAY_API_KEY"),
		ClientCertFile: get("MANGOPAY_CLIENT_CERT_FILE"), ClientKeyFile: get("MANGOPAY_CLIENT_KEY_FILE"),
	}
	switch {
	case c.ClientID == "" && c.APIKey == "":
		c.ClientID, c.APIKey = DevClientID, DevAPIKey
		if c.BaseURL == "" {
			c.BaseURL = LocalSimulatorURL
		}
	case c.ClientID == "" || c.APIKey == "":
		return Config{}, errors.New("set both MANGOPAY_CLIENT_ID and MANGOPAY_API_KEY, or neither (local simulator)")
	case c.BaseURL == "":
		c.BaseURL = SandboxURL
	}
	return c, nil
}
