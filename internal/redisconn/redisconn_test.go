package redisconn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redisconn"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr bool
	}{
		{url: "redis://127.0.0.1:6379/0"},
		{url: "rediss://:secret@redis.example:6380/2"},
		{url: "redis://127.0.0.1:6379/0?pool_size=20&read_timeout=2s"},
		{url: "http://127.0.0.1:6379/0", wantErr: true},
		{url: "redis://:s3cret@127.0.0.1:6379/notadb", wantErr: true},
		{url: "redis://:s3cret@[::1:6379/0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := redisconn.CheckURL(tt.url)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "s3cret", "the password never reaches a log")
			assert.Contains(t, err.Error(), "REDIS_URL")
		})
	}
}

// TestOptionsHonourContextDeadlines: every process's client ends a command
// with its context (a webhook's 1.5 s), not with go-redis's own 5 s read
// timeout, and keeps the URL's other options.
func TestOptionsHonourContextDeadlines(t *testing.T) {
	opts, err := redisconn.Options("redis://127.0.0.1:6379/3?pool_size=7")
	require.NoError(t, err)
	assert.True(t, opts.ContextTimeoutEnabled)
	assert.Equal(t, 3, opts.DB)
	assert.Equal(t, 7, opts.PoolSize)
}
