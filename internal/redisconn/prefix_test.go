package redisconn_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
)

// TestKeyPrefixSeparatesDeployments: two deployments sharing a Redis, each
// with its own REDIS_KEY_PREFIX, never see each other's webhook stream (nor
// join its consumer group), routes or pages; with the default prefix the
// key names are today's. The call budget stays one per Mangopay account.
func TestKeyPrefixSeparatesDeployments(t *testing.T) {
	mr := miniredis.RunT(t)
	url := "redis://" + mr.Addr() + "/0"
	raw := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	ctx := context.Background()
	client := func(prefix string) *redis.Client {
		rdb, err := redisconn.NewPrefixed(url, prefix)
		require.NoError(t, err)
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	a, b, def := client("deploy-a"), client("deploy-b"), client(redisconn.DefaultKeyPrefix)

	// A's bridge takes a webhook and creates its consumer group.
	store := webhookstream.NewStore(a)
	defer store.Close()
	ev := webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_VALIDATED", ResourceID: "idv_1", Date: time.Now().Unix()}
	require.NoError(t, store.Append(ctx, ev, time.Now()))
	require.NoError(t, a.XGroupCreateMkStream(ctx, webhookstream.StreamKey, webhookstream.GroupName, "0").Err())

	assert.EqualValues(t, 1, a.XLen(ctx, webhookstream.StreamKey).Val(), "A reads its own stream")
	assert.EqualValues(t, 0, b.XLen(ctx, webhookstream.StreamKey).Val(), "B never sees A's webhooks")
	assert.Error(t, b.XInfoGroups(ctx, webhookstream.StreamKey).Err(), "B never joins A's consumer group")
	assert.EqualValues(t, 1, raw.Exists(ctx, "deploy-a:webhooks").Val())
	assert.EqualValues(t, 0, raw.Exists(ctx, webhookstream.StreamKey).Val(), "no unprefixed key")

	// Pipelines and scripts too (the routing index and the page store).
	require.NoError(t, routing.NewIndex(a, time.Hour).Put(ctx, routing.KindSession, "idv_1", "user_1"))
	_, found, err := routing.NewIndex(b, time.Hour).Lookup(ctx, routing.KindSession, "idv_1")
	require.NoError(t, err)
	assert.False(t, found, "B has no route of A's")
	got, found, err := routing.NewIndex(a, time.Hour).Lookup(ctx, routing.KindSession, "idv_1")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "user_1", got)
	pages := claimcheck.NewStore(a, time.Hour, 1<<20)
	key, err := pages.Put(ctx, []byte("page"))
	require.NoError(t, err)
	assert.True(t, claimcheck.IsKey(key), "the reference the workflow keeps does not depend on the deployment")
	assert.EqualValues(t, 1, raw.Exists(ctx, "deploy-a"+key[len("kycflow"):]).Val())

	// The default prefix keeps today's names.
	require.NoError(t, def.Set(ctx, "kycflow:reconcile:events-cursor", 1, 0).Err())
	assert.EqualValues(t, 1, raw.Exists(ctx, "kycflow:reconcile:events-cursor").Val())

	// One call budget per Mangopay account, whatever the deployment.
	require.NoError(t, a.Set(ctx, "kycflow:mangopay-budget:client", 1, 0).Err())
	assert.EqualValues(t, 1, raw.Exists(ctx, "kycflow:mangopay-budget:client").Val())
}
