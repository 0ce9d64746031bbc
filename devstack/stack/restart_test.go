package stack

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/workflows"
)

// `make dev` started three times on one data folder shows only usable
// onboardings: the simulator forgets its users and sessions at a restart,
// so Temporal's onboardings must not outlive it (each AWAITING_USER link
// answers at the simulator); and a first run logs no ERROR.
func TestRestartedStackShowsOnlyUsableOnboardings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server three times: skipped in -short mode")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skipf("needs a Temporal dev server: %v", err)
	}
	dir := t.TempDir()
	for run := 1; run <= 3; run++ {
		logs := &syncbuf.Buffer{}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		// Free ports: a regression must not take a running make dev's.
		o := Options{DataDir: dir, SimAddr: "127.0.0.1:0", BridgePublicAddr: "127.0.0.1:0", BridgeInternalAddr: "127.0.0.1:0",
			PlatformAddr: "127.0.0.1:0", WorkerHTTPAddr: "127.0.0.1:0", PathToken: "path-token-0123456789", APIToken: "api-token-0123456789",
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
		s, err := Start(ctx, o)
		require.NoError(t, err, "run %d", run)
		demo, err := s.StartDemo(ctx)
		require.NoError(t, err)
		require.Equal(t, workflows.StatusAwaitingUser, demo.Result.Status)

		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `WorkflowType = "` + workflows.WorkflowType + `" AND ExecutionStatus = "Running"`,
		})
		require.NoError(t, err)
		var users []string
		for _, e := range resp.GetExecutions() {
			users = append(users, e.GetExecution().GetWorkflowId())
			user := e.GetExecution().GetWorkflowId()[len(workflows.WorkflowID("")):]
			st, err := workflows.GetState(ctx, s.Temporal, user)
			require.NoError(t, err)
			if st.Status != workflows.StatusAwaitingUser {
				continue
			}
			require.NotEmpty(t, st.HostedURL, "run %d: %s awaits its user with no link", run, user)
			res, err := http.Get(st.HostedURL)
			require.NoError(t, err)
			_ = res.Body.Close()
			assert.Equal(t, http.StatusOK, res.StatusCode, "run %d: onboarding %s shows a link the simulator does not know", run, user)
		}
		assert.Equal(t, []string{workflows.WorkflowID(demo.UserID)}, users, "run %d: only this run's onboarding", run)
		if run == 1 {
			assert.NotContains(t, logs.String(), `"level":"ERROR"`, "a first run logs no ERROR")
		}
		s.Stop()
		cancel()
	}
}
