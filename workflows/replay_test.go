package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/workflows"
)

// TestReplayRecordedHistories replays every corpus under testdata/histories
// against today's KYCOnboarding: each released one (0.1.0/, …: onboardings
// started on that release may still run) and the unreleased one. A failure
// means the change would break onboardings that are running: see
// docs/workflow-versioning.md for how a change ships.
func TestReplayRecordedHistories(t *testing.T) {
	files := corpusFiles(t, historiesDir)
	// A replay test that replays nothing must not pass.
	require.NotEmpty(t, files, "no recorded histories in %s: run `make record-histories`", historiesDir)
	for _, file := range files {
		name, _ := filepath.Rel(historiesDir, file)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			require.NoError(t, replayHistory(t, file))
		})
	}
}

// corpusFiles lists the histories of every corpus (one folder each) under
// root.
func corpusFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "*", "*.json"))
	require.NoError(t, err)
	loose, err := filepath.Glob(filepath.Join(root, "*.json"))
	require.NoError(t, err)
	require.Empty(t, loose, "histories belong in a corpus folder (%s/ or a release's)", unreleasedCorpus)
	return files
}

// replayHistory replays one recorded history against today's workflow.
func replayHistory(t *testing.T, file string) error {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
	return r.ReplayWorkflowHistoryFromJSONFile(sdkLogger(testLogger(t)), file)
}

// The replay test fails when a released corpus no longer replays: here a
// release's history whose commands differ from today's code (as after an
// unguarded change) is replayed through the same path.
func TestReplayFailsWhenAReleasedCorpusNoLongerReplays(t *testing.T) {
	// Release 0.1.0's, which never changes: its run scheduled CreateSession
	// as an activity; today's code, as far as this history is concerned,
	// would have to schedule something else.
	src, err := os.ReadFile(filepath.Join(historiesDir, "0.1.0", "natural-happy-path.json"))
	require.NoError(t, err)
	doctored := strings.Replace(string(src), `"name": "CreateSession"`, `"name": "CreateSessionBeforeAChange"`, 1)
	require.NotEqual(t, string(src), doctored, "the history schedules CreateSession")
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "0.1.0"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "0.1.0", "natural-happy-path.json"), []byte(doctored), 0o644))

	files := corpusFiles(t, root)
	require.Len(t, files, 1)
	err = replayHistory(t, files[0])
	require.Error(t, err, "a released history that no longer replays must fail the replay test")
	assert.Contains(t, err.Error(), "nondeterministic")
}

// make record-histories (TestRecordHistories) refuses to write into a
// released corpus.
func TestRecorderRefusesAReleasedCorpus(t *testing.T) {
	root := t.TempDir()
	marked := filepath.Join(root, "hotfix")
	require.NoError(t, os.MkdirAll(marked, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(marked, releasedMarker), []byte("0.1.1\n"), 0o644))
	tests := []struct {
		dir     string
		refused bool
	}{
		{filepath.Join(root, "0.1.0"), true},
		{filepath.Join(root, "v1.2.3"), true},
		{marked, true},
		{filepath.Join(root, unreleasedCorpus), false},
		{filepath.Join(historiesDir, unreleasedCorpus), false},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			err := checkRecordable(tt.dir)
			if tt.refused {
				assert.ErrorContains(t, err, "released corpus")
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// testLogger logs warnings and errors through t, without the stack traces
// the SDK attaches to a workflow panic (the failure says what diverged).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == "StackTrace" {
				return slog.Attr{}
			}
			return a
		},
	}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// sdkLogger bridges slog to the Temporal SDK's logger.
func sdkLogger(l *slog.Logger) log.Logger { return log.NewStructuredLogger(l) }
