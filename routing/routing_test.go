package routing_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/routing"
)

// forget deletes an entry when the test ends, so that runs against a shared
// Redis leave nothing behind for DefaultTTL.
func forget(t *testing.T, rdb *redis.Client, kind routing.Kind, resourceID string) {
	t.Helper()
	t.Cleanup(func() { _ = rdb.Del(context.Background(), "kycflow:route:"+string(kind)+":"+resourceID).Err() })
}

func TestPutLookup(t *testing.T) {
	rdb := redistest.New(t)
	ix := routing.NewIndex(rdb, 0)
	ctx := context.Background()

	tests := []struct {
		name string
		kind routing.Kind
	}{
		{"session", routing.KindSession},
		{"document", routing.KindDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resourceID, userID := "res_"+redistest.Unique(t), "user_"+redistest.Unique(t)
			forget(t, rdb, tt.kind, resourceID)
			require.NoError(t, ix.Put(ctx, tt.kind, resourceID, userID))

			got, found, err := ix.Lookup(ctx, tt.kind, resourceID)
			require.NoError(t, err)
			assert.True(t, found, "entry just written")
			assert.Equal(t, userID, got)

			require.NoError(t, ix.Put(ctx, tt.kind, resourceID, userID), "a retried activity writes the same entry again")
			got, found, err = ix.Lookup(ctx, tt.kind, resourceID)
			require.NoError(t, err)
			assert.True(t, found)
			assert.Equal(t, userID, got)
		})
	}
}

func TestKindsAreSeparate(t *testing.T) {
	rdb := redistest.New(t)
	ix := routing.NewIndex(rdb, 0)
	ctx := context.Background()
	resourceID, userID := "res_"+redistest.Unique(t), "user_"+redistest.Unique(t)
	forget(t, rdb, routing.KindSession, resourceID)
	require.NoError(t, ix.Put(ctx, routing.KindSession, resourceID, userID))

	got, found, err := ix.Lookup(ctx, routing.KindDocument, resourceID)
	require.NoError(t, err)
	assert.False(t, found, "a session entry must not answer for a document with the same id")
	assert.Empty(t, got)
}

func TestLookupMiss(t *testing.T) {
	rdb := redistest.New(t)
	ix := routing.NewIndex(rdb, 0)
	ctx := context.Background()

	tests := []struct {
		name       string
		resourceID string
		expire     bool
	}{
		{"never written", "res_" + redistest.Unique(t), false},
		{"expired", "res_" + redistest.Unique(t), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.expire {
				require.NoError(t, ix.Put(ctx, routing.KindSession, tt.resourceID, "user_1"))
				// An expiry time in the past removes the key at once, on a
				// real Redis as on miniredis, without waiting for the TTL.
				ok, err := rdb.ExpireAt(ctx, "kycflow:route:session:"+tt.resourceID, time.Unix(1, 0)).Result()
				require.NoError(t, err)
				require.True(t, ok, "the entry was written under the documented key")
			}
			got, found, err := ix.Lookup(ctx, routing.KindSession, tt.resourceID)
			require.NoError(t, err, "a miss is not an error")
			assert.False(t, found)
			assert.Empty(t, got)
		})
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
		{"zero means default", 0, routing.DefaultTTL},
		{"negative means default", -time.Second, routing.DefaultTTL},
		{"custom", 2 * time.Hour, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := routing.NewIndex(rdb, tt.ttl)
			resourceID := "res_" + redistest.Unique(t)
			forget(t, rdb, routing.KindDocument, resourceID)
			require.NoError(t, ix.Put(ctx, routing.KindDocument, resourceID, "user_1"))

			got, err := rdb.TTL(ctx, "kycflow:route:document:"+resourceID).Result()
			require.NoError(t, err)
			// A real Redis counts down while the test runs; a minute of slack
			// is far more than a test takes and far less than any TTL here.
			assert.LessOrEqual(t, got, tt.want, "TTL = %v, want at most %v", got, tt.want)
			assert.Greater(t, got, tt.want-time.Minute, "TTL = %v, want about %v", got, tt.want)
		})
	}
}

func TestPutValidation(t *testing.T) {
	rdb := redistest.New(t)
	ix := routing.NewIndex(rdb, 0)
	ctx := context.Background()

	tests := []struct {
		name       string
		resourceID string
		userID     string
	}{
		{"no resource id", "", "user_1"},
		{"no user id", "res_" + redistest.Unique(t), ""},
		{"neither", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ix.Put(ctx, routing.KindSession, tt.resourceID, tt.userID)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "required")
		})
	}

	for _, tt := range tests {
		_, found, err := ix.Lookup(ctx, routing.KindSession, tt.resourceID)
		require.NoError(t, err)
		assert.False(t, found, "%s: nothing may be written for a rejected pair", tt.name)
	}
}

func TestRedisDown(t *testing.T) {
	ix := routing.NewIndex(redistest.Unreachable(t), 0)
	ctx := context.Background()

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"put", func() error { return ix.Put(ctx, routing.KindSession, "res_1", "user_1") }, "routing: put session res_1"},
		{"lookup", func() error {
			_, found, err := ix.Lookup(ctx, routing.KindDocument, "res_1")
			assert.False(t, found)
			return err
		}, "routing: lookup document res_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tt.call() })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			var opErr *net.OpError
			assert.ErrorAs(t, err, &opErr, "the dial error is wrapped with %%w, got %v", err)
		})
	}
}
