package bridge_test

import (
	"github.com/kycflow/kycflow/internal/promtooltest"

	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

// The operators' files shipped next to the code.
var (
	alertRulesFile = filepath.Join("..", "..", "ops", "prometheus", "kycflow-alerts.yml")
	// alertTestsFile holds promtool unit tests of the alert rules.
	alertTestsFile = filepath.Join("..", "..", "ops", "prometheus", "tests", "kycflow-alerts-flood.yml")
	dashboardFile  = filepath.Join("..", "..", "ops", "grafana", "kycflow-bridge.json")
)

// TestAlertRulesPassPromtool runs Prometheus's own checker over the alert
// rules. promtool comes with Debian's prometheus package, which .ci/run
// installs: locally the test skips without it, under CI it fails.
func TestAlertRulesPassPromtool(t *testing.T) {
	promtooltest.CheckRules(t, alertRulesFile)
}

// TestFloodAlertFires runs promtool's unit tests of the flood alert: it
// fires on a sustained flood of limited or unsubscribed webhooks and stays
// quiet on Mangopay's own traffic.
func TestFloodAlertFires(t *testing.T) {
	promtooltest.TestRules(t, alertTestsFile)
}

// metricRef finds metric names in PromQL and prose: the bridge's own and
// the Go client's runtime and process metrics.
var metricRef = regexp.MustCompile(`\b(?:kycflow|go|process)_[a-z0-9_]+\b`)

// TestOpsFilesNameExportedMetrics: every metric the alert rules and the
// dashboard query is one a running bridge exports, so a renamed metric
// cannot leave an alert that never fires or an empty panel.
func TestOpsFilesNameExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	require.Contains(t, exported, "kycflow_webhooks_received_total", "the registry was read")

	rules, err := os.ReadFile(alertRulesFile)
	require.NoError(t, err)
	for _, want := range []string{"kycflow_webhook_consumer_lag", "kycflow_webhook_oldest_pending_age_seconds",
		`stream="dead_letters"`, "kycflow_mangopay_hook_healthy",
		"kycflow_webhook_intake_limited_clients", `result=~"limited|unsubscribed"`} {
		assert.Contains(t, string(rules), want, "an alert the operators need is missing")
	}
	for _, name := range metricRef.FindAllString(string(rules), -1) {
		assert.True(t, exported[name], "the alert rules name %s, which the bridge does not export", name)
	}

	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash), "the dashboard is JSON Grafana can import")
	assert.NotEmpty(t, dash.Title)
	assert.NotEmpty(t, dash.UID)
	require.NotEmpty(t, dash.Panels)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			names := metricRef.FindAllString(tg.Expr, -1)
			assert.NotEmpty(t, names, "panel %q: query %q names no metric", p.Title, tg.Expr)
			for _, name := range names {
				assert.True(t, exported[name], "panel %q queries %s, which the bridge does not export", p.Title, name)
			}
		}
	}
}

// exportedMetrics runs a bridge as the command builds it (Redis, a
// simulator as Mangopay, the hooks registered), makes it see a Mangopay
// answer and list its hooks, and returns the names its /metrics serves,
// with the _bucket, _sum and _count series of histograms and summaries.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	rdb := newRedis(t)
	h := newHookSim(t)
	cfg := bridge.Config{PathToken: testPathToken, APIToken: testAPIToken, ConsumerName: "ops", PublicURL: "https://hooks.platform.example"}
	_, err := bridge.RegisterHooks(context.Background(), h.mp, cfg.WebhookURL())
	require.NoError(t, err)
	b := bridge.New(cfg, bridge.Deps{Redis: rdb, Temporal: strictTemporal(t), Mangopay: h.mp, Codec: testCodec, Logger: quietLogger()})
	serve(b.InternalRouter(), apiRequest("GET", "/v1/onboardings/bad.id", nil)) // a platform API series

	names := map[string]bool{}
	require.Eventually(t, func() bool {
		families, err := b.Metrics.Registry.Gather()
		require.NoError(t, err)
		clear(names)
		for _, f := range families {
			names[f.GetName()] = true
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY:
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[f.GetName()+s] = true
				}
			}
		}
		return names["kycflow_mangopay_hook_healthy"] && names["kycflow_mangopay_ratelimit_remaining"]
	}, waitFor, 50*time.Millisecond, "the hook check and the rate-limit figures appear once Mangopay has answered")
	return names
}
