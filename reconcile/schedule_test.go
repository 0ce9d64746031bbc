package reconcile_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/workflows"
)

// Every worker calls EnsureSchedule at start: one schedule, the latest
// interval.
func TestEnsureScheduleIsIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Temporal dev server")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skip("the Temporal CLI is not installed (set TEMPORAL_CLI)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	c := srv.Client()

	require.NoError(t, reconcile.EnsureSchedule(ctx, c, 10*time.Minute))
	require.NoError(t, reconcile.EnsureSchedule(ctx, c, 10*time.Minute), "a second worker")
	require.NoError(t, reconcile.EnsureSchedule(ctx, c, 15*time.Minute), "a worker with a new RECONCILE_EVENTS_EVERY")

	d, err := c.ScheduleClient().GetHandle(ctx, reconcile.ScheduleID).Describe(ctx)
	require.NoError(t, err)
	require.Len(t, d.Schedule.Spec.Intervals, 1)
	assert.Equal(t, 15*time.Minute, d.Schedule.Spec.Intervals[0].Every)
	assert.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok, "%T", d.Schedule.Action)
	assert.Equal(t, workflows.TaskQueue, action.TaskQueue)
	assert.Equal(t, reconcile.WorkflowType, action.Workflow)
}
