// Package promtooltest runs Prometheus's own rule checker and rule unit
// tests, promtool, over a rules file in a test: every alert rule of
// kycflow is held to it alike.
package promtooltest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// CheckRules runs `promtool check rules` on file and fails t unless it
// says SUCCESS. promtool comes with Debian's prometheus package, which
// .ci/run installs: locally the test skips without it, under CI it fails.
func CheckRules(t *testing.T, file string) {
	t.Helper()
	run(t, "check", "rules", file)
}

// TestRules runs the unit tests of a rules file, `promtool test rules`,
// and fails t unless every one passes.
func TestRules(t *testing.T, file string) {
	t.Helper()
	run(t, "test", "rules", file)
}

func run(t *testing.T, args ...string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if errors.Is(err, exec.ErrNotFound) {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is missing under CI: .ci/run installs Debian's prometheus package")
		}
		t.Skip("promtool not installed (apt-get install prometheus); .ci/run installs it")
	}
	if err != nil {
		t.Fatalf("look for promtool: %v", err)
	}
	out, err := exec.Command(promtool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool %s did not say SUCCESS:\n%s", strings.Join(args, " "), out)
	}
}
