package kycworker_test

import (
	"github.com/kycflow/kycflow/internal/promtooltest"

	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.yaml.in/yaml/v3"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/worker/kycworker"
)

// The worker's alert rules, and the runbook their alerts point to.
var (
	workerAlertRules = filepath.Join("..", "..", "ops", "prometheus", "kycflow-worker-alerts.yml")
	operationsDoc    = filepath.Join("..", "..", "docs", "operations.md")
)

// TestWorkerAlertRulesPassPromtool runs Prometheus's own checker over the
// worker's alert rules (promtool: as the bridge's rules, skipped locally
// without it, required under CI).
func TestWorkerAlertRulesPassPromtool(t *testing.T) {
	promtooltest.CheckRules(t, workerAlertRules)
}

// TestPlatformEndpointGoneAlert: a 410 Gone from the platform shows in the
// worker's /metrics under the names the alert rule queries, and the alert
// has its runbook section.
func TestPlatformEndpointGoneAlert(t *testing.T) {
	raw, err := os.ReadFile(workerAlertRules)
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &rules))
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
		}
	}
	require.Contains(t, alerts, "KycflowPlatformEndpointGone")
	require.Contains(t, alerts, "KycflowNotificationsHeld")

	m, err := kycworker.NewMetrics()
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }))
	t.Cleanup(srv.Close)
	keys, err := notify.ParseSecrets(notify.NewSecret())
	require.NoError(t, err)
	acts := &activities.Activities{Notifier: &notify.Notifier{URL: srv.URL, Secrets: keys}}
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(m.MetricsHandler)
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err = env.ExecuteActivity(acts.NotifyPlatform, activities.NotifyInput{Event: notify.Event{
		ID: "0123456789abcdef0123456789abcdef", Type: notify.OnboardingVerified, UserID: "user_m_1", Status: "VERIFIED", OccurredAt: time.Now(),
	}})
	require.Error(t, err)
	// An onboarding holding its notifications is counted (the workflow
	// runs this activity when it starts holding).
	_, err = env.ExecuteActivity(acts.NotificationsHeld, activities.NotificationsHeldInput{
		UserID: "user_m_1", EventID: "0123456789abcdef0123456789abcdef", EventType: notify.OnboardingVerified, Held: 1, Error: "status 401",
	})
	require.NoError(t, err)

	exported := map[string]float64{}
	require.Eventually(t, func() bool {
		families, err := m.Registry.Gather()
		require.NoError(t, err)
		for _, f := range families {
			for _, mm := range f.GetMetric() {
				exported[f.GetName()] = mm.GetCounter().GetValue() + mm.GetGauge().GetValue()
			}
		}
		return exported[activities.MetricNotifyEndpointDisabled] == 1 && exported[activities.MetricNotifyHeld] == 1
	}, 5*time.Second, 50*time.Millisecond, "the worker reports the endpoint disabled and the held notifications")
	assert.Equal(t, float64(1), exported[activities.MetricNotifyEndpointGone], "one 410 counted")

	names := regexp.MustCompile(`\bkycflow_[a-z0-9_]+\b`).FindAllString(string(raw), -1)
	require.NotEmpty(t, names)
	for _, name := range names {
		_, ok := exported[name]
		assert.True(t, ok, "the worker's alert rules name %s, which the worker does not export", name)
	}

	doc, err := os.ReadFile(operationsDoc)
	require.NoError(t, err)
	for _, a := range alerts {
		assert.True(t, strings.Contains(string(doc), "### "+a), "docs/operations.md has no runbook section for %s", a)
	}
}
