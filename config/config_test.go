package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/devstack/stack"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

// env is a getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// production is a complete, valid production environment of every
// process; tests change one thing at a time.
func production() map[string]string {
	return map[string]string{
		"MANGOPAY_BASE_URL": mangopay.ProductionURL, "MANGOPAY_CLIENT_ID": "platform-client", "MANGOPAY_API_KEY": strings.Repeat("k", 40),
		"PAYLOAD_ENCRYPTION_KEY": strings.Repeat("ab", 32), "CODEC_SERVER_TOKEN": strings.Repeat("c", 32),
		"WEBHOOK_PATH_TOKEN": strings.Repeat("p", 32), "PLATFORM_API_TOKEN": strings.Repeat("t", 32),
		"BRIDGE_PUBLIC_ADDR": ":8080", "BRIDGE_PUBLIC_URL": "https://kyc-hooks.platform.example",
		"PLATFORM_WEBHOOK_URL": "https://platform.example/kycflow/events", "PLATFORM_WEBHOOK_SECRET": "whsec_a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
		"REDIS_URL": "redis://:hunter2hunter2@redis.internal:6379/0",
	}
}

// TestDocsAreGenerated: docs/configuration.md is what the declarations
// generate (go generate ./config, or make config-docs, rewrites it).
func TestDocsAreGenerated(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", config.DocPath))
	require.NoError(t, err, "run go generate ./config")
	assert.True(t, bytes.Equal(config.Markdown(), got),
		"%s differs from the declarations in config/vars.go: run go generate ./config (make config-docs)", config.DocPath)
	for _, v := range config.Vars {
		assert.Contains(t, string(got), "`"+v.Name+"`", "every variable is documented")
	}
}

// TestEveryVariableIsDeclaredOnce, with a reader and a meaning.
func TestEveryVariableIsDeclaredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range config.Vars {
		assert.False(t, seen[v.Name], "%s declared twice", v.Name)
		seen[v.Name] = true
		assert.NotEmpty(t, v.Readers, v.Name)
		assert.NotEmpty(t, v.Meaning, v.Name)
		assert.NotEmpty(t, v.Type, v.Name)
	}
}

// TestDefaultsMatchTheCode: the declared defaults are the ones the
// packages had before the declarations (their constants stay for their
// tests and callers): moving onto one configuration changed none.
func TestDefaultsMatchTheCode(t *testing.T) {
	def := func(name string, p config.Process, dev bool) string {
		e, _ := config.Load(p, env(map[string]string{config.DevSwitch: map[bool]string{true: "1", false: ""}[dev]}))
		return e.Get(name)
	}
	assert.Equal(t, bridge.DevPathToken, def("WEBHOOK_PATH_TOKEN", config.Bridge, true))
	assert.Equal(t, bridge.DevAPIToken, def("PLATFORM_API_TOKEN", config.Bridge, true))
	assert.Equal(t, bridge.DevPublicAddr, def("BRIDGE_PUBLIC_ADDR", config.Bridge, true))
	assert.Empty(t, def("BRIDGE_PUBLIC_ADDR", config.Bridge, false))
	assert.Equal(t, mangopay.LocalSimulatorURL, def("MANGOPAY_BASE_URL", config.Worker, true))
	assert.Equal(t, mangopay.DevClientID, def("MANGOPAY_CLIENT_ID", config.Worker, true))
	assert.Equal(t, mangopay.DevAPIKey, def("MANGOPAY_API_KEY", config.Bridge, true))
	assert.Equal(t, sandbox.DefaultClientID, def("MANGOPAY_CLIENT_ID", config.Sim, false))
	assert.Equal(t, sandbox.DefaultAPIKey, def("MANGOPAY_API_KEY", config.Sim, false))
	assert.Equal(t, sandbox.DefaultAddr, def("MANGOPAY_SIM_ADDR", config.Sim, false))
	assert.Equal(t, payloadcodec.DefaultServerAddr, def("CODEC_SERVER_ADDR", config.Codec, false))
	assert.Equal(t, reconcile.DefaultEvery.String(), (mustDuration(t, def("RECONCILE_EVENTS_EVERY", config.Worker, false))).String())
	assert.Equal(t, strconv.Itoa(bridge.DefaultFallbackLookupsPerSec), def("BRIDGE_FALLBACK_LOOKUPS_PER_SECOND", config.Bridge, false))
	assert.Equal(t, "warn", def("LOG_LEVEL", config.Starter, false))
	assert.Equal(t, "info", def("LOG_LEVEL", config.Worker, false))
	assert.Empty(t, def("REDIS_URL", config.Devstack, true), "the dev stack embeds its Redis unless told")
	assert.Equal(t, "redis://127.0.0.1:6379/0", def("REDIS_URL", config.Worker, false))

	budget := func(p config.Process) callbudget.Config {
		e, _ := config.Load(p, env(map[string]string{config.DevSwitch: "1"}))
		c, err := callbudget.ConfigFromEnv(e.Get)
		require.NoError(t, err)
		return c
	}
	assert.Equal(t, callbudget.DefaultConfig(), budget(config.Worker))
	assert.Equal(t, stack.DevBudget, budget(config.Devstack))
}

func mustDuration(t *testing.T, s string) interface{ String() string } {
	t.Helper()
	c, err := reconcile.ConfigFromEnv(env(map[string]string{reconcile.EnvEvery: s}))
	require.NoError(t, err)
	return c.Every
}

// TestLoadReportsEveryError: all the errors at once, each naming its
// variable, never quoting a value.
func TestLoadReportsEveryError(t *testing.T) {
	vars := production()
	vars["WORKER_STICKY_CACHE_SIZE"] = "10k"
	vars["RECONCILE_EVENTS_EVERY"] = "10s"
	vars["LOG_LEVEL"] = "loud"
	vars["MANGOPAY_RATE_RESERVE"] = "1"
	vars["WORKER_HTTP_ADDR"] = "9091"
	_, err := config.Load(config.Worker, env(vars))
	require.Error(t, err)
	for _, name := range []string{"WORKER_STICKY_CACHE_SIZE", "RECONCILE_EVENTS_EVERY", "LOG_LEVEL", "MANGOPAY_RATE_RESERVE", "WORKER_HTTP_ADDR"} {
		assert.Contains(t, err.Error(), name+":")
	}
	assert.Len(t, strings.Split(err.Error(), "\n"), 5, "one line per error:\n%v", err)
}

// TestPrintRedactsSecrets: --print-config shows every variable the process
// reads and where its value came from, never a secret.
func TestPrintRedactsSecrets(t *testing.T) {
	vars := production()
	for _, p := range config.Processes {
		t.Run(string(p), func(t *testing.T) {
			e, _ := config.Load(p, env(vars))
			var out bytes.Buffer
			require.NoError(t, e.Print(&out))
			for _, v := range config.Vars {
				if !v.ReadBy(p) {
					assert.NotContains(t, out.String(), v.Name+"=", "%s does not read it", p)
					continue
				}
				assert.Contains(t, out.String(), v.Name+"=")
				if v.Secret && vars[v.Name] != "" {
					assert.NotContains(t, out.String(), vars[v.Name], "%s is a secret", v.Name)
				}
			}
			assert.NotContains(t, out.String(), "hunter2", "the Redis password is redacted")
		})
	}
	e, _ := config.Load(config.Worker, env(vars))
	var out bytes.Buffer
	require.NoError(t, e.Print(&out))
	assert.Contains(t, out.String(), "MANGOPAY_API_KEY="+config.Redacted)
	assert.Contains(t, out.String(), "REDIS_URL=redis://:"+config.Redacted+"@redis.internal:6379/0")
	assert.Regexp(t, `LOG_LEVEL=info\s+# default`, out.String())
	assert.Regexp(t, `MANGOPAY_BASE_URL=https://api.mangopay.com\s+# environment`, out.String())
}

func TestWantsPrint(t *testing.T) {
	assert.True(t, config.WantsPrint([]string{"--print-config"}))
	assert.True(t, config.WantsPrint([]string{"codec", "-print-config"}))
	assert.False(t, config.WantsPrint([]string{"dead-letters", "--", "--print-config"}))
	assert.False(t, config.WantsPrint(nil))
}

// TestPrintAndExit: --print-config prints and exits 0 on a valid
// configuration; on an invalid one it prints too, lists every error and
// exits 2.
func TestPrintAndExit(t *testing.T) {
	e, err := config.Load(config.Worker, env(production()))
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, config.PrintAndExit(e, err, &out, &errOut))
	assert.Contains(t, out.String(), "# worker configuration, production mode")
	assert.Empty(t, errOut.String())

	e, err = config.Load(config.Worker, env(map[string]string{}))
	out.Reset()
	assert.Equal(t, 2, config.PrintAndExit(e, err, &out, &errOut))
	assert.Contains(t, out.String(), "MANGOPAY_API_KEY=")
	assert.Contains(t, errOut.String(), "MANGOPAY_API_KEY:")
	assert.Contains(t, errOut.String(), "PAYLOAD_ENCRYPTION_KEY:")
}
