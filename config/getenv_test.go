package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOnlyConfigReadsTheEnvironment: outside package config, kycflow's
// code reads no environment variable itself; a command hands os.Getenv to
// config.Load and the packages get config.Env.Get. The exceptions are
// tools and tests, and the Temporal CLI's path (declared as TEMPORAL_CLI).
func TestOnlyConfigReadsTheEnvironment(t *testing.T) {
	allowed := []string{
		"internal/devtemporal/devtemporal.go",   // TEMPORAL_CLI, declared; tests share it
		"internal/redistest/redistest.go",       // tests only
		"internal/promtooltest/promtooltest.go", // tests only: CI=true makes a missing promtool a failure
	}
	skipDirs := []string{"config", "loadtest", "e2e", ".git", ".tools", ".data"}
	reads := regexp.MustCompile(`os\.(Getenv|LookupEnv|Environ)\b`)
	passes := regexp.MustCompile(`config\.Load\([^,]+, os\.Getenv\)|loadConfig\(([a-zA-Z.]+, )?os\.Getenv\)`)
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if slices.Contains(skipDirs, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || slices.Contains(allowed, filepath.ToSlash(rel)) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if reads.MatchString(line) && !passes.MatchString(line) {
				t.Errorf("%s:%d reads the environment itself (declare the variable in config/vars.go and use config.Env.Get): %s",
					rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	require.NoError(t, err)
}
