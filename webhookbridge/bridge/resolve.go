package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/workflows"
)

// Errors of Resolver.UserFor.
var (
	// ErrUnroutable: the event names nothing kycflow can route (an unknown
	// kind of event, or a resource Mangopay answers 404 for).
	ErrUnroutable = errors.New("unroutable webhook")
	// ErrMangopayUnavailable: the fallback lookup met a Mangopay outage (5xx,
	// 429, no answer) or Mangopay refused kycflow's credentials (401, 403):
	// not the event's fault, it is looked up again later.
	ErrMangopayUnavailable = errors.New("mangopay unavailable")
)

// Resolver finds the user a webhook is about: USER_* events name the user,
// IDV events a session and KYC_* events a document, looked up in the
// routing index the activities write, then at Mangopay when the index
// misses.
type Resolver struct {
	Index    *routing.Index
	Mangopay *mangopay.Client // nil: no fallback
}

// UserFor returns the user ev belongs to. ErrUnroutable is final;
// ErrMangopayUnavailable and Redis outages pass; any other error is the
// event's own (a Mangopay 400, say).
func (r *Resolver) UserFor(ctx context.Context, ev workflows.MangopayEvent) (string, error) {
	var kind routing.Kind
	switch {
	case strings.HasPrefix(ev.EventType, "USER_"):
		return ev.ResourceID, nil
	case strings.HasPrefix(ev.EventType, "IDENTITY_VERIFICATION_") && mangopay.IsPSCID(ev.ResourceID):
		// A PSC webhook may name the PSC rather than the main session.
		kind = routing.KindPSC
	case strings.HasPrefix(ev.EventType, "IDENTITY_VERIFICATION_"):
		kind = routing.KindSession
	case strings.HasPrefix(ev.EventType, "KYC_"):
		kind = routing.KindDocument
	default:
		return "", fmt.Errorf("%w: kycflow does not handle %s events", ErrUnroutable, ev.EventType)
	}
	userID, found, err := r.Index.Lookup(ctx, kind, ev.ResourceID)
	if err != nil || found {
		return userID, err
	}
	if r.Mangopay == nil || kind == routing.KindPSC { // Mangopay has no way to read a PSC by its ID alone
		return "", fmt.Errorf("%w: %s %s is not in the routing index", ErrUnroutable, kind, ev.ResourceID)
	}
	userID, err = r.ask(ctx, kind, ev.ResourceID)
	if err != nil {
		return "", err
	}
	if err := r.Index.Put(ctx, kind, ev.ResourceID, userID); err != nil {
		return "", err
	}
	return userID, nil
}

func (r *Resolver) ask(ctx context.Context, kind routing.Kind, id string) (string, error) {
	var userID string
	var err error
	if kind == routing.KindSession {
		var iv *mangopay.IdentityVerification
		if iv, err = r.Mangopay.GetIdentityVerification(ctx, id); err == nil {
			userID = iv.UserID
		}
	} else {
		var d *mangopay.KYCDocument
		if d, err = r.Mangopay.GetKYCDocument(ctx, id); err == nil {
			userID = d.UserID
		}
	}
	switch classify(err) {
	case classNone:
		if userID == "" {
			return "", fmt.Errorf("%w: Mangopay gave no user for %s %s", ErrUnroutable, kind, id)
		}
		return userID, nil
	case classNotFound: // only a 404 says the resource does not exist
		return "", fmt.Errorf("%w: Mangopay does not know %s %s: %w", ErrUnroutable, kind, id, err)
	case classOutage:
		return "", fmt.Errorf("%w: look up %s %s: %w", ErrMangopayUnavailable, kind, id, err)
	}
	return "", fmt.Errorf("look up %s %s at Mangopay: %w", kind, id, err)
}
