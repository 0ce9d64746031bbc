package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/kycflow/kycflow/reconcile"
)

// temporalClient connects to the run's Temporal for reading, with the SDK's
// own logging off.
func (s *system) temporalClient() (client.Client, error) {
	if s.temporalAddr == "" {
		return nil, errors.New("no Temporal address (--temporal-address)")
	}
	return client.Dial(client.Options{HostPort: s.temporalAddr, Namespace: s.namespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
}

// pendingWork says what Temporal has the workflow waiting on: a lost
// user's onboarding stuck on an activity's retries reads differently from
// one waiting for a webhook that never came.
func pendingWork(ctx context.Context, tc client.Client, workflowID string) string {
	d, err := tc.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return "cannot describe it: " + err.Error()
	}
	info := d.GetWorkflowExecutionInfo()
	parts := []string{strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")}
	if len(d.GetPendingActivities()) == 0 {
		parts = append(parts, "no activity pending")
	}
	for _, a := range d.GetPendingActivities() {
		p := fmt.Sprintf("%s attempt %d %s", a.GetActivityType().GetName(), a.GetAttempt(),
			strings.TrimPrefix(a.GetState().String(), "PENDING_ACTIVITY_STATE_"))
		if f := a.GetLastFailure(); f != nil {
			p += " (last failure: " + f.GetMessage() + ")"
		}
		parts = append(parts, p)
	}
	if d.GetPendingWorkflowTask() != nil {
		parts = append(parts, "a workflow task pending")
	}
	return strings.Join(parts, ", ")
}

// ReconcileRun is one run of the fleet reconciliation as Temporal has it.
type ReconcileRun struct {
	Started time.Duration `json:"started_ns"` // since the first onboarding started
	Took    time.Duration `json:"took_ns,omitempty"`
	Status  string        `json:"status"`
	// Pending is what a run not closed waits on (pendingWork).
	Pending string `json:"pending,omitempty"`
}

// reconcileRuns lists the fleet reconciliation's runs, oldest first: the
// dropped webhooks come back only through them.
func reconcileRuns(ctx context.Context, tc client.Client, began time.Time) ([]ReconcileRun, error) {
	var out []ReconcileRun
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: fmt.Sprintf("WorkflowType = '%s'", reconcile.WorkflowType), NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list the %s runs: %w", reconcile.WorkflowType, err)
		}
		for _, e := range resp.GetExecutions() {
			r := ReconcileRun{Started: e.GetStartTime().AsTime().Sub(began),
				Status: strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")}
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				r.Pending = pendingWork(ctx, tc, e.GetExecution().GetWorkflowId())
			} else if e.GetCloseTime() != nil {
				r.Took = e.GetCloseTime().AsTime().Sub(e.GetStartTime().AsTime())
			}
			out = append(out, r)
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	// Visibility lists newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
