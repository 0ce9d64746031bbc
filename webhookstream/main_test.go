package webhookstream_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redistest"
)

// The stream's key names are fixed, as production needs (every bridge
// meets on the same stream), so unique keys cannot keep these tests apart
// from other runs against a shared Redis: against a real Redis (REDIS_URL)
// they take a database of their own, streamTestDB, locked for the run and
// flushed before each test; without REDIS_URL, an embedded miniredis.
const streamTestDB = 13

var shared struct {
	once   sync.Once
	locked *redistest.Exclusive
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.locked != nil {
		shared.locked.Release()
	}
	os.Exit(code)
}

// newRedis returns an empty Redis database for one test.
func newRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	url := os.Getenv(redistest.EnvURL)
	if url == "" {
		return redistest.New(t)
	}
	shared.once.Do(func() {
		shared.locked, shared.err = redistest.LockDB(context.Background(), url, streamTestDB, "webhookstream-tests", 5*time.Minute)
	})
	require.NoError(t, shared.err)
	require.NoError(t, shared.locked.Flush(context.Background()))
	return shared.locked.Client
}
