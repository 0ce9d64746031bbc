package mangopay_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

// TestConfigFromEnvHasNoFallback: the client never falls back to the
// published development credentials, nor guesses the host: what a process
// runs against is said (package config supplies the development defaults
// under KYCFLOW_DEV=1 only).
func TestConfigFromEnvHasNoFallback(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		vars    map[string]string
		wantErr []string
	}{
		{"nothing", nil, []string{"MANGOPAY_BASE_URL", "MANGOPAY_CLIENT_ID", "MANGOPAY_API_KEY"}},
		{"no host", map[string]string{"MANGOPAY_CLIENT_ID": "c", "MANGOPAY_API_KEY": "k"}, []string{"MANGOPAY_BASE_URL"}},
		{"no key", map[string]string{"MANGOPAY_BASE_URL": mangopay.SandboxURL, "MANGOPAY_CLIENT_ID": "c"}, []string{"MANGOPAY_API_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := mangopay.ConfigFromEnv(env(tt.vars))
			require.Error(t, err, "got %+v", c)
			for _, name := range tt.wantErr {
				assert.Contains(t, err.Error(), name)
			}
		})
	}
	c, err := mangopay.ConfigFromEnv(env(map[string]string{"MANGOPAY_BASE_URL": mangopay.SandboxURL, "MANGOPAY_CLIENT_ID": "c", "MANGOPAY_API_KEY": "k"}))
	require.NoError(t, err)
	assert.Equal(t, mangopay.SandboxURL, c.BaseURL)
}
