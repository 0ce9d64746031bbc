package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the run's Redis acknowledged is there again after a SIGKILL and a
// restart on the same port and folder (the redis-restart fault), stream
// and consumer group included.
func TestRedisServerKeepsAcknowledgedWritesThroughAKill(t *testing.T) {
	if _, err := os.Stat(DefaultRedisServer); err != nil {
		t.Skipf("no %s: %v", DefaultRedisServer, err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	p, url, err := newRedisServer(DefaultRedisServer, filepath.Join(dir, "data"), filepath.Join(dir, "redis.log"))
	require.NoError(t, err)
	require.NoError(t, p.start(ctx))
	t.Cleanup(p.stop)
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	const n = 200
	for i := range n {
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: map[string]any{"i": i}}).Err())
	}
	require.NoError(t, rdb.XGroupCreate(ctx, "s", "g", "0").Err())
	require.NoError(t, rdb.Set(ctx, "cursor", "42", 0).Err())

	p.kill()
	require.NoError(t, p.start(ctx))

	assert.Equal(t, int64(n), rdb.XLen(ctx, "s").Val())
	groups, err := rdb.XInfoGroups(ctx, "s").Result()
	require.NoError(t, err)
	require.Len(t, groups, 1)
	assert.Equal(t, "g", groups[0].Name)
	assert.Equal(t, "42", rdb.Get(ctx, "cursor").Val())
	assert.Equal(t, map[string]string{"appendfsync": "always"}, rdb.ConfigGet(ctx, "appendfsync").Val())
}
