package workflows

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Errors of the client helpers, for callers to map (HTTP statuses, exit codes).
var (
	// ErrNoOnboarding: no onboarding workflow exists for the user.
	ErrNoOnboarding = errors.New("no onboarding for this user")
	// ErrRejected: the workflow's validator refused the request.
	ErrRejected = errors.New("request rejected")
	// ErrTemporalUnavailable: Temporal could not be reached.
	ErrTemporalUnavailable = errors.New("temporal is unavailable")
)

// EnsureSession starts the user's onboarding or finds the running one
// (update-with-start, conflict policy use-existing) and returns its current
// usable session: what a signup flow calls to get the HostedUrl.
func EnsureSession(ctx context.Context, c client.Client, userID string, req EnsureSessionRequest) (EnsureSessionResult, error) {
	op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       WorkflowID(userID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchAttrUserID.ValueSet(userID), SearchAttrStatus.ValueSet(string(StatusStarting)),
		),
		StaticSummary: "KYC/KYB onboarding of Mangopay user " + userID,
	}, WorkflowType, Input{UserID: userID, ReturnURL: req.ReturnURL, Tag: req.Tag})
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: UpdateEnsureSession, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return EnsureSessionResult{}, clientError("ensure session", err)
	}
	var res EnsureSessionResult
	if err := h.Get(ctx, &res); err != nil {
		return EnsureSessionResult{}, clientError("ensure session", err)
	}
	return res, nil
}

// SubmitDocument sends the submit-document update to a running onboarding.
func SubmitDocument(ctx context.Context, c client.Client, userID string, req SubmitDocumentRequest) (SubmitDocumentResult, error) {
	var res SubmitDocumentResult
	err := update(ctx, c, userID, UpdateSubmitDocument, req, &res)
	return res, err
}

// Cancel sends the cancel update to a running onboarding.
func Cancel(ctx context.Context, c client.Client, userID string, req CancelRequest) (StateView, error) {
	var res StateView
	err := update(ctx, c, userID, UpdateCancel, req, &res)
	return res, err
}

// GetState queries the state of the user's onboarding (running or closed
// within retention).
func GetState(ctx context.Context, c client.Client, userID string) (StateView, error) {
	v, err := c.QueryWorkflow(ctx, WorkflowID(userID), "", QueryState)
	if err != nil {
		return StateView{}, clientError("query state", err)
	}
	var s StateView
	if err := v.Get(&s); err != nil {
		return StateView{}, fmt.Errorf("query state: decode: %w", err)
	}
	return s, nil
}

func update(ctx context.Context, c client.Client, userID, name string, arg, out any) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: WorkflowID(userID), UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return clientError(name, err)
	}
	if err := h.Get(ctx, out); err != nil {
		return clientError(name, err)
	}
	return nil
}

// clientError classifies Temporal client errors into the sentinels above,
// keeping the original for errors.As.
func clientError(op string, err error) error {
	var notFound *serviceerror.NotFound
	var unavailable *serviceerror.Unavailable
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &notFound):
		return fmt.Errorf("%s: %w: %w", op, ErrNoOnboarding, err)
	case errors.As(err, &unavailable), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: %w", op, ErrTemporalUnavailable, err)
	case errors.As(err, &appErr):
		// Validator rejections and handler errors come back as application errors.
		return fmt.Errorf("%s: %w: %s", op, ErrRejected, appErr.Message())
	}
	return fmt.Errorf("%s: %w", op, err)
}
