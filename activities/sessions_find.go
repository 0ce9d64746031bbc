package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/mangopay"
)

// FindCreatedSessionInput names one session creation by the idempotency
// key CreateSession was called with.
type FindCreatedSessionInput struct {
	UserID         string `json:"UserID"`
	IdempotencyKey string `json:"IdempotencyKey"`
}

// FindCreatedSessionResult is the session that creation made, if any.
type FindCreatedSessionResult struct {
	Found   bool                `json:"Found"`
	Session CreateSessionResult `json:"Session"`
}

// FindCreatedSession tells whether a CreateSession call with this key
// reached Mangopay and created a session, from Mangopay's stored response
// (GET /responses/{IdempotencyKey}, kept 24 hours). The workflow asks when
// it is cancelled while a creation runs: an answer lost on the way (a 5xx
// after the commit, a timeout) must not leave a session Mangopay made
// unknown to the onboarding. It never creates anything.
func (a *Activities) FindCreatedSession(ctx context.Context, in FindCreatedSessionInput) (FindCreatedSessionResult, error) {
	r, err := a.Mangopay.GetResponse(ctx, in.IdempotencyKey)
	switch {
	case mangopay.IsNotFound(err):
		return FindCreatedSessionResult{}, nil // no call with this key answered
	case err != nil:
		return FindCreatedSessionResult{}, a.mangopayError(ctx, "find created idv session", err)
	case !r.Succeeded():
		return FindCreatedSessionResult{}, nil // the call was refused: nothing created
	}
	var iv mangopay.IdentityVerification
	if err := r.Decode(&iv); err != nil {
		return FindCreatedSessionResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("stored response of idempotency key %s: %v", in.IdempotencyKey, err), "BadStoredResponse", err)
	}
	if iv.ID == "" || iv.UserID != "" && iv.UserID != in.UserID {
		return FindCreatedSessionResult{}, nil // not a session of this user
	}
	return FindCreatedSessionResult{Found: true, Session: CreateSessionResult{
		SessionID: iv.ID, HostedURL: iv.HostedURL, Status: string(iv.Status.Normalize()), CreationDate: iv.CreationDate.Time(),
	}}, nil
}
