package ops_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kycflow/kycflow/internal/promtooltest"
)

const operationsDoc = "../docs/operations.md"

// rule is an alert rule as the tests read it.
type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Annotations map[string]string `yaml:"annotations"`
}

func alertRules(t *testing.T) map[string][]rule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("prometheus", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string][]rule{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Groups []struct {
				Rules []rule `yaml:"rules"`
			} `yaml:"groups"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &doc), f)
		for _, g := range doc.Groups {
			out[f] = append(out[f], g.Rules...)
		}
	}
	return out
}

// TestAlertRulesPassPromtool: promtool checks every rules file and runs
// every unit test file.
func TestAlertRulesPassPromtool(t *testing.T) {
	for f := range alertRules(t) {
		t.Run("check "+filepath.Base(f), func(t *testing.T) { promtooltest.CheckRules(t, f) })
	}
	tests, err := filepath.Glob(filepath.Join("prometheus", "tests", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, tests)
	for _, f := range tests {
		t.Run("test "+filepath.Base(f), func(t *testing.T) { promtooltest.TestRules(t, f) })
	}
}

// TestEveryAlertIsTestedBothWays: each alert has a unit test in which it
// fires and one in which it stays quiet, in the test file of its rules.
func TestEveryAlertIsTestedBothWays(t *testing.T) {
	type outcome struct{ fires, quiet bool }
	seen := map[string]*outcome{}
	tests, err := filepath.Glob(filepath.Join("prometheus", "tests", "*.yml"))
	require.NoError(t, err)
	for _, f := range tests {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string `yaml:"alertname"`
					ExpAlerts []any  `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &doc), f)
		for _, tc := range doc.Tests {
			for _, a := range tc.AlertRuleTest {
				o := seen[a.Alertname]
				if o == nil {
					o = &outcome{}
					seen[a.Alertname] = o
				}
				if len(a.ExpAlerts) > 0 {
					o.fires = true
				} else {
					o.quiet = true
				}
			}
		}
	}
	for f, rules := range alertRules(t) {
		for _, r := range rules {
			o := seen[r.Alert]
			if !assert.NotNil(t, o, "%s: alert %s has no promtool unit test (ops/prometheus/tests)", f, r.Alert) {
				continue
			}
			assert.True(t, o.fires, "%s: no test makes %s fire", f, r.Alert)
			assert.True(t, o.quiet, "%s: no test keeps %s quiet", f, r.Alert)
		}
	}
}

// TestEveryAlertLinksItsRunbook: each alert's runbook_url is its own
// section of docs/operations.md, which exists.
func TestEveryAlertLinksItsRunbook(t *testing.T) {
	raw, err := os.ReadFile(operationsDoc)
	require.NoError(t, err)
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^### (\w+)\s*$`).FindAllStringSubmatch(string(raw), -1) {
		headings[m[1]] = true
	}
	for f, rules := range alertRules(t) {
		for _, r := range rules {
			assert.Equal(t, "docs/operations.md#"+strings.ToLower(r.Alert), r.Annotations["runbook_url"], "%s: runbook_url of %s", f, r.Alert)
			assert.True(t, headings[r.Alert], "docs/operations.md has no section ### %s", r.Alert)
		}
	}
}
