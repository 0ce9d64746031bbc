package bridge_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookstream"
)

// streamWrites records every command that adds to or trims the webhook
// stream, as sent to Redis.
type streamWrites struct {
	mu   sync.Mutex
	cmds [][]string
}

func (w *streamWrites) DialHook(next redis.DialHook) redis.DialHook { return next }

func (w *streamWrites) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		w.record(cmd)
		return next(ctx, cmd)
	}
}

func (w *streamWrites) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			w.record(c)
		}
		return next(ctx, cmds)
	}
}

func (w *streamWrites) record(cmd redis.Cmder) {
	args := make([]string, len(cmd.Args()))
	for i, a := range cmd.Args() {
		args[i] = strings.ToLower(fmt.Sprint(a))
	}
	if len(args) > 1 && (args[0] == "xadd" || args[0] == "xtrim") && args[1] == webhookstream.StreamKey {
		w.mu.Lock()
		w.cmds = append(w.cmds, args)
		w.mu.Unlock()
	}
}

// TestStreamNeverTrimmed: nothing the bridge sends trims the webhook
// stream (a trim drops entries whatever is pending, and with them webhooks
// Mangopay was told are stored); handled entries are deleted once
// acknowledged instead, so the stream holds only the backlog, and an entry
// still pending stays whatever comes after it.
func TestStreamNeverTrimmed(t *testing.T) {
	shared := newRedis(t)
	rdb := redis.NewClient(shared.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	writes := &streamWrites{}
	rdb.AddHook(writes)

	e := newForwarderEnv(t)
	e.rdb, e.store = rdb, webhookstream.NewStore(rdb)
	tc := newFakeTemporal()
	tc.poison["kyc-u_stuck"] = fmt.Errorf("test: refused") // stays pending: MaxAttempts is high
	f := e.forwarder("a", tc, nil)
	f.MaxAttempts = 1000
	startForwarder(t, f)
	stuck := e.append("USER_KYC_LIGHT", "u_stuck")
	const n = 50
	for i := range n {
		e.append("USER_KYC_LIGHT", "u_"+strconv.Itoa(i))
	}
	require.Eventually(t, func() bool { return len(tc.signalled()) == n }, waitFor, tick)
	require.Eventually(t, func() bool { return rdb.XLen(context.Background(), webhookstream.StreamKey).Val() == 1 }, waitFor, tick,
		"handled entries are deleted once acknowledged")
	left, err := rdb.XRange(context.Background(), webhookstream.StreamKey, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, stuck.ResourceID, left[0].Values["r"], "the pending entry stays")

	writes.mu.Lock()
	defer writes.mu.Unlock()
	require.NotEmpty(t, writes.cmds)
	for _, c := range writes.cmds {
		assert.NotEqual(t, "xtrim", c[0], "%v", c)
		assert.NotContains(t, c, "maxlen", "%v", c)
		assert.NotContains(t, c, "minid", "%v", c)
	}
}

// TestForwarderVanishedEntries: entries deleted from the stream while
// pending (trimmed by hand, or by an older bridge) are counted, and the
// dedupe keys they held are released, so that Mangopay's redelivery of
// those events is forwarded rather than dropped as a duplicate for 74 h.
func TestForwarderVanishedEntries(t *testing.T) {
	if !realRedis() {
		t.Skip("needs a real Redis (REDIS_URL): miniredis's XAUTOCLAIM does not report deleted entries")
	}
	e := newForwarderEnv(t)
	ctx := context.Background()
	const n = 3
	var events []string
	for i := range n {
		events = append(events, e.append("USER_KYC_LIGHT", "u_"+strconv.Itoa(i)).ResourceID)
	}
	own := e.append("USER_KYC_LIGHT", "u_own") // read by "b" itself before it dies

	// Bridge "a" takes the first n entries (and their dedupe keys), hangs
	// in Temporal, and is killed.
	hung := newFakeTemporal()
	hung.hang, hung.entered = make(chan struct{}), make(chan string, n+1)
	a := e.forwarder("a", hung, nil)
	actx, kill := context.WithCancel(ctx)
	a.Done = make(chan struct{})
	go func() { _ = a.Run(actx) }()
	for range n + 1 {
		select {
		case <-hung.entered:
		case <-time.After(waitFor):
			t.Fatal("bridge a never read the entries")
		}
	}
	kill()
	<-a.Done
	require.Equal(t, int64(n+1), e.pending())
	// Move the last one to consumer "b", as if b had read it and died.
	p, err := e.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: webhookstream.StreamKey, Group: webhookstream.GroupName, Start: "-", End: "+", Count: 10}).Result()
	require.NoError(t, err)
	require.NoError(t, e.rdb.XClaim(ctx, &redis.XClaimArgs{Stream: webhookstream.StreamKey, Group: webhookstream.GroupName, Consumer: "b", Messages: []string{p[n].ID}}).Err())

	// Someone trims the stream.
	require.NoError(t, e.rdb.XTrimMaxLen(ctx, webhookstream.StreamKey, 0).Err())

	tc := newFakeTemporal()
	b := e.forwarder("b", tc, nil)
	b.ClaimIdle = 300 * time.Millisecond
	startForwarder(t, b)
	require.Eventually(t, func() bool { return e.pending() == 0 }, waitFor, tick, "the vanished entries leave the group")
	// Redis drops them from the group within XAUTOCLAIM itself, so the count
	// may follow a moment later.
	require.Eventually(t, func() bool { return testutil.ToFloat64(e.metrics.Vanished) >= float64(n+1) }, waitFor, tick,
		"each vanished entry is counted")
	assert.Equal(t, float64(n+1), testutil.ToFloat64(e.metrics.Vanished), "each vanished entry is counted once")

	// Mangopay redelivers: each event is forwarded once.
	for _, r := range append(events, own.ResourceID) {
		e.append("USER_KYC_LIGHT", r)
	}
	require.Eventually(t, func() bool { return len(tc.signalled()) == n+1 }, waitFor, tick, "the redeliveries are forwarded")
	assert.Zero(t, testutil.ToFloat64(e.metrics.Duplicates), "nothing dropped as a duplicate")
	assert.Empty(t, e.entries(webhookstream.DeadLetterKey))
	close(hung.hang)
}

// TestCheckRedisDurability starts Redis servers of its own (the shared one
// must not be reconfigured) with the settings an operator might have.
func TestCheckRedisDurability(t *testing.T) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("needs redis-server on PATH")
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings of the problems, in order
	}{
		{name: "durable", args: []string{"--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"}},
		{name: "no persistence, evicting", args: []string{"--appendonly", "no", "--save", "", "--maxmemory-policy", "allkeys-lru"},
			want: []string{"persistence is off", `maxmemory-policy is "allkeys-lru"`}},
		{name: "snapshots only", args: []string{"--appendonly", "no", "--save", "900 1", "--maxmemory-policy", "noeviction"},
			want: []string{"only snapshots"}},
		{name: "volatile eviction", args: []string{"--appendonly", "yes", "--maxmemory-policy", "volatile-ttl"},
			want: []string{`maxmemory-policy is "volatile-ttl"`}},
		{name: "append-only file never synced", args: []string{"--appendonly", "yes", "--appendfsync", "no", "--save", "", "--maxmemory-policy", "noeviction"},
			want: []string{"appendfsync no: a host crash loses up to 30 s of acknowledged webhooks; docs/operations.md recommends appendfsync everysec"}},
		{name: "append-only file synced every second", args: []string{"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := startRedisServer(t, server, tt.args...)
			problems, err := bridge.CheckRedisDurability(context.Background(), rdb)
			require.NoError(t, err)
			require.Len(t, problems, len(tt.want), "%q", problems)
			for i, w := range tt.want {
				assert.Contains(t, problems[i], w)
			}
		})
	}
}

// startRedisServer runs a throwaway redis-server on a free loopback port.
func startRedisServer(t *testing.T, server string, args ...string) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	cmd := exec.Command(server, append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir(), "--daemonize", "no"}, args...)...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb, err := redisconn.New("redis://127.0.0.1:" + port + "/0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, waitFor, tick, "redis-server answers")
	return rdb
}
