package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/mangopay"
)

// with returns production() changed by kv pairs ("" deletes).
func with(kv ...string) map[string]string {
	m := production()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// dev is a development environment changed by kv pairs.
func dev(kv ...string) map[string]string {
	m := map[string]string{config.DevSwitch: "1"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestProductionIsAccepted: a complete production environment starts every
// service; the development environment starts them too.
func TestProductionIsAccepted(t *testing.T) {
	for _, p := range []config.Process{config.Worker, config.Bridge, config.Codec, config.Starter, config.Sim} {
		_, err := config.Load(p, env(production()))
		assert.NoError(t, err, "%s in production", p)
	}
	for _, p := range []config.Process{config.Worker, config.Bridge, config.Starter, config.Devstack, config.Sim} {
		_, err := config.Load(p, env(dev()))
		assert.NoError(t, err, "%s in development", p)
	}
}

// TestProductionFailsClosed: outside KYCFLOW_DEV=1 a process refuses to
// start, naming the variable, instead of falling back to the published
// development credentials on http://127.0.0.1:8090, storing PII in clear in
// Temporal, or sending notifications and Mangopay's webhooks over http.
func TestProductionFailsClosed(t *testing.T) {
	tests := []struct {
		name      string
		processes []config.Process
		env       map[string]string
		wantVar   string
	}{
		{"no Mangopay base URL", []config.Process{config.Worker, config.Bridge}, with("MANGOPAY_BASE_URL", ""), "MANGOPAY_BASE_URL"},
		{"no Mangopay client id", []config.Process{config.Worker, config.Bridge}, with("MANGOPAY_CLIENT_ID", ""), "MANGOPAY_CLIENT_ID"},
		{"no Mangopay API key", []config.Process{config.Worker, config.Bridge}, with("MANGOPAY_API_KEY", ""), "MANGOPAY_API_KEY"},
		{"no Mangopay settings at all", []config.Process{config.Worker, config.Bridge},
			with("MANGOPAY_BASE_URL", "", "MANGOPAY_CLIENT_ID", "", "MANGOPAY_API_KEY", ""), "MANGOPAY_CLIENT_ID"},
		{"no payload key", []config.Process{config.Worker, config.Bridge, config.Starter}, with("PAYLOAD_ENCRYPTION_KEY", ""), "PAYLOAD_ENCRYPTION_KEY"},
		{"payload encryption off, with a key", []config.Process{config.Worker, config.Bridge, config.Starter},
			with("PAYLOAD_ENCRYPTION", "off"), "PAYLOAD_ENCRYPTION"},
		{"notifications over http", []config.Process{config.Worker}, with("PLATFORM_WEBHOOK_URL", "http://platform.example/kycflow/events"), "PLATFORM_WEBHOOK_URL"},
		{"hook URL over http at live Mangopay", []config.Process{config.Bridge},
			with("BRIDGE_PUBLIC_URL", "http://kyc-hooks.platform.example"), "BRIDGE_PUBLIC_URL"},
		{"hook URL over http at the Sandbox", []config.Process{config.Bridge},
			with("MANGOPAY_BASE_URL", mangopay.SandboxURL, "BRIDGE_PUBLIC_URL", "http://kyc-hooks.platform.example"), "BRIDGE_PUBLIC_URL"},
		{"no hook URL at live Mangopay (http://<listener>)", []config.Process{config.Bridge}, with("BRIDGE_PUBLIC_URL", ""), "BRIDGE_PUBLIC_URL"},
	}
	for _, tt := range tests {
		for _, p := range tt.processes {
			t.Run(tt.name+"/"+string(p), func(t *testing.T) {
				_, err := config.Load(p, env(tt.env))
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantVar+":", "the error names the variable")
			})
		}
	}
}

// TestProductionOptOuts: what production may do on purpose.
func TestProductionOptOuts(t *testing.T) {
	t.Run("payloads in clear, said so", func(t *testing.T) {
		for _, p := range []config.Process{config.Worker, config.Bridge, config.Starter} {
			_, err := config.Load(p, env(with("PAYLOAD_ENCRYPTION_KEY", "", "CODEC_SERVER_TOKEN", "", "PAYLOAD_ENCRYPTION", "off")))
			assert.NoError(t, err, p)
		}
	})
	t.Run("no notifications", func(t *testing.T) {
		_, err := config.Load(config.Worker, env(with("PLATFORM_WEBHOOK_URL", "", "PLATFORM_WEBHOOK_SECRET", "")))
		assert.NoError(t, err)
	})
	t.Run("a simulator over http (compose's sandbox profile)", func(t *testing.T) {
		vars := with("MANGOPAY_BASE_URL", "http://mangopaysim:8090", "BRIDGE_PUBLIC_URL", "http://webhookbridge:8080")
		for _, p := range []config.Process{config.Worker, config.Bridge} {
			_, err := config.Load(p, env(vars))
			assert.NoError(t, err, p)
		}
	})
}

// TestDevelopmentStaysLocal: KYCFLOW_DEV=1 is refused against live
// Mangopay and on a listener other machines can reach.
func TestDevelopmentStaysLocal(t *testing.T) {
	for _, host := range []string{mangopay.ProductionURL, mangopay.SandboxURL, mangopay.ProductionMTLSURL, mangopay.SandboxMTLSURL, "https://API.Mangopay.com/"} {
		for _, p := range []config.Process{config.Worker, config.Bridge, config.Starter} {
			t.Run(host+"/"+string(p), func(t *testing.T) {
				_, err := config.Load(p, env(dev("MANGOPAY_BASE_URL", host)))
				require.Error(t, err)
				assert.Contains(t, err.Error(), "MANGOPAY_BASE_URL:")
				assert.Contains(t, err.Error(), config.DevSwitch)
			})
		}
	}
	listeners := []struct {
		process     config.Process
		name, value string
	}{
		{config.Bridge, "BRIDGE_PUBLIC_ADDR", ":8080"},
		{config.Bridge, "BRIDGE_PUBLIC_ADDR", "0.0.0.0:8080"},
		{config.Bridge, "BRIDGE_INTERNAL_ADDR", "10.0.0.5:8081"},
		{config.Worker, "WORKER_HTTP_ADDR", "[::]:9091"},
		{config.Codec, "CODEC_SERVER_ADDR", "192.168.1.2:8089"},
	}
	for _, l := range listeners {
		t.Run(l.name+"="+l.value, func(t *testing.T) {
			_, err := config.Load(l.process, env(dev(l.name, l.value)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), l.name+":")
		})
	}
	for _, ok := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.0.0.2:0"} {
		_, err := config.Load(config.Bridge, env(dev("BRIDGE_PUBLIC_ADDR", ok)))
		assert.NoError(t, err, ok)
	}
}

// TestEveryRuleAtOnce: a production environment with nothing set names
// every missing variable in one answer.
func TestEveryRuleAtOnce(t *testing.T) {
	_, err := config.Load(config.Bridge, env(map[string]string{}))
	require.Error(t, err)
	for _, name := range []string{"MANGOPAY_BASE_URL", "MANGOPAY_CLIENT_ID", "MANGOPAY_API_KEY", "PAYLOAD_ENCRYPTION_KEY",
		"WEBHOOK_PATH_TOKEN", "PLATFORM_API_TOKEN", "BRIDGE_PUBLIC_ADDR"} {
		assert.Contains(t, err.Error(), name+":")
	}
}
