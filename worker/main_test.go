package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadConfigFailsClosed: the worker's own loading (what main runs)
// refuses a production start on development settings, naming each
// variable, all at once; KYCFLOW_DEV=1 alone still starts it.
func TestLoadConfigFailsClosed(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	_, err := loadConfig(env(map[string]string{"PLATFORM_WEBHOOK_URL": "http://platform.example/events", "PLATFORM_WEBHOOK_SECRET": strings.Repeat("s", 16)}))
	require.Error(t, err, "no Mangopay settings, no payload key, notifications over http")
	for _, name := range []string{"MANGOPAY_BASE_URL", "MANGOPAY_CLIENT_ID", "MANGOPAY_API_KEY", "PAYLOAD_ENCRYPTION_KEY", "PLATFORM_WEBHOOK_URL"} {
		assert.Contains(t, err.Error(), name)
	}
	_, err = loadConfig(env(map[string]string{"KYCFLOW_DEV": "1"}))
	assert.NoError(t, err)
	_, err = loadConfig(env(map[string]string{"KYCFLOW_DEV": "1", "MANGOPAY_BASE_URL": "https://api.mangopay.com"}))
	assert.ErrorContains(t, err, "MANGOPAY_BASE_URL")
}
