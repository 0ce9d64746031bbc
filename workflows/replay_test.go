package workflows_test

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/workflows"
)

// TestReplayRecordedHistories replays every history recorded from a real
// run (testdata/histories, written by TestRecordHistories) against today's
// KYCOnboarding. A failure means the change would break onboardings that
// are running: guard it with workflow.GetVersion instead.
func TestReplayRecordedHistories(t *testing.T) {
	// Histories recorded by today's code, and in sub-folders those recorded
	// before a versioned change (they must replay for ever, or for as long
	// as onboardings started before it may run).
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	require.NoError(t, err)
	older, err := filepath.Glob(filepath.Join(historiesDir, "*", "*.json"))
	require.NoError(t, err)
	files = append(files, older...)
	// A replay test that replays nothing must not pass.
	require.NotEmpty(t, files, "no recorded histories in %s: run `make record-histories`", historiesDir)
	for _, file := range files {
		name, _ := filepath.Rel(historiesDir, file)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(sdkLogger(testLogger(t)), file))
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
