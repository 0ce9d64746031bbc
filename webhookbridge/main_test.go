package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/config"
)

// TestLoadConfigFailsClosed: the bridge's own loading (what main runs)
// refuses a production start on development settings, naming each
// variable, all at once; KYCFLOW_DEV=1 alone still starts it, never on an
// address other machines reach.
func TestLoadConfigFailsClosed(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	_, err := loadConfig(config.Bridge, env(map[string]string{
		"WEBHOOK_PATH_TOKEN": "0123456789abcdef0123", "PLATFORM_API_TOKEN": "0123456789abcdef0123", "BRIDGE_PUBLIC_ADDR": ":8080",
		"BRIDGE_PUBLIC_URL": "http://hooks.platform.example", "MANGOPAY_BASE_URL": "https://api.mangopay.com",
	}))
	require.Error(t, err)
	for _, name := range []string{"MANGOPAY_CLIENT_ID", "MANGOPAY_API_KEY", "PAYLOAD_ENCRYPTION_KEY", "BRIDGE_PUBLIC_URL"} {
		assert.Contains(t, err.Error(), name)
	}
	_, err = loadConfig(config.Bridge, env(map[string]string{"KYCFLOW_DEV": "1"}))
	assert.NoError(t, err)
	_, err = loadConfig(config.Bridge, env(map[string]string{"KYCFLOW_DEV": "1", "BRIDGE_PUBLIC_ADDR": "0.0.0.0:8080"}))
	assert.ErrorContains(t, err, "BRIDGE_PUBLIC_ADDR")
}

// TestParkedToolsNeedOnlyRedis: dead-letters, unrouted and held read and
// write Redis streams only: they run without the listeners' addresses, the
// tokens, Mangopay or a payload key, in production mode too, and report
// every error of what they do read at once.
func TestParkedToolsNeedOnlyRedis(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, cmd := range []string{"dead-letters", "unrouted", "held"} {
		p := processOf([]string{cmd, "list"})
		require.Equal(t, config.Parked, p, cmd)
		e, err := loadConfig(p, env(map[string]string{"REDIS_URL": "redis://redis.internal:6379/2", "REDIS_KEY_PREFIX": "kyc-prod"}))
		require.NoError(t, err, cmd)
		assert.Equal(t, "redis://redis.internal:6379/2", e.Get("REDIS_URL"))
		assert.Equal(t, "kyc-prod", e.Get("REDIS_KEY_PREFIX"))
	}
	_, err := loadConfig(config.Parked, env(map[string]string{"REDIS_URL": "http://nope", "REDIS_KEY_PREFIX": "a b", "LOG_LEVEL": "loud"}))
	require.Error(t, err)
	for _, name := range []string{"REDIS_URL", "REDIS_KEY_PREFIX", "LOG_LEVEL"} {
		assert.Contains(t, err.Error(), name, "every error at once")
	}
	assert.Equal(t, config.Bridge, processOf(nil))
	assert.Equal(t, config.Codec, processOf([]string{"codec"}))
}
