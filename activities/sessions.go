package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
)

// CreateSessionInput asks for a new IDV session. IdempotencyKey must be the
// same for every try of one logical creation.
type CreateSessionInput struct {
	UserID         string `json:"UserID"`
	ReturnURL      string `json:"ReturnURL"`
	Tag            string `json:"Tag"`
	IdempotencyKey string `json:"IdempotencyKey"`
	// SessionLanguage is the hosted page's language (de-DE, en-US, …);
	// empty lets Mangopay choose.
	SessionLanguage string `json:"SessionLanguage,omitempty"`
	// IndexBestEffort writes the routing index once and reports a failure
	// in the result (Indexed false) instead of failing: a Redis outage then
	// never repeats the Mangopay call (past Mangopay's 24-hour idempotency
	// window it would create a second session); the workflow indexes later
	// with IndexSession. Onboardings started before it existed leave it
	// false: an index failure fails the activity, as it did.
	IndexBestEffort bool `json:"IndexBestEffort,omitempty"`
}

// CreateSessionResult is the new session.
type CreateSessionResult struct {
	SessionID    string    `json:"SessionID"`
	HostedURL    string    `json:"HostedURL"`
	Status       string    `json:"Status"`
	CreationDate time.Time `json:"CreationDate"`
	// Indexed reports that the routing index was written.
	Indexed bool `json:"Indexed,omitempty"`
}

// CreateSession creates an IDV session, recovering the first response when a
// retry hits Mangopay's idempotency conflict. A 403 (hosted KYC not activated
// for the client, an IP allowlist) is the platform's to fix: it is retried,
// and the onboarding carries on once it is fixed.
func (a *Activities) CreateSession(ctx context.Context, in CreateSessionInput) (CreateSessionResult, error) {
	iv, err := a.Mangopay.CreateIdentityVerification(ctx, in.UserID, &mangopay.CreateIdentityVerificationParams{
		ReturnURL: in.ReturnURL, Tag: in.Tag, IdempotencyKey: in.IdempotencyKey,
		SessionLanguage: mangopay.SessionLanguage(in.SessionLanguage),
	})
	var apiErr *mangopay.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Type == mangopay.ErrTypeInvalidAction:
		return CreateSessionResult{}, temporal.NewNonRetryableApplicationError(apiErr.Message, ErrTypeNotEligible, err)
	case err != nil:
		return CreateSessionResult{}, a.mangopayError(ctx, "create idv session", err)
	}
	res := CreateSessionResult{SessionID: iv.ID, HostedURL: iv.HostedURL, Status: string(iv.Status.Normalize()), CreationDate: iv.CreationDate.Time()}
	if _, err := a.IndexSession(ctx, IndexSessionInput{SessionID: iv.ID, UserID: in.UserID}); err != nil {
		if !in.IndexBestEffort {
			return CreateSessionResult{}, err
		}
		a.log().Warn("idv session created but not indexed: the workflow retries the index", "idv_session_id", iv.ID, "error", err)
	} else {
		res.Indexed = true
	}
	activity.GetLogger(ctx).Info("idv session created", "user_id", in.UserID, "idv_session_id", iv.ID)
	return res, nil
}

// IndexSessionInput names a session and its user.
type IndexSessionInput struct {
	SessionID string `json:"SessionID"`
	UserID    string `json:"UserID"`
}

// IndexSessionResult is empty: the index is written.
type IndexSessionResult struct{}

// IndexSession records session→user in the routing index, for the webhook
// bridge.
func (a *Activities) IndexSession(ctx context.Context, in IndexSessionInput) (IndexSessionResult, error) {
	if err := a.Index.Put(ctx, routing.KindSession, in.SessionID, in.UserID); err != nil {
		return IndexSessionResult{}, fmt.Errorf("index idv session: %w", err)
	}
	return IndexSessionResult{}, nil
}

// GetSessionInput names the session to read.
type GetSessionInput struct {
	SessionID string `json:"SessionID"`
}

// CheckSummary is one check without its verified data (names, birthdates).
// It is part of the workflow's state and of the platform API: its JSON names
// are fixed.
type CheckSummary struct {
	Type    string   `json:"Type"`
	Status  string   `json:"Status"`
	Reasons []Reason `json:"Reasons,omitempty"`
}

// Reason is a refusal reason: a type and Mangopay's text for it.
type Reason struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// GetSessionResult is what Mangopay says of a session now.
type GetSessionResult struct {
	SessionID    string         `json:"SessionID"`
	UserID       string         `json:"UserID"`
	Status       string         `json:"Status"` // normalised: OUTDATED → OUT_OF_DATE, REJECTED → REFUSED
	CreationDate time.Time      `json:"CreationDate"`
	Checks       []CheckSummary `json:"Checks"`
}

// GetSession reads a session.
func (a *Activities) GetSession(ctx context.Context, in GetSessionInput) (GetSessionResult, error) {
	iv, err := a.Mangopay.GetIdentityVerification(ctx, in.SessionID)
	if err != nil {
		return GetSessionResult{}, a.mangopayError(ctx, "read idv session", err)
	}
	out := GetSessionResult{SessionID: iv.ID, UserID: iv.UserID, Status: string(iv.Status.Normalize()), CreationDate: iv.CreationDate.Time()}
	for _, c := range iv.Checks {
		cs := CheckSummary{Type: string(c.Type), Status: string(c.CheckStatus)}
		for _, r := range c.Reasons {
			cs.Reasons = append(cs.Reasons, Reason{Type: r.Type, Value: r.Value})
		}
		out.Checks = append(out.Checks, cs)
	}
	// A validated business session lists its PSC sessions: index them now,
	// so that the bridge routes the PSCs' webhooks (Mangopay has no way to
	// say whose a PSC is). Best effort, as in ReadPSCs.
	for _, p := range iv.PSCs {
		a.indexPSC(ctx, p.ID, iv.UserID)
	}
	return out, nil
}
