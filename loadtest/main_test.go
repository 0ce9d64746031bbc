package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/devstack/stack"
	"github.com/kycflow/kycflow/loadtest/harness"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

func TestParseFlagsTarget(t *testing.T) {
	const api = "http://127.0.0.1:18081"
	custom := []string{"--target", api, "--api-token", "tok-0123456789abcdef", "--mangopay-url", "http://127.0.0.1:18090",
		"--mangopay-client-id", "cid", "--mangopay-api-key", "key", "--budget-rate", "10", "--budget-burst", "20"}
	with := func(extra ...string) []string { return append(append([]string(nil), custom...), extra...) }
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		err   string
		check func(t *testing.T, cfg harness.Config)
	}{
		{name: "dev preset from make dev's own settings", args: []string{"--target", "dev"}, check: func(t *testing.T, cfg harness.Config) {
			dev := stack.DevOptions()
			tg := cfg.Target
			assert.Equal(t, "http://"+dev.BridgeInternalAddr, tg.APIURL)
			assert.Equal(t, bridge.DevAPIToken, tg.APIToken)
			assert.Equal(t, "http://"+dev.SimAddr, tg.MangopayURL)
			assert.Equal(t, tg.MangopayURL, tg.SimURL)
			assert.Equal(t, sandbox.DefaultClientID, tg.ClientID)
			assert.Equal(t, dev.TemporalHostPort, tg.TemporalAddr)
			assert.Equal(t, []string{tg.APIURL + "/metrics"}, tg.BridgeMetrics)
			assert.Empty(t, tg.NotifyListen, "make dev notifies its stand-in platform unless told otherwise: poll")
			assert.Equal(t, harness.TargetDefaultFaults, cfg.Chaos.Kinds, "--chaos all is every fault the simulator makes, but dropped webhooks")
		}},
		{name: "dev preset ignores the environment's API token", args: []string{"--target", "dev"}, env: map[string]string{"PLATFORM_API_TOKEN": "prod-token-0123456789"},
			check: func(t *testing.T, cfg harness.Config) { assert.Equal(t, bridge.DevAPIToken, cfg.Target.APIToken) }},
		{name: "custom target", args: with("--notify-listen", "127.0.0.1:18096", "--chaos", "mangopay-5xx,webhooks-dropped"),
			env: map[string]string{"PLATFORM_WEBHOOK_SECRET": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, check: func(t *testing.T, cfg harness.Config) {
				assert.Equal(t, api, cfg.Target.APIURL)
				assert.Equal(t, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", cfg.Target.NotifySecret, "the secret comes from the environment")
				assert.Equal(t, "http://127.0.0.1:18090", cfg.Target.SimURL)
				assert.Empty(t, cfg.Target.TemporalAddr)
				assert.Equal(t, []harness.Fault{harness.Fault5xx, harness.FaultWebhooksDropped}, cfg.Chaos.Kinds)
			}},
		{name: "token from the environment", args: []string{"--target", api, "--mangopay-url", "http://127.0.0.1:18090", "--mangopay-client-id", "c",
			"--mangopay-api-key", "k", "--budget-rate", "10", "--budget-burst", "20"}, env: map[string]string{"PLATFORM_API_TOKEN": "env-token-0123456789"},
			check: func(t *testing.T, cfg harness.Config) { assert.Equal(t, "env-token-0123456789", cfg.Target.APIToken) }},

		{name: "polling leaves the notified paths out of the default mix", args: []string{"--target", "dev"}, check: func(t *testing.T, cfg harness.Config) {
			cfg.Defaults()
			require.NoError(t, cfg.Validate())
			for _, p := range harness.NotifiedPaths {
				assert.Zero(t, cfg.Mix[p], "%s is followed through notifications", p)
			}
			assert.Positive(t, cfg.Mix[harness.PathExpired])
		}},
		{name: "notified: the whole default mix", args: with("--notify-listen", "127.0.0.1:18096", "--notify-secret", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
			check: func(t *testing.T, cfg harness.Config) {
				cfg.Defaults()
				assert.Equal(t, harness.DefaultMix(), cfg.Mix)
			}},
		{name: "a notified path asked for while polling", args: []string{"--target", "dev", "--mix", "validated=1,business-pscs=1"},
			err: "--mix business-pscs: needs the deployment to notify the harness"},
		{name: "worker kill refused", args: []string{"--target", "dev", "--chaos", "worker-kill"}, err: "--chaos worker-kill: refused with --target"},
		{name: "bridge kill refused", args: []string{"--target", "dev", "--chaos", "mangopay-5xx,bridge-kill"}, err: "--chaos bridge-kill: refused"},
		{name: "redis restart refused", args: []string{"--target", "dev", "--chaos", "redis-restart"}, err: "--chaos redis-restart: refused"},
		{name: "temporal restart refused", args: []string{"--target", "dev", "--chaos", "temporal-restart"}, err: "--chaos temporal-restart: refused"},
		{name: "no budget for a deployment the harness does not know", args: custom[:len(custom)-4], err: "--budget-rate and --budget-burst are required with --target"},
		{name: "not a URL", args: []string{"--target", "prod", "--api-token", "t", "--mangopay-url", "x", "--mangopay-client-id", "c", "--mangopay-api-key", "k"},
			err: `--target (dev, or the platform API's URL) "prod" is not an http(s) URL`},
		{name: "no token", args: []string{"--target", api, "--mangopay-url", "http://127.0.0.1:18090", "--mangopay-client-id", "c", "--mangopay-api-key", "k"},
			err: "--api-token (or PLATFORM_API_TOKEN) is required"},
		{name: "no Mangopay", args: []string{"--target", api, "--api-token", "t"}, err: "--mangopay-url is required"},
		{name: "no credentials", args: []string{"--target", api, "--api-token", "t", "--mangopay-url", "http://127.0.0.1:18090"},
			err: "--mangopay-client-id and --mangopay-api-key are required"},
		{name: "listen without a secret", args: with("--notify-listen", "127.0.0.1:18096"), err: "--notify-listen needs --notify-secret"},
		{name: "a raw notification secret", args: with("--notify-listen", "127.0.0.1:18096", "--notify-secret", "secret-0123456789abcdef"),
			err: "--notify-secret (or PLATFORM_WEBHOOK_SECRET): secret 1 of 1 has no whsec_ prefix"},
		{name: "listen on no address", args: with("--notify-listen", "18096", "--notify-secret", "s"), err: `--notify-listen "18096" is not host:port`},
		{name: "bad Temporal address", args: with("--temporal-address", "temporal"), err: `--temporal-address "temporal" is not host:port`},
		{name: "bad metrics URL", args: with("--bridge-metrics", "127.0.0.1:8081/metrics"), err: "--bridge-metrics"},
		{name: "workers of the harness's own", args: []string{"--target", "dev", "--workers", "3"}, err: "not --target"},
		{name: "pprof", args: []string{"--target", "dev", "--pprof", "/tmp/p"}, err: "--pprof is refused with --target"},
		{name: "target flag without a target", args: []string{"--notify-listen", "127.0.0.1:18096"}, err: "--notify-listen needs --target"},
		{name: "Temporal address without a target", args: []string{"--temporal-address", "127.0.0.1:7233"}, err: "--temporal-address needs --target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			cfg, _, err := parseFlags(tc.args, getenv)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, cfg.Target)
			tc.check(t, cfg)
		})
	}
}

// Without --target, nothing of target mode is set and --chaos all is
// every fault kind.
func TestParseFlagsOwnSystem(t *testing.T) {
	cfg, _, err := parseFlags([]string{"--users", "3"}, func(string) string { return "" })
	if err != nil && strings.Contains(err.Error(), "redis-server") {
		t.Skip("no redis-server on this machine: " + err.Error())
	}
	require.NoError(t, err)
	assert.Nil(t, cfg.Target)
	assert.Equal(t, harness.DefaultFaults, cfg.Chaos.Kinds)
}
