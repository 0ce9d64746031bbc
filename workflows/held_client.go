package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/notify"
)

// HeldNotificationsQuery is the visibility query of the onboardings, running
// or closed, that hold platform notifications undelivered.
const HeldNotificationsQuery = `WorkflowType = "` + WorkflowType + `" AND KycAttention = "` + AttentionNotificationsUndelivered + `"`

// HeldOnboarding is one onboarding holding notifications.
type HeldOnboarding struct {
	UserID string
	// RunID is the run that holds them.
	RunID   string
	Running bool
	// Status is the onboarding's (KycStatus).
	Status Status
	// Reason says why the notifications are held; Events are they, in
	// order (a closed run's Result.Undelivered).
	Reason string
	Events []notify.Event
	// Err says why the onboarding could not be read: it is listed, so
	// that one unreadable run neither hides the others nor goes unseen.
	Err error
}

// ListHeldNotifications lists the onboardings holding notifications, with
// their events: a running one's from its state, a closed one's from its
// Result.
func ListHeldNotifications(ctx context.Context, c client.Client) ([]HeldOnboarding, error) {
	var out []HeldOnboarding
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: HeldNotificationsQuery, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list held notifications: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			userID, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), WorkflowID(""))
			if !ok {
				continue
			}
			if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				superseded, err := supersededRun(ctx, c, userID, e.GetExecution().GetRunId())
				if err != nil && ctx.Err() != nil {
					return out, err
				}
				if superseded {
					// A later run took its outbox (continue-as-new) or
					// its undelivered events (EnsureSession, Reopen: the
					// new run sends them first), and holds them if they
					// fail again.
					continue
				}
			}
			h, err := heldOf(ctx, c, userID, e.GetExecution().GetRunId(), e.GetStatus())
			if err != nil {
				if ctx.Err() != nil {
					return out, err
				}
				h.Err = err
			}
			if h.Running && len(h.Events) == 0 {
				continue // re-sent since the listing was indexed
			}
			out = append(out, h)
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

func heldOf(ctx context.Context, c client.Client, userID, runID string, st enumspb.WorkflowExecutionStatus) (HeldOnboarding, error) {
	h := HeldOnboarding{UserID: userID, RunID: runID, Running: st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}
	if h.Running {
		v, err := c.QueryWorkflow(ctx, WorkflowID(userID), runID, QueryState)
		if err != nil {
			return h, fmt.Errorf("query the state of %s: %w", userID, err)
		}
		var s StateView
		if err := v.Get(&s); err != nil {
			return h, fmt.Errorf("decode the state of %s: %w", userID, err)
		}
		h.Status = s.Status
		if s.Undelivered != nil {
			h.Reason = s.Undelivered.Reason
			for _, e := range s.Undelivered.Events {
				h.Events = append(h.Events, notify.Event{ID: e.ID, Type: e.Type})
			}
		}
		return h, nil
	}
	res, err := runResult(ctx, c, userID, runID)
	if err != nil {
		return h, err
	}
	h.Status, h.Events = res.Status, res.Undelivered
	h.Reason = "the onboarding ended before its notifications were delivered"
	return h, nil
}

// ResendNotifications re-sends a user's held notifications: a running
// onboarding sends them again itself, in order (the resend-notifications
// update); a closed one's, kept in its Result, are sent here through send,
// in order, stopping at the first failure. The answer says how many were
// queued or sent. req names the operator and why (the running onboarding
// records both in its timeline).
func ResendNotifications(ctx context.Context, c client.Client, userID string, req ResendRequest, send func(context.Context, notify.Event) error) (ResendResult, error) {
	if err := validateResend(req); err != nil {
		return ResendResult{}, fmt.Errorf("resend notifications: %w: %w", ErrRejected, err)
	}
	var res ResendResult
	err := update(ctx, c, userID, UpdateResendNotifications, "", req, &res)
	if !errors.Is(err, ErrNoOnboarding) {
		return res, err // sent (or failed) by the running onboarding
	}
	// Closed: the events are in its Result.
	r, err := runResult(ctx, c, userID, "")
	if err != nil {
		return ResendResult{}, err
	}
	res = ResendResult{UserID: userID, WasHeld: len(r.Undelivered) > 0}
	for _, ev := range r.Undelivered {
		if err := send(ctx, ev); err != nil {
			return res, fmt.Errorf("resend %s (%s) of %s: %w", ev.ID, ev.Type, userID, err)
		}
		res.Queued++
	}
	return res, nil
}

// runResult reads a closed run's Result: a completed run's value, or what
// a run cancelled in Temporal carries in its cancellation's details.
func runResult(ctx context.Context, c client.Client, userID, runID string) (Result, error) {
	var res Result
	err := c.GetWorkflow(ctx, WorkflowID(userID), runID).Get(ctx, &res)
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		if !canceled.HasDetails() {
			return res, nil // cancelled with nothing to carry
		}
		if derr := canceled.Details(&res); derr != nil {
			return res, fmt.Errorf("read the cancelled onboarding of %s: %w", userID, derr)
		}
		return res, nil
	}
	if err != nil {
		return res, clientError(ctx, c, userID, "read the closed onboarding of "+userID, err)
	}
	return res, nil
}

// supersededRun reports whether a later run of the user's onboarding exists
// than runID. An error leaves the run listed (not superseded).
func supersededRun(ctx context.Context, c client.Client, userID, runID string) (bool, error) {
	d, err := c.DescribeWorkflowExecution(ctx, WorkflowID(userID), "")
	if err != nil {
		return false, fmt.Errorf("describe the onboarding of %s: %w", userID, err)
	}
	latest := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	return latest != "" && latest != runID, nil
}
