// Package routing keeps the index from Mangopay resources (IDV sessions and
// KYC documents) to the user whose onboarding they belong to. The activities
// write it when they create a resource; the webhook bridge reads it to route
// a webhook, which carries only a resource id, to the user's workflow.
package routing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kind is the kind of an indexed resource.
type Kind string

// Kinds of resources that webhooks name.
const (
	KindSession  Kind = "session"
	KindDocument Kind = "document"
	// KindPSC: a business's PSC session (psc_…), named by the 2026 PSC
	// webhooks; indexed when the workflow lists the PSC sessions.
	KindPSC Kind = "psc"
)

// DefaultTTL keeps entries well past Mangopay's 3-day webhook retry window
// and a session's 7-day lifetime; a miss falls back to the API anyway.
const DefaultTTL = 30 * 24 * time.Hour

// keyPrefix namespaces kycflow's keys in a shared Redis.
const keyPrefix = "kycflow:route:"

// Index is the Redis-backed routing index.
type Index struct {
	rdb redis.UniversalClient
	ttl time.Duration
}

// NewIndex returns an index whose entries expire after ttl (DefaultTTL when
// zero).
func NewIndex(rdb redis.UniversalClient, ttl time.Duration) *Index {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Index{rdb: rdb, ttl: ttl}
}

// Key is the Redis key of a resource's entry (the bridge reads held PSC
// webhooks' entries in one pipeline).
func Key(kind Kind, resourceID string) string { return keyPrefix + string(kind) + ":" + resourceID }

// Put records that resourceID belongs to userID. Writing the same entry again
// is harmless, so a retried activity may call it again.
func (ix *Index) Put(ctx context.Context, kind Kind, resourceID, userID string) error {
	if resourceID == "" || userID == "" {
		return fmt.Errorf("routing: put %s: resource id and user id are required", kind)
	}
	if err := ix.rdb.Set(ctx, Key(kind, resourceID), userID, ix.ttl).Err(); err != nil {
		return fmt.Errorf("routing: put %s %s: %w", kind, resourceID, err)
	}
	return nil
}

// Lookup returns the user a resource belongs to; found is false when the
// index has no entry (expired, or never written).
func (ix *Index) Lookup(ctx context.Context, kind Kind, resourceID string) (userID string, found bool, err error) {
	v, err := ix.rdb.Get(ctx, Key(kind, resourceID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("routing: lookup %s %s: %w", kind, resourceID, err)
	}
	return v, true, nil
}
