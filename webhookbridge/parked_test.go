package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

// TestParkedActionsTakeAReasonAndAnOperator: replaying or purging a parked
// stream is an operator action: without --reason, or without an operator
// (--operator or KYCFLOW_OPERATOR), it is refused before Redis is reached;
// with both it runs and the log says who did what and why.
func TestParkedActionsTakeAReasonAndAnOperator(t *testing.T) {
	unreachable := bridge.Config{RedisURL: "redis://127.0.0.1:1/0", RedisKeyPrefix: "unused"}
	noEnv := func(string) string { return "" }
	refused := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"replay without a reason", []string{"replay", "--operator", "alice", "-all"}, noEnv, "--reason"},
		{"purge without a reason", []string{"purge", "--operator", "alice", "1-0"}, noEnv, "--reason"},
		{"purge with a blank reason", []string{"purge", "--operator", "alice", "--reason", " ", "-all"}, noEnv, "--reason"},
		{"replay without an operator", []string{"replay", "--reason", "Mangopay fixed the outage", "-all"}, noEnv, "KYCFLOW_OPERATOR"},
		{"an operator name with spaces", []string{"replay", "--reason", "x", "--operator", "al ice", "-all"}, noEnv, "--operator"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			var out, log bytes.Buffer
			err := parked(context.Background(), unreachable, "dead-letters", tt.args, &out, tt.env, slog.New(slog.NewTextHandler(&log, nil)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "127.0.0.1:1", "refused before Redis is reached")
		})
	}

	if os.Getenv(redistest.EnvURL) == "" {
		t.Skip("the run itself needs a Redis (REDIS_URL)")
	}
	cfg := bridge.Config{RedisURL: os.Getenv(redistest.EnvURL), RedisKeyPrefix: redistest.Unique(t)}
	var out, log bytes.Buffer
	env := func(k string) string { return map[string]string{EnvOperator: "bob"}[k] }
	err := parked(context.Background(), cfg, "unrouted", []string{"purge", "--reason", "test entries, ticket 7", "-all"}, &out, env,
		slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	assert.Contains(t, out.String(), "purged 0 unrouted entries")
	assert.Contains(t, log.String(), `actor=operator:bob`)
	assert.Contains(t, log.String(), `reason="test entries, ticket 7"`)
	assert.Contains(t, log.String(), `action="unrouted purge"`)
}
