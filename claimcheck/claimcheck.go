// Package claimcheck keeps document pages in Redis between the platform's
// upload and the activity that sends them to Mangopay, so that file bytes
// never travel in Temporal payloads (2 MiB limit, unencrypted at rest unless
// a codec is set). Workflows carry only the keys.
package claimcheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned for a key that does not exist or has expired.
var ErrNotFound = errors.New("claimcheck: page not found")

// ErrTooLarge is returned for a page over the store's size limit.
var ErrTooLarge = errors.New("claimcheck: page too large")

// Defaults: pages only wait for the upload activity, so they live an hour;
// Mangopay accepts pages of about 7 MB.
const (
	DefaultTTL     = time.Hour
	DefaultMaxSize = 7 << 20
	keyPrefix      = "kycflow:page:"
)

// Store is a Redis-backed claim-check store.
type Store struct {
	rdb     redis.UniversalClient
	ttl     time.Duration
	maxSize int
}

// NewStore returns a store whose pages expire after ttl (DefaultTTL when
// zero) and are at most maxSize bytes (DefaultMaxSize when zero).
func NewStore(rdb redis.UniversalClient, ttl time.Duration, maxSize int) *Store {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Store{rdb: rdb, ttl: ttl, maxSize: maxSize}
}

// Put stores data and returns its claim key.
func (s *Store) Put(ctx context.Context, data []byte) (string, error) {
	if len(data) == 0 {
		return "", errors.New("claimcheck: empty page")
	}
	if len(data) > s.maxSize {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), s.maxSize)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("claimcheck: key: %w", err)
	}
	k := keyPrefix + hex.EncodeToString(b[:])
	if err := s.rdb.Set(ctx, k, data, s.ttl).Err(); err != nil {
		return "", fmt.Errorf("claimcheck: put: %w", err)
	}
	return k, nil
}

// Get returns the page stored under key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if !IsKey(key) {
		return nil, fmt.Errorf("%w: %q is not a claim key", ErrNotFound, key)
	}
	b, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("claimcheck: get: %w", err)
	}
	return b, nil
}

// Delete removes pages; missing keys are not an error. Anything that is not
// a claim key is left alone, so a bad input cannot delete other data.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return !IsKey(k) })
	if len(keys) == 0 {
		return nil
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("claimcheck: delete: %w", err)
	}
	return nil
}

// IsKey reports whether k has the shape of a key returned by Put, so that
// callers can reject arbitrary Redis keys before they reach Get.
func IsKey(k string) bool {
	if len(k) != len(keyPrefix)+32 || k[:len(keyPrefix)] != keyPrefix {
		return false
	}
	_, err := hex.DecodeString(k[len(keyPrefix):])
	return err == nil
}
