package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/kycflow/kycflow/internal/errclass"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
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
	// ErrLookupLimited: the fallback lookups are over their rate (a flood
	// of unknown IDs, forged or not): the event is looked up later.
	ErrLookupLimited = errors.New("fallback lookups over their rate")
	// ErrNotIndexedYet: a PSC session (psc_…) the routing index does not
	// know. Mangopay has no way to read a PSC by its ID alone (PSCs are
	// listed per user), so the event waits until an onboarding lists the
	// PSC, which indexes it: the forwarder holds it meanwhile.
	ErrNotIndexedYet = errors.New("not in the routing index yet")
)

// Resolver finds the user a webhook is about: USER_* events name the user,
// IDV events a session and KYC_* events a document, looked up in the
// routing index the activities write, then at Mangopay when the index
// misses.
type Resolver struct {
	Index    *routing.Index
	Mangopay *mangopay.Client // nil: no fallback
	Metrics  *Metrics         // counts the fallback lookups; may be nil
	// Unknown remembers, for UnknownTTL, the resources Mangopay answered
	// 404 for, so that repeated webhooks naming them (forged ones) cost no
	// further call. Nil: no memory.
	Unknown    redis.UniversalClient
	UnknownTTL time.Duration
	// Limit bounds the fallback lookups (and restarts) of this bridge;
	// nil: unbounded.
	Limit *rate.Limiter

	inflight singleflight.Group // one lookup per resource at a time
}

// Fallback lookup defaults.
const (
	DefaultUnknownTTL            = 10 * time.Minute
	DefaultFallbackLookupsPerSec = 5
	unknownPrefix                = "kycflow:webhooks:unknown:"
)

func (r *Resolver) allow() bool { return r == nil || r.Limit == nil || r.Limit.Allow() }

// UserFor returns the user ev belongs to. ErrUnroutable is final;
// ErrMangopayUnavailable and Redis outages pass; any other error is the
// event's own (a Mangopay 400, say).
func (r *Resolver) UserFor(ctx context.Context, ev webhookstream.MangopayEvent) (string, error) {
	var kind routing.Kind
	switch ev.EventType.Resource() {
	case mangopay.ResourceUser:
		return ev.ResourceID, nil
	case mangopay.ResourceIDVSession:
		kind = routing.KindSession
		if mangopay.IsPSCID(ev.ResourceID) {
			// A PSC webhook may name the PSC rather than the main session.
			kind = routing.KindPSC
		}
	case mangopay.ResourceKYCDocument:
		kind = routing.KindDocument
	default:
		return "", fmt.Errorf("%w: kycflow does not handle %s events", ErrUnroutable, ev.EventType)
	}
	userID, found, err := r.Index.Lookup(ctx, kind, ev.ResourceID)
	if err != nil || found {
		return userID, err
	}
	if kind == routing.KindPSC {
		// Mangopay has no GET for a PSC by its ID (only GET
		// /users/{UserId}/pscs, per user): a PSC webhook can beat the
		// workflow's first listing of the PSC, which indexes it.
		return "", fmt.Errorf("%w: %s %s is not listed by an onboarding yet", ErrNotIndexedYet, kind, ev.ResourceID)
	}
	if r.Mangopay == nil {
		return "", fmt.Errorf("%w: %s %s is not in the routing index", ErrUnroutable, kind, ev.ResourceID)
	}
	unknownKey := unknownPrefix + string(kind) + ":" + ev.ResourceID
	if r.Unknown != nil {
		n, err := r.Unknown.Exists(ctx, unknownKey).Result()
		if err != nil {
			return "", err
		}
		if n > 0 {
			return "", fmt.Errorf("%w: Mangopay does not know %s %s (answered 404 within %s)", ErrUnroutable, kind, ev.ResourceID, r.unknownTTL())
		}
	}
	// Copies of one webhook arrive together: they share one lookup.
	v, err, _ := r.inflight.Do(unknownKey, func() (any, error) {
		if !r.allow() {
			return "", ErrLookupLimited
		}
		userID, err := r.ask(ctx, kind, ev.ResourceID)
		r.Metrics.observeLookup(err)
		if errors.Is(err, ErrUnroutable) && r.Unknown != nil {
			if serr := r.Unknown.Set(ctx, unknownKey, "404", r.unknownTTL()).Err(); serr != nil {
				return "", serr
			}
		}
		return userID, err
	})
	if err != nil {
		return "", err
	}
	userID = v.(string)
	if err := r.Index.Put(ctx, kind, ev.ResourceID, userID); err != nil {
		return "", err
	}
	return userID, nil
}

func (r *Resolver) unknownTTL() time.Duration {
	if r.UnknownTTL > 0 {
		return r.UnknownTTL
	}
	return DefaultUnknownTTL
}

func (r *Resolver) ask(ctx context.Context, kind routing.Kind, id string) (string, error) {
	var userID string
	var err error
	if kind == routing.KindSession {
		var iv *mangopay.IdentityVerification
		if iv, err = r.Mangopay.GetIdentityVerification(ctx, id); err == nil {
			userID = iv.UserID
			// A read that lists PSC sessions indexes them, so that their
			// webhooks (and those held for want of it) reach the user.
			// Best effort: the onboarding's own reads index them too.
			for _, p := range iv.PSCs {
				if userID != "" && p.ID != "" {
					_ = r.Index.Put(ctx, routing.KindPSC, p.ID, userID)
				}
			}
		}
	} else {
		var d *mangopay.KYCDocument
		if d, err = r.Mangopay.GetKYCDocument(ctx, id); err == nil {
			userID = d.UserID
		}
	}
	switch errclass.Of(err) {
	case errclass.None:
		if userID == "" {
			return "", fmt.Errorf("%w: Mangopay gave no user for %s %s", ErrUnroutable, kind, id)
		}
		return userID, nil
	case errclass.NotFound: // only a 404 says the resource does not exist
		return "", fmt.Errorf("%w: Mangopay does not know %s %s: %w", ErrUnroutable, kind, id, err)
	case errclass.Outage:
		return "", fmt.Errorf("%w: look up %s %s: %w", ErrMangopayUnavailable, kind, id, err)
	}
	return "", fmt.Errorf("look up %s %s at Mangopay: %w", kind, id, err)
}
