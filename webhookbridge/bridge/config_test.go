package bridge_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookbridge/platformapi"
)

// env is a getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// bridgeFields keeps the settings of the intake, the forwarder and the
// platform API, the ones these tests are about; the codec server's
// settings (CodecOrigins, CodecToken) are left out.
func bridgeFields(c bridge.Config) bridge.Config {
	return bridge.Config{
		PathToken: c.PathToken, APIToken: c.APIToken, PublicAddr: c.PublicAddr, InternalAddr: c.InternalAddr,
		PublicURL: c.PublicURL, TrustedProxies: c.TrustedProxies, RedisURL: c.RedisURL, RestartReturnURL: c.RestartReturnURL,
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	got, err := bridge.LoadConfig(env(map[string]string{bridge.DevSwitch: "1"}))
	require.NoError(t, err, "with the development switch no other setting is needed")
	want := bridge.Config{
		PathToken: bridge.DevPathToken, APIToken: bridge.DevAPIToken,
		PublicAddr: "127.0.0.1:8080", InternalAddr: "127.0.0.1:8081",
		PublicURL: "http://127.0.0.1:8080", RedisURL: "redis://127.0.0.1:6379/0",
	}
	assert.Equal(t, want, bridgeFields(got))
	assert.True(t, got.Dev)
	assert.Equal(t, "http://127.0.0.1:8080/webhooks/mangopay/"+bridge.DevPathToken, got.WebhookURL())
}

// TestLoadConfigRefusesDevelopmentSecrets: the development tokens are
// published in the source, so without the development switch the bridge
// refuses to start on them, or with no tokens, or with no explicit public
// address (the old default listened on all interfaces).
func TestLoadConfigRefusesDevelopmentSecrets(t *testing.T) {
	secrets := map[string]string{"WEBHOOK_PATH_TOKEN": testPathToken, "PLATFORM_API_TOKEN": testAPIToken, "BRIDGE_PUBLIC_ADDR": ":8080"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range secrets {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		vars  map[string]string
		wants []string
	}{
		{"nothing set", nil, []string{"WEBHOOK_PATH_TOKEN is required", "PLATFORM_API_TOKEN is required", "BRIDGE_PUBLIC_ADDR is required", bridge.DevSwitch}},
		{"no path token", with("WEBHOOK_PATH_TOKEN", ""), []string{"WEBHOOK_PATH_TOKEN is required"}},
		{"no API token", with("PLATFORM_API_TOKEN", ""), []string{"PLATFORM_API_TOKEN is required"}},
		{"no public address", with("BRIDGE_PUBLIC_ADDR", ""), []string{"BRIDGE_PUBLIC_ADDR is required"}},
		{"development path token", with("WEBHOOK_PATH_TOKEN", bridge.DevPathToken), []string{"WEBHOOK_PATH_TOKEN is the published development token"}},
		{"development API token", with("PLATFORM_API_TOKEN", bridge.DevAPIToken), []string{"PLATFORM_API_TOKEN is the published development token"}},
		{"payload key, codec without a token", with("PAYLOAD_ENCRYPTION_KEY", strings.Repeat("ab", 32)), []string{"CODEC_SERVER_TOKEN is required"}},
		{"switch off", with(bridge.DevSwitch, "0"), nil},
		{"switch misspelt", with(bridge.DevSwitch, "yes please"), []string{bridge.DevSwitch + " must be 1 or 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bridge.LoadConfig(env(tt.vars))
			if tt.wants == nil {
				require.NoError(t, err)
				assert.False(t, got.Dev)
				return
			}
			require.Error(t, err, "LoadConfig(%v) must refuse", tt.vars)
			for _, w := range tt.wants {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "BRIDGE_PUBLIC_URL", "no follow-on error about the URL derived from the address")
		})
	}
	t.Run("payload key and codec token", func(t *testing.T) {
		vars := with("PAYLOAD_ENCRYPTION_KEY", strings.Repeat("ab", 32))
		vars["CODEC_SERVER_TOKEN"] = "codec-token-0123456789"
		_, err := bridge.LoadConfig(env(vars))
		require.NoError(t, err)
		vars["CODEC_SERVER_TOKEN"] = "short-secret"
		_, err = bridge.LoadConfig(env(vars))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "short-secret")
	})
	t.Run(bridge.DevSwitch+" allows the codec without a token (it then refuses every request)", func(t *testing.T) {
		_, err := bridge.LoadConfig(env(map[string]string{bridge.DevSwitch: "1", "PAYLOAD_ENCRYPTION_KEY": strings.Repeat("ab", 32)}))
		require.NoError(t, err)
	})
	t.Run("real secrets start", func(t *testing.T) {
		got, err := bridge.LoadConfig(env(secrets))
		require.NoError(t, err)
		assert.False(t, got.Dev)
		assert.Equal(t, ":8080", got.PublicAddr, "listening on all interfaces is allowed when asked for")
	})
}

func TestLoadConfigSettings(t *testing.T) {
	got, err := bridge.LoadConfig(env(map[string]string{
		"WEBHOOK_PATH_TOKEN":        "  " + testPathToken + "  ",
		"PLATFORM_API_TOKEN":        testAPIToken,
		"BRIDGE_PUBLIC_ADDR":        "0.0.0.0:9080",
		"BRIDGE_INTERNAL_ADDR":      "127.0.0.1:9081",
		"BRIDGE_PUBLIC_URL":         "https://hooks.platform.example/",
		"BRIDGE_TRUSTED_PROXIES":    "10.0.0.0/8, 192.168.1.1",
		"REDIS_URL":                 "rediss://:secret@redis.internal:6380/2",
		"BRIDGE_RESTART_RETURN_URL": "https://platform.example/kyc/again",
	}))
	require.NoError(t, err)
	assert.Equal(t, bridge.Config{
		PathToken: testPathToken, APIToken: testAPIToken, PublicAddr: "0.0.0.0:9080", InternalAddr: "127.0.0.1:9081",
		PublicURL: "https://hooks.platform.example/", TrustedProxies: []string{"10.0.0.0/8", "192.168.1.1"},
		RedisURL: "rediss://:secret@redis.internal:6380/2", RestartReturnURL: "https://platform.example/kyc/again",
	}, bridgeFields(got))
	assert.Equal(t, "https://hooks.platform.example/webhooks/mangopay/"+testPathToken, got.WebhookURL())

	t.Run("public URL follows a wildcard public address", func(t *testing.T) {
		got, err := bridge.LoadConfig(env(map[string]string{bridge.DevSwitch: "1", "BRIDGE_PUBLIC_ADDR": "[::]:7000"}))
		require.NoError(t, err)
		assert.Equal(t, "http://127.0.0.1:7000", got.PublicURL)
	})
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		wants []string // parts of the error message
		never string   // must not appear in the message (a secret)
	}{
		{name: "path token too short", vars: map[string]string{"WEBHOOK_PATH_TOKEN": "short"}, wants: []string{"WEBHOOK_PATH_TOKEN"}},
		{name: "path token too long", vars: map[string]string{"WEBHOOK_PATH_TOKEN": strings.Repeat("t", 129)}, wants: []string{"WEBHOOK_PATH_TOKEN"}},
		{name: "path token unsafe in a URL", vars: map[string]string{"WEBHOOK_PATH_TOKEN": "0123456789abcdef/../x"}, wants: []string{"WEBHOOK_PATH_TOKEN"}, never: "0123456789abcdef"},
		{name: "API token too short", vars: map[string]string{"PLATFORM_API_TOKEN": "tiny-secret"}, wants: []string{"PLATFORM_API_TOKEN"}, never: "tiny-secret"},
		{name: "public address without port", vars: map[string]string{"BRIDGE_PUBLIC_ADDR": "8080"}, wants: []string{"BRIDGE_PUBLIC_ADDR", "host:port"}},
		{name: "internal address without port", vars: map[string]string{"BRIDGE_INTERNAL_ADDR": "localhost"}, wants: []string{"BRIDGE_INTERNAL_ADDR", "host:port"}},
		{name: "public URL not http", vars: map[string]string{"BRIDGE_PUBLIC_URL": "ftp://hooks.example"}, wants: []string{"BRIDGE_PUBLIC_URL"}},
		{name: "public URL without host", vars: map[string]string{"BRIDGE_PUBLIC_URL": "https://"}, wants: []string{"BRIDGE_PUBLIC_URL"}},
		{name: "public URL relative", vars: map[string]string{"BRIDGE_PUBLIC_URL": "hooks.example/x"}, wants: []string{"BRIDGE_PUBLIC_URL"}},
		{name: "restart return URL not http", vars: map[string]string{"BRIDGE_RESTART_RETURN_URL": "javascript:alert(1)"}, wants: []string{"BRIDGE_RESTART_RETURN_URL"}},
		{name: "redis URL without scheme", vars: map[string]string{"REDIS_URL": "127.0.0.1:6379"}, wants: []string{"REDIS_URL"}},
		{name: "redis URL of another scheme", vars: map[string]string{"REDIS_URL": "http://127.0.0.1:6379/0"}, wants: []string{"REDIS_URL"}},
		{name: "redis URL with a bad database", vars: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/zero"}, wants: []string{"REDIS_URL"}},
		{name: "redis URL unparsable, password kept out", vars: map[string]string{"REDIS_URL": "redis://:hunter2 x@127.0.0.1:6379/0"}, wants: []string{"REDIS_URL"}, never: "hunter2"},
		{name: "trusted proxy not an IP", vars: map[string]string{"BRIDGE_TRUSTED_PROXIES": "proxy.internal"}, wants: []string{"BRIDGE_TRUSTED_PROXIES", "proxy.internal"}},
		{name: "trusted proxies with an empty entry", vars: map[string]string{"BRIDGE_TRUSTED_PROXIES": "10.0.0.1,"}, wants: []string{"BRIDGE_TRUSTED_PROXIES"}},
		{name: "trusted proxy bad CIDR", vars: map[string]string{"BRIDGE_TRUSTED_PROXIES": "10.0.0.0/33"}, wants: []string{"BRIDGE_TRUSTED_PROXIES", "10.0.0.0/33"}},
		{name: "codec origin with a path", vars: map[string]string{"CODEC_ALLOWED_ORIGINS": "http://127.0.0.1:8233/ui"}, wants: []string{"CODEC_ALLOWED_ORIGINS"}},
		{name: "codec origin without scheme", vars: map[string]string{"CODEC_ALLOWED_ORIGINS": "127.0.0.1:8233"}, wants: []string{"CODEC_ALLOWED_ORIGINS"}},
		{name: "an old path token too short", vars: map[string]string{"WEBHOOK_PATH_TOKEN": testPathToken + ",short"}, wants: []string{"WEBHOOK_PATH_TOKEN", "token 2 of 2"}},
		{name: "an old API token too short", vars: map[string]string{"PLATFORM_API_TOKEN": testAPIToken + ",tiny-secret"}, wants: []string{"PLATFORM_API_TOKEN"}, never: "tiny-secret"},
		{name: "operator token without a name", vars: map[string]string{"OPERATOR_API_TOKENS": "test-operator-token-0123456789"}, wants: []string{"OPERATOR_API_TOKENS", "name=token"}, never: "0123456789"},
		{name: "operator token too short", vars: map[string]string{"OPERATOR_API_TOKENS": "alice=short-one"}, wants: []string{"OPERATOR_API_TOKENS", "alice"}, never: "short-one"},
		{name: "operator name unsafe", vars: map[string]string{"OPERATOR_API_TOKENS": "al ice=test-operator-token-0123456789"}, wants: []string{"OPERATOR_API_TOKENS"}, never: "0123456789"},
		{name: "operator token is the platform's", vars: map[string]string{"OPERATOR_API_TOKENS": "alice=" + testAPIToken, "PLATFORM_API_TOKEN": testAPIToken}, wants: []string{"OPERATOR_API_TOKENS", "PLATFORM_API_TOKEN"}, never: testAPIToken},
		{name: "two operators share a token", vars: map[string]string{"OPERATOR_API_TOKENS": "alice=test-operator-token-0123456789,bob=test-operator-token-0123456789"},
			wants: []string{"OPERATOR_API_TOKENS", "alice", "bob"}, never: "0123456789"},
		{name: "every error reported at once", vars: map[string]string{"WEBHOOK_PATH_TOKEN": "x", "PLATFORM_API_TOKEN": "y", "BRIDGE_PUBLIC_ADDR": "z", "REDIS_URL": "w"},
			wants: []string{"WEBHOOK_PATH_TOKEN", "PLATFORM_API_TOKEN", "BRIDGE_PUBLIC_ADDR", "REDIS_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bridge.LoadConfig(env(tt.vars))
			require.Error(t, err, "LoadConfig(%v) should fail", tt.vars)
			for _, w := range tt.wants {
				assert.Contains(t, err.Error(), w)
			}
			if tt.never != "" {
				assert.NotContains(t, err.Error(), tt.never, "a secret leaked into the error")
			}
		})
	}
}

// TestLoadConfigTokenLists: WEBHOOK_PATH_TOKEN and PLATFORM_API_TOKEN list
// the new token first and the old one after it during a rotation: the first
// is the one kycflow hands out (the webhook URL registered at Mangopay),
// the others are still accepted; OPERATOR_API_TOKENS names each operator.
func TestLoadConfigTokenLists(t *testing.T) {
	got, err := bridge.LoadConfig(env(map[string]string{
		"WEBHOOK_PATH_TOKEN": "path-token-new-0123456789, path-token-old-0123456789", "BRIDGE_PUBLIC_ADDR": ":8080",
		"PLATFORM_API_TOKEN":  "api-token-new-0123456789,api-token-old-0123456789",
		"OPERATOR_API_TOKENS": "alice=operator-token-alice-new-01, bob=operator-token-bob-0123456,alice=operator-token-alice-old-01",
	}))
	require.NoError(t, err)
	assert.Equal(t, "path-token-new-0123456789", got.PathToken)
	assert.Equal(t, []string{"path-token-old-0123456789"}, got.OldPathTokens)
	assert.Equal(t, "api-token-new-0123456789", got.APIToken)
	assert.Equal(t, []string{"api-token-old-0123456789"}, got.OldAPITokens)
	assert.Equal(t, []platformapi.OperatorToken{{Name: "alice", Token: "operator-token-alice-new-01"}, {Name: "bob", Token: "operator-token-bob-0123456"},
		{Name: "alice", Token: "operator-token-alice-old-01"}}, got.Operators)
	assert.Equal(t, "http://127.0.0.1:8080/webhooks/mangopay/path-token-new-0123456789", got.WebhookURL())
}

// TestLoadConfigConsumerName: the bridge's name in the consumer group is
// stable across restarts (the host name, not host-pid, which left an orphan
// consumer at every restart) and can be set.
func TestLoadConfigConsumerName(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	got, err := bridge.LoadConfig(env(map[string]string{bridge.DevSwitch: "1"}))
	require.NoError(t, err)
	assert.Equal(t, host, got.ConsumerName)

	got, err = bridge.LoadConfig(env(map[string]string{bridge.DevSwitch: "1", "BRIDGE_CONSUMER_NAME": "bridge-0.eu"}))
	require.NoError(t, err)
	assert.Equal(t, "bridge-0.eu", got.ConsumerName)

	for _, bad := range []string{"two words", "a/b", strings.Repeat("x", 129)} {
		_, err = bridge.LoadConfig(env(map[string]string{"BRIDGE_CONSUMER_NAME": bad}))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "BRIDGE_CONSUMER_NAME")
	}
}
