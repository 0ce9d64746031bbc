package stack

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedisIsEmbeddedUnlessTold: with no REDIS_URL the stack embeds its own
// Redis, even when one answers on 127.0.0.1:6379: that one may be shared,
// and a dev stack there would join another deployment's consumer group.
func TestRedisIsEmbeddedUnlessTold(t *testing.T) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second)
	if err != nil {
		t.Skip("no Redis on 127.0.0.1:6379: nothing to be tempted by")
	}
	_ = c.Close()
	s := &Stack{}
	defer func() {
		for _, f := range s.closers {
			f()
		}
	}()
	require.NoError(t, s.startRedis(context.Background(), "", ""))
	assert.True(t, s.RedisEmbedded, "the dev stack took the Redis at %s", s.RedisURL)
	assert.NotEqual(t, "redis://127.0.0.1:6379/0", s.RedisURL)
}
