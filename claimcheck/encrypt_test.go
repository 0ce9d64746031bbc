package claimcheck_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/payloadcodec"
)

func testCodec(t *testing.T, seeds ...byte) *payloadcodec.Codec {
	t.Helper()
	var keys [][]byte
	for _, s := range seeds {
		keys = append(keys, bytes.Repeat([]byte{s}, 32))
	}
	c, err := payloadcodec.New(keys)
	require.NoError(t, err)
	return c
}

// TestPagesEncryptedInRedis checks that with a payload key an ID document
// page never sits in clear in Redis (nor in its AOF files and backups).
func TestPagesEncryptedInRedis(t *testing.T) {
	rdb := redistest.New(t)
	ctx := context.Background()
	page := append([]byte("%PDF-1.4\nPassport of Alex Smith, born 1990-09-01\n"), bytes.Repeat([]byte("MRZ<<"), 2000)...)
	s := claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(testCodec(t, 1)))
	require.True(t, s.Encrypted())

	k, err := s.Put(ctx, page)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Delete(context.Background(), k) })

	raw, err := rdb.Get(ctx, k).Bytes()
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte("Alex Smith")), "the page is stored in clear")
	assert.False(t, bytes.Contains(raw, []byte("MRZ<<MRZ<<")), "the page is stored in clear")
	assert.Greater(t, len(raw), len(page), "sealed pages carry a header, nonce and tag")

	got, err := s.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, page, got)
}

func TestEncryptedPagesKeys(t *testing.T) {
	rdb := redistest.New(t)
	ctx := context.Background()
	old := claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(testCodec(t, 1)))
	k, err := old.Put(ctx, []byte("page one"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = old.Delete(context.Background(), k) })

	tests := []struct {
		name    string
		store   *claimcheck.Store
		want    []byte
		wantErr error
	}{
		{"same key", old, []byte("page one"), nil},
		{"rotated: new key first, old kept", claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(testCodec(t, 2, 1))), []byte("page one"), nil},
		{"another key only", claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(testCodec(t, 3))), nil, payloadcodec.ErrUnknownKey},
		{"no key at all", claimcheck.NewStore(rdb, 0, 0), nil, claimcheck.ErrEncrypted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.store.Get(ctx, k)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.NotErrorIs(t, err, claimcheck.ErrNotFound, "the page is there, just not readable here")
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestSealedPageBoundToItsKey: a sealed page copied under another claim key
// (by anyone with write access to Redis) does not open.
func TestSealedPageBoundToItsKey(t *testing.T) {
	rdb := redistest.New(t)
	ctx := context.Background()
	s := claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(testCodec(t, 1)))
	a, err := s.Put(ctx, []byte("page a"))
	require.NoError(t, err)
	b, err := s.Put(ctx, []byte("page b"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Delete(context.Background(), a, b) })

	raw, err := rdb.Get(ctx, a).Bytes()
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, b, raw, 0).Err())
	_, err = s.Get(ctx, b)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decrypt")

	raw[len(raw)-1] ^= 1 // tampered
	require.NoError(t, rdb.Set(ctx, a, raw, 0).Err())
	_, err = s.Get(ctx, a)
	assert.Error(t, err)
}

// TestClearPagesReadOnlyWithoutAKey: a store without a key reads and writes
// pages as they are (and a nil codec means no encryption rather than a
// crash), but a store with a key never returns an unsealed page: anyone with
// write access to Redis could otherwise swap a user's identity document for
// their own bytes under the same claim key, and it would be uploaded to
// Mangopay as the user's.
func TestClearPagesReadOnlyWithoutAKey(t *testing.T) {
	rdb := redistest.New(t)
	ctx := context.Background()
	plain := claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer((*payloadcodec.Codec)(nil)))
	assert.False(t, plain.Encrypted())
	k, err := plain.Put(ctx, []byte("old page"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Delete(context.Background(), k) })
	raw, err := rdb.Get(ctx, k).Result()
	require.NoError(t, err)
	assert.Equal(t, "old page", raw)
	got, err := plain.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, []byte("old page"), got)

	keyed := claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(testCodec(t, 1)))
	sealed, err := keyed.Put(ctx, []byte("the user's passport"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = keyed.Delete(context.Background(), sealed) })
	require.NoError(t, rdb.Set(ctx, sealed, "%PDF-1.4 the attacker's passport", 0).Err(), "swapped in Redis")
	for name, key := range map[string]string{"a page written in clear": k, "a sealed page swapped for clear bytes": sealed} {
		t.Run(name, func(t *testing.T) {
			got, err := keyed.Get(ctx, key)
			assert.ErrorIs(t, err, claimcheck.ErrUnsealed)
			assert.NotErrorIs(t, err, claimcheck.ErrNotFound, "the page is there, just not trusted")
			assert.Nil(t, got)
		})
	}
}
