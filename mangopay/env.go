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
// through getenv (config.Env.Get). The first three are required: there is
// no fallback to the development credentials nor a guessed host (package
// config supplies the simulator's under KYCFLOW_DEV=1 only).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		BaseURL: get("MANGOPAY_BASE_URL"), ClientID: get("MANGOPAY_CLIENT_ID"), APIKey: get("MANGOPAY_API_KEY"),
		ClientCertFile: get("MANGOPAY_CLIENT_CERT_FILE"), ClientKeyFile: get("MANGOPAY_CLIENT_KEY_FILE"),
	}
	var errs []error
	for _, v := range [][2]string{{"MANGOPAY_BASE_URL", c.BaseURL}, {"MANGOPAY_CLIENT_ID", c.ClientID}, {"MANGOPAY_API_KEY", c.APIKey}} {
		if v[1] == "" {
			errs = append(errs, errors.New(v[0]+" is required (KYCFLOW_DEV=1 uses the local simulator)"))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}
