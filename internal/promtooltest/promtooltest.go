// Package promtooltest runs Prometheus's own rule checker, promtool, over
// a rules file in a test: the worker's and the bridge's alert rules are
// held to it alike.
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
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", file, err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check rules %s did not say SUCCESS:\n%s", file, out)
	}
}

// TestRules runs `promtool test rules` on the unit tests in file (series
// fed to the rules, the alerts expected) and fails t unless every one
// passes. Like CheckRules, it skips without promtool outside CI.
func TestRules(t *testing.T, file string) {
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
	out, err := exec.Command(promtool, "test", "rules", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules %s: %v\n%s", file, err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules %s did not say SUCCESS:\n%s", file, out)
	}
}
