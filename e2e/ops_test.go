package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/workflows"
)

// metricRef finds metric names in PromQL: kycflow's, the Temporal SDK's
// and the Go client's runtime and process metrics.
var metricRef = regexp.MustCompile(`\b(?:kycflow|temporal|go|process)_[a-z0-9_]+\b`)

// createdOnFirstUse are metrics a process creates at their first
// occurrence only (a Temporal SDK counter): a healthy run never shows
// them. Each is named by its constant, so a rename still breaks the
// build or this list.
var createdOnFirstUse = []string{
	activities.MetricAccessDenied,
	activities.MetricNotifyEndpointDisabled, // at the first 410 Gone (worker/kycworker's TestPlatformEndpointGoneAlert)
	callbudget.MetricRateLimited,            // at the first 429
	activities.MetricNotifyHeld,             // at the first outbox held (worker/kycworker's ops test)
	// After the bridge's first hook check (webhookbridge/bridge's TestOpsFilesNameExportedMetrics).
	"kycflow_mangopay_hook_healthy", "kycflow_mangopay_hook_check_success",
}

// TestOpsFilesNameMetricsTheSystemExports runs the whole system through a
// signup and a verification, then reads the worker's and the bridge's
// /metrics: every metric an alert rule (ops/prometheus) or a dashboard
// panel (ops/grafana) names is one of them, so a renamed metric cannot
// leave an alert that never fires or an empty panel.
func TestOpsFilesNameMetricsTheSystemExports(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end tests start the whole system: skipped with -short")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skip("the Temporal CLI is not installed (make temporal-cli, or set TEMPORAL_CLI): end-to-end tests skipped")
	} else if err != nil {
		t.Fatalf("find the Temporal CLI: %v", err)
	}
	e := startEnv(t)
	user := e.newNaturalUser(t)
	s := e.startOnboarding(t, user)
	e.completePage(t, s.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)
	e.waitEvents(t, user, "onboarding.awaiting_user", "onboarding.verified")

	exported := map[string]string{}
	var missing []string
	eventually(t, "the worker's periodic gauges", func() (bool, string) {
		for _, proc := range []struct{ name, url string }{{"worker", e.s.WorkerURL}, {"bridge", e.s.BridgeInternalURL}} {
			for _, n := range e.metricNames(t, proc.url+"/metrics") {
				exported[n] = proc.name
			}
		}
		missing = missing[:0]
		for _, want := range []string{"kycflow_onboardings_needing_attention", "kycflow_task_queue_backlog", "kycflow_mangopay_rate_limit"} {
			if exported[want] == "" {
				missing = append(missing, want)
			}
		}
		return len(missing) == 0, strings.Join(missing, ", ")
	})
	for _, n := range createdOnFirstUse {
		exported[n] = "created on first use"
	}
	if testing.Verbose() {
		names := make([]string, 0, len(exported))
		for n, p := range exported {
			names = append(names, p+" "+n)
		}
		slices.Sort(names)
		t.Logf("exported:\n%s", strings.Join(names, "\n"))
	}

	rules, err := filepath.Glob(filepath.Join("..", "ops", "prometheus", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, rules)
	for _, f := range rules {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Groups []struct {
				Rules []struct {
					Alert string `yaml:"alert"`
					Expr  string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &doc), f)
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				for _, name := range metricRef.FindAllString(r.Expr, -1) {
					assert.NotEmpty(t, exported[name], "%s: alert %s queries %s, which no process exports", filepath.Base(f), r.Alert, name)
				}
			}
		}
	}
	dashboards, err := filepath.Glob(filepath.Join("..", "ops", "grafana", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, dashboards)
	for _, f := range dashboards {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var dash struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(raw, &dash), f)
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				for _, name := range metricRef.FindAllString(tg.Expr, -1) {
					assert.NotEmpty(t, exported[name], "%s: panel %q queries %s, which no process exports", filepath.Base(f), p.Title, name)
				}
			}
		}
	}
}

// metricNames reads a Prometheus text exposition's sample names.
func (e *env) metricNames(t *testing.T, url string) []string {
	t.Helper()
	res := e.do(t, http.MethodGet, url, "", nil, false)
	require.Equal(t, http.StatusOK, res.status, "GET %s", url)
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(res.body))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names = append(names, name)
	}
	return names
}
