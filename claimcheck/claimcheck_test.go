package claimcheck_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redistest"
)

// unknownKey is a well-formed key that Put never returned.
const unknownKey = "kycflow:page:00000000000000000000000000000000"

func TestPutGetDelete(t *testing.T) {
	rdb := redistest.New(t)
	s := claimcheck.NewStore(rdb, 0, 0)
	ctx := context.Background()

	tests := []struct {
		name string
		data []byte
	}{
		{"one byte", []byte{'x'}},
		{"binary with zero bytes", []byte{0, 0xFF, 0, '\n', 0x80}},
		{"pdf page", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0}, 40<<10)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := s.Put(ctx, tt.data)
			require.NoError(t, err)
			assert.True(t, claimcheck.IsKey(k), "Put returned %q, which IsKey rejects", k)

			got, err := s.Get(ctx, k)
			require.NoError(t, err)
			assert.Equal(t, tt.data, got)

			require.NoError(t, s.Delete(ctx, k))
			_, err = s.Get(ctx, k)
			assert.ErrorIs(t, err, claimcheck.ErrNotFound)
		})
	}
}

func TestPutKeysAreUnique(t *testing.T) {
	s := claimcheck.NewStore(redistest.New(t), 0, 0)
	ctx := context.Background()
	seen := map[string]bool{}
	for i := range 20 {
		k, err := s.Put(ctx, []byte("same page"))
		require.NoError(t, err)
		assert.False(t, seen[k], "put %d returned key %s twice", i, k)
		seen[k] = true
	}
	for k := range seen {
		require.NoError(t, s.Delete(ctx, k))
	}
}

func TestPutSetsTTL(t *testing.T) {
	rdb := redistest.New(t)
	ctx := context.Background()

	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration
	}{
		{"zero means default", 0, claimcheck.DefaultTTL},
		{"negative means default", -time.Minute, claimcheck.DefaultTTL},
		{"custom", 10 * time.Minute, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := claimcheck.NewStore(rdb, tt.ttl, 0)
			k, err := s.Put(ctx, []byte("page"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Delete(context.Background(), k) })

			got, err := rdb.TTL(ctx, k).Result()
			require.NoError(t, err)
			// A real Redis counts down while the test runs.
			assert.LessOrEqual(t, got, tt.want, "TTL = %v, want at most %v", got, tt.want)
			assert.Greater(t, got, tt.want-time.Minute, "TTL = %v, want about %v", got, tt.want)
		})
	}
}

func TestGetNotFound(t *testing.T) {
	rdb := redistest.New(t)
	s := claimcheck.NewStore(rdb, 0, 0)
	ctx := context.Background()

	expired, err := s.Put(ctx, []byte("page"))
	require.NoError(t, err)
	// An expiry time in the past removes the key at once, on a real Redis as
	// on miniredis, without waiting for the TTL.
	ok, err := rdb.ExpireAt(ctx, expired, time.Unix(1, 0)).Result()
	require.NoError(t, err)
	require.True(t, ok)

	tests := []struct {
		name string
		key  string
	}{
		{"expired", expired},
		{"unknown", unknownKey},
		{"empty", ""},
		{"arbitrary redis key", "kycflow:route:session:idnver_1"},
		{"prefix only", "kycflow:page:"},
		{"not hex", "kycflow:page:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"},
		{"too short", unknownKey[:len(unknownKey)-2]},
		{"too long", unknownKey + "00"},
		{"other prefix", "kycflow:xxxx:00000000000000000000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Get(ctx, tt.key)
			require.Error(t, err)
			assert.ErrorIs(t, err, claimcheck.ErrNotFound)
			assert.Nil(t, got)
		})
	}
}

func TestMalformedKeysNeverReachRedis(t *testing.T) {
	// With Redis down, a malformed key still gets ErrNotFound rather than a
	// connection error: it was rejected before any command was sent.
	s := claimcheck.NewStore(redistest.Unreachable(t), 0, 0)
	_, err := s.Get(context.Background(), "kycflow:route:session:idnver_1")
	assert.ErrorIs(t, err, claimcheck.ErrNotFound)
	var opErr *net.OpError
	assert.False(t, errors.As(err, &opErr), "no dial was attempted: %v", err)
}

func TestPutSizeLimits(t *testing.T) {
	rdb := redistest.New(t)
	ctx := context.Background()

	tests := []struct {
		name    string
		maxSize int
		size    int
		wantErr error
	}{
		{"at the limit", 10, 10, nil},
		{"one byte over", 10, 11, claimcheck.ErrTooLarge},
		{"default limit exceeded", 0, claimcheck.DefaultMaxSize + 1, claimcheck.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := claimcheck.NewStore(rdb, 0, tt.maxSize)
			k, err := s.Put(ctx, bytes.Repeat([]byte{'p'}, tt.size))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, k)
				return
			}
			require.NoError(t, err)
			require.NoError(t, s.Delete(ctx, k))
		})
	}
}

func TestPutEmptyPage(t *testing.T) {
	s := claimcheck.NewStore(redistest.New(t), 0, 0)
	for _, data := range [][]byte{nil, {}} {
		k, err := s.Put(context.Background(), data)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "empty page")
		assert.NotErrorIs(t, err, claimcheck.ErrTooLarge)
		assert.Empty(t, k)
	}
}

func TestDelete(t *testing.T) {
	s := claimcheck.NewStore(redistest.New(t), 0, 0)
	ctx := context.Background()
	a, err := s.Put(ctx, []byte("a"))
	require.NoError(t, err)
	b, err := s.Put(ctx, []byte("b"))
	require.NoError(t, err)

	tests := []struct {
		name string
		keys []string
	}{
		{"no keys", nil},
		{"several keys at once", []string{a, b}},
		{"already deleted", []string{a, b}},
		{"unknown", []string{unknownKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, s.Delete(ctx, tt.keys...))
			for _, k := range tt.keys {
				_, err := s.Get(ctx, k)
				assert.ErrorIs(t, err, claimcheck.ErrNotFound, "key %s", k)
			}
		})
	}
}

func TestRedisDown(t *testing.T) {
	s := claimcheck.NewStore(redistest.Unreachable(t), 0, 0)
	ctx := context.Background()

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"put", func() error { _, err := s.Put(ctx, []byte("page")); return err }, "claimcheck: put"},
		{"get", func() error { _, err := s.Get(ctx, unknownKey); return err }, "claimcheck: get"},
		{"delete", func() error { return s.Delete(ctx, unknownKey) }, "claimcheck: delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tt.call() })
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.want), "error %q, want prefix %q", err, tt.want)
			assert.NotErrorIs(t, err, claimcheck.ErrNotFound, "Redis being down is not a missing page")
			var opErr *net.OpError
			assert.ErrorAs(t, err, &opErr, "the dial error is wrapped with %%w, got %v", err)
		})
	}
}

func TestIsKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{"well formed", unknownKey, true},
		{"upper-case hex", "kycflow:page:ABCDEF0123456789ABCDEF0123456789", true},
		{"empty", "", false},
		{"prefix only", "kycflow:page:", false},
		{"not hex", "kycflow:page:g0000000000000000000000000000000", false},
		{"too short", unknownKey[:len(unknownKey)-1], false},
		{"too long", unknownKey + "0", false},
		{"other prefix", "kycflow:PAGE:00000000000000000000000000000000", false},
		{"routing key", "kycflow:route:session:00000000000000000000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, claimcheck.IsKey(tt.key), "IsKey(%q)", tt.key)
		})
	}
}

// TestDeleteLeavesOtherKeysAlone checks that Delete, like Get, touches only
// claim keys: the keys it is given come from workflow input, and a key of
// another kind (a routing entry, another application's data in a shared
// Redis) must survive it.
func TestDeleteLeavesOtherKeysAlone(t *testing.T) {
	rdb := redistest.New(t)
	s := claimcheck.NewStore(rdb, 0, 0)
	ctx := context.Background()

	other := "kycflow:route:session:" + redistest.Unique(t)
	require.NoError(t, rdb.Set(ctx, other, "user_1", time.Hour).Err())
	t.Cleanup(func() { _ = rdb.Del(context.Background(), other).Err() })
	page, err := s.Put(ctx, []byte("page"))
	require.NoError(t, err)

	_ = s.Delete(ctx, page, other)

	_, err = s.Get(ctx, page)
	assert.ErrorIs(t, err, claimcheck.ErrNotFound, "the page is deleted")
	n, err := rdb.Exists(ctx, other).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "Delete removed %s, which is not a claim key", other)
}
