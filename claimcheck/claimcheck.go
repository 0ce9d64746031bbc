// Package claimcheck keeps document pages in Redis between the platform's
// upload and the activity that sends them to Mangopay, so that file bytes
// never travel in Temporal payloads (2 MiB limit, unencrypted at rest unless
// a codec is set). Workflows carry only the keys. With a Sealer (the payload
// codec, PAYLOAD_ENCRYPTION_KEY) pages are encrypted before they reach
// Redis, its AOF files and its backups.
package claimcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned for a key that does not exist or has expired.
var ErrNotFound = errors.New("claimcheck: page not found")

// ErrTooLarge is returned for a page over the store's size limit.
var ErrTooLarge = errors.New("claimcheck: page too large")

// ErrEncrypted is returned by a store without a Sealer for a page that was
// stored encrypted: the process lacks PAYLOAD_ENCRYPTION_KEY.
var ErrEncrypted = errors.New("claimcheck: page is encrypted and this store has no key (set PAYLOAD_ENCRYPTION_KEY)")

// ErrUnsealed is returned by a store with a Sealer for a page that is not
// sealed: it was written in clear, by a process without the key or by
// someone with write access to Redis, and is never handed on as the user's.
var ErrUnsealed = errors.New("claimcheck: page is not sealed and this store only trusts sealed pages (was it written by a process without PAYLOAD_ENCRYPTION_KEY, or swapped in Redis?)")

// Sealer encrypts pages with authentication (AES-GCM in
// payloadcodec.Codec). ad is the claim key: a sealed page copied under
// another key does not open.
type Sealer interface {
	Seal(plain, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// sealedMagic starts every encrypted page, so that a store tells sealed
// pages from clear ones: a store without a key reads clear pages as they
// are, a store with a key refuses them (ErrUnsealed). No PDF, JPEG or PNG
// starts so.
var sealedMagic = []byte("kycflow-sealed-page/1\x00")

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
	sealer  Sealer
}

// Option configures a Store.
type Option func(*Store)

// WithSealer encrypts pages with s; nil leaves them in clear.
func WithSealer(s Sealer) Option {
	return func(st *Store) {
		if s != nil && !isNilPointer(s) {
			st.sealer = s
		}
	}
}

// isNilPointer catches a typed nil (payloadcodec.FromEnv returns a nil
// *Codec when no key is set), which would otherwise pass as a Sealer.
func isNilPointer(s Sealer) bool {
	v := reflect.ValueOf(s)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// NewStore returns a store whose pages expire after ttl (DefaultTTL when
// zero) and are at most maxSize bytes (DefaultMaxSize when zero).
func NewStore(rdb redis.UniversalClient, ttl time.Duration, maxSize int, opts ...Option) *Store {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	s := &Store{rdb: rdb, ttl: ttl, maxSize: maxSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Encrypted reports whether the store encrypts the pages it puts.
func (s *Store) Encrypted() bool { return s.sealer != nil }

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
	if s.sealer != nil {
		sealed, err := s.sealer.Seal(data, []byte(k))
		if err != nil {
			return "", fmt.Errorf("claimcheck: encrypt: %w", err)
		}
		data = append(slices.Clip(sealedMagic), sealed...)
	}
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
	sealed, ok := bytes.CutPrefix(b, sealedMagic)
	switch {
	case !ok && s.sealer != nil:
		return nil, fmt.Errorf("%w: %s", ErrUnsealed, key)
	case !ok:
		return b, nil
	case s.sealer == nil:
		return nil, fmt.Errorf("%w: %s", ErrEncrypted, key)
	}
	plain, err := s.sealer.Open(sealed, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("claimcheck: decrypt %s: %w", key, err)
	}
	return plain, nil
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
