package activities

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
)

// CreateSessionInput asks for a new IDV session. IdempotencyKey must be the
// same for every try of one logical creation.
type CreateSessionInput struct {
	UserID         string
	ReturnURL      string
	Tag            string
	IdempotencyKey string
}

// CreateSessionResult is the new session.
type CreateSessionResult struct {
	SessionID    string
	HostedURL    string
	Status       string
	CreationDate time.Time
}

// CreateSession creates an IDV session (recovering the first response when a
// retry hits Mangopay's idempotency conflict) and indexes it for webhook
// routing.
func (a *Activities) CreateSession(ctx context.Context, in CreateSessionInput) (CreateSessionResult, error) {
	iv, err := a.Mangopay.CreateIdentityVerification(ctx, in.UserID, &mangopay.CreateIdentityVerificationParams{
		ReturnURL: in.ReturnURL, Tag: in.Tag, IdempotencyKey: in.IdempotencyKey,
	})
	var apiErr *mangopay.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden && apiErr.TraceID != "":
		return CreateSessionResult{}, temporal.NewNonRetryableApplicationError(
			"hosted KYC (IDV sessions) is not activated for this Mangopay client", ErrTypeNotEligible, err)
	case errors.As(err, &apiErr) && apiErr.Type == mangopay.ErrTypeInvalidAction:
		return CreateSessionResult{}, temporal.NewNonRetryableApplicationError(apiErr.Message, ErrTypeNotEligible, err)
	case err != nil:
		return CreateSessionResult{}, mangopayError("create idv session", err)
	}
	if err := a.Index.Put(ctx, routing.KindSession, iv.ID, in.UserID); err != nil {
		return CreateSessionResult{}, err
	}
	activity.GetLogger(ctx).Info("idv session created", "user_id", in.UserID, "idv_session_id", iv.ID)
	return CreateSessionResult{SessionID: iv.ID, HostedURL: iv.HostedURL, Status: string(iv.Status.Normalize()), CreationDate: iv.CreationDate.Time()}, nil
}

// GetSessionInput names the session to read.
type GetSessionInput struct {
	SessionID string
}

// CheckSummary is one check without its verified data (names, birthdates).
type CheckSummary struct {
	Type    string
	Status  string
	Reasons []Reason `json:",omitempty"`
}

// Reason is a refusal reason: a type and Mangopay's text for it.
type Reason struct {
	Type  string
	Value string
}

// GetSessionResult is what Mangopay says of a session now.
type GetSessionResult struct {
	SessionID    string
	UserID       string
	Status       string // normalised: OUTDATED → OUT_OF_DATE, REJECTED → REFUSED
	CreationDate time.Time
	Checks       []CheckSummary
}

// GetSession reads a session.
func (a *Activities) GetSession(ctx context.Context, in GetSessionInput) (GetSessionResult, error) {
	iv, err := a.Mangopay.GetIdentityVerification(ctx, in.SessionID)
	if err != nil {
		return GetSessionResult{}, mangopayError("read idv session", err)
	}
	out := GetSessionResult{SessionID: iv.ID, UserID: iv.UserID, Status: string(iv.Status.Normalize()), CreationDate: iv.CreationDate.Time()}
	for _, c := range iv.Checks {
		cs := CheckSummary{Type: string(c.Type), Status: string(c.CheckStatus)}
		for _, r := range c.Reasons {
			cs.Reasons = append(cs.Reasons, Reason{Type: r.Type, Value: r.Value})
		}
		out.Checks = append(out.Checks, cs)
	}
	return out, nil
}
