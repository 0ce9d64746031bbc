package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/pprofserve"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/worker/kycworker"
)

// TestDeclarationsAgreeWithTheParsers: the packages that parse a setting
// further keep their own checks (their tests and callers rely on them); at
// each boundary the declared range accepts what they accept and refuses
// what they refuse, so the generated reference tells the truth.
func TestDeclarationsAgreeWithTheParsers(t *testing.T) {
	worker := func(get func(string) string) error { _, err := kycworker.LoadConfig(get); return err }
	budget := func(get func(string) string) error { _, err := callbudget.ConfigFromEnv(get); return err }
	recon := func(get func(string) string) error { _, err := reconcile.ConfigFromEnv(get); return err }
	brdg := func(get func(string) string) error { _, err := bridge.LoadConfig(get); return err }
	pprof := func(get func(string) string) error { _, err := pprofserve.Addr(get); return err }
	tests := []struct {
		process config.Process
		name    string
		parse   func(func(string) string) error
		values  []string
	}{
		{config.Worker, "WORKER_STICKY_CACHE_SIZE", worker, []string{"0", "1", "1000000", "1000001", "10k"}},
		{config.Worker, "WORKER_WORKFLOW_POLLERS", worker, []string{"0", "1", "1000", "1001", "-2"}},
		{config.Worker, "WORKER_ACTIVITY_POLLERS", worker, []string{"0", "1", "1000", "1001", "two"}},
		{config.Worker, "WORKER_HTTP_ADDR", worker, []string{"9091", "127.0.0.1:9091"}},
		{config.Worker, "PLATFORM_WEBHOOK_URL", worker, []string{"p.example", "ftp://p.example", "http://127.0.0.1:1/x"}},
		{config.Worker, "RECONCILE_EVENTS_EVERY", recon, []string{"59s", "1m", "24h", "24h1s", "10"}},
		{config.Worker, "MANGOPAY_MAX_CALLS_PER_SECOND", budget, []string{"0", "0.0002", "0.00028", "1000", "1000.5", "x"}},
		{config.Worker, "MANGOPAY_MAX_BURST", budget, []string{"0", "1", "100000", "100001", "1.5"}},
		{config.Worker, "MANGOPAY_RATE_RESERVE", budget, []string{"-0.1", "0", "0.99", "1", "x"}},
		{config.Worker, "PPROF_ADDR", pprof, []string{"127.0.0.1:6060", "localhost:6060", "0.0.0.0:6060", ":6060", "6060"}},
		{config.Bridge, "BRIDGE_FALLBACK_LOOKUPS_PER_SECOND", brdg, []string{"0", "0.1", "1000", "1000.1", "x"}},
		{config.Bridge, "BRIDGE_RESTART_UNKNOWN_USERS", brdg, []string{"true", "0", "maybe"}},
		{config.Bridge, "BRIDGE_INTAKE_PER_CLIENT_PER_SECOND", brdg, []string{"-1", "0", "0.5", "100000", "100000.5", "x"}},
		{config.Bridge, "BRIDGE_INTAKE_PER_CLIENT_BURST", brdg, []string{"0", "1", "1000000", "1000001", "1.5"}},
		{config.Bridge, "BRIDGE_WEBHOOK_MAX_DATE_AHEAD", brdg, []string{"999ms", "1s", "30s", "31s", "5"}},
		{config.Bridge, "BRIDGE_INTERNAL_ADDR", brdg, []string{"8081", "127.0.0.1:8081"}},
		{config.Bridge, "BRIDGE_PUBLIC_URL", brdg, []string{"ftp://x", "hooks.example", "http://127.0.0.1:8080"}},
		{config.Bridge, "BRIDGE_RESTART_RETURN_URL", brdg, []string{"ftp://x", "https://p.example/done"}},
	}
	for _, tt := range tests {
		for _, v := range tt.values {
			t.Run(tt.name+"="+v, func(t *testing.T) {
				vars := map[string]string{config.DevSwitch: "1", tt.name: v}
				if tt.name == "PLATFORM_WEBHOOK_URL" {
					vars["PLATFORM_WEBHOOK_SECRET"] = "whsec_a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="
				}
				e, loadErr := config.Load(tt.process, env(vars))
				parseErr := tt.parse(e.Get)
				declared := names(loadErr)[tt.name]
				parsed := parseErr != nil && strings.Contains(parseErr.Error(), tt.name)
				assert.Equal(t, parsed, declared, "config.Load: %v\nparser: %v", loadErr, parseErr)
			})
		}
	}
}

// names are the variables a Load error names.
func names(err error) map[string]bool {
	out := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ce *config.Error
		if errors.As(err, &ce) {
			out[ce.Name] = true
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
