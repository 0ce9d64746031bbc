package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// metricValues scrapes the bridge's registry and returns the value of
// every sample whose line starts with one of the given prefixes (name and
// labels as exposed).
func metricValues(t testing.TB, m *bridge.Metrics) map[string]string {
	t.Helper()
	h := bridge.New(bridge.Config{PathToken: testPathToken, APIToken: testAPIToken}, bridge.Deps{Redis: redistest.Unreachable(t)})
	h.Metrics = m
	w := serve(h.InternalRouter(), httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, w.Code)
	out := map[string]string{}
	for line := range strings.SplitSeq(w.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = line[i+1:]
	}
	return out
}

// TestStreamMetrics: the backlog an on-call engineer needs to see, read
// from Redis at scrape time: entries not yet delivered (lag), delivered but
// not acknowledged (pending) and the age of the oldest of those, and the
// lengths of the dead-letter and unrouted streams.
func TestStreamMetrics(t *testing.T) {
	rdb := newRedis(t)
	ctx := context.Background()
	m := bridge.NewMetrics(nil)
	m.WatchStreams(rdb)

	got := metricValues(t, m)
	assert.Equal(t, "1", got["kycflow_redis_up"])
	assert.Equal(t, "0", got[`kycflow_webhook_stream_length{stream="webhooks"}`], "no stream yet")
	assert.Equal(t, "0", got["kycflow_webhook_pending"])

	store := webhookstream.NewStore(rdb)
	for i := range 5 {
		require.NoError(t, store.Append(ctx, ev("USER_KYC_LIGHT", "u"+string(rune('a'+i)), time.Now().Unix()), time.Now()))
	}
	got = metricValues(t, m)
	assert.Equal(t, "5", got[`kycflow_webhook_stream_length{stream="webhooks"}`])
	assert.Equal(t, "5", got["kycflow_webhook_consumer_lag"], "no forwarder yet: all five wait")

	// A forwarder reads two and dies before acknowledging them.
	require.NoError(t, rdb.XGroupCreateMkStream(ctx, webhookstream.StreamKey, webhookstream.GroupName, "0").Err())
	_, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: webhookstream.GroupName, Consumer: "dead", Streams: []string{webhookstream.StreamKey, ">"}, Count: 2}).Result()
	require.NoError(t, err)
	require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: webhookstream.DeadLetterKey, Values: []string{"t", "X"}}).Err())
	for range 3 {
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: webhookstream.UnroutedKey, Values: []string{"t", "X"}}).Err())
	}
	got = metricValues(t, m)
	assert.Equal(t, "3", got["kycflow_webhook_consumer_lag"])
	assert.Equal(t, "2", got["kycflow_webhook_pending"])
	assert.NotEqual(t, "0", got["kycflow_webhook_oldest_pending_age_seconds"], "the oldest pending entry has an age")
	assert.Equal(t, "1", got[`kycflow_webhook_stream_length{stream="dead_letters"}`])
	assert.Equal(t, "3", got[`kycflow_webhook_stream_length{stream="unrouted"}`])

	t.Run("Redis down", func(t *testing.T) {
		down := bridge.NewMetrics(nil)
		down.WatchStreams(redistest.Unreachable(t))
		got := metricValues(t, down)
		assert.Equal(t, "0", got["kycflow_redis_up"])
		_, found := got["kycflow_webhook_pending"]
		assert.False(t, found, "no made-up figures while Redis cannot be read")
	})
}

// TestForwarderLagRecordsRetries: while Temporal is down nothing is
// forwarded, and the lag of the attempts still shows (outcome retry)
// instead of the histogram going quiet.
func TestForwarderLagRecordsRetries(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	tc.setDown(true)
	e.append("USER_KYC_LIGHT", "u_lag")
	startForwarder(t, e.forwarder("a", tc, nil))
	require.Eventually(t, func() bool { return tc.attempts() >= 2 }, waitFor, tick)
	got := metricValues(t, e.metrics)
	assert.Equal(t, "0", got[`kycflow_forwarder_lag_seconds_count{outcome="forwarded"}`])
	assert.NotEqual(t, "0", got[`kycflow_forwarder_lag_seconds_count{outcome="retry"}`], "failed attempts record their lag")
}

// TestFallbackLookupsCounted: each Mangopay lookup for a routing-index miss
// is counted by result.
func TestFallbackLookupsCounted(t *testing.T) {
	e := newForwarderEnv(t)
	_, mp, _ := newSim(t)
	f := e.forwarder("a", newFakeTemporal(), mp)
	f.Resolver.Metrics = e.metrics
	e.append("IDENTITY_VERIFICATION_VALIDATED", "idnver_unknown_1")
	startForwarder(t, f)
	e.waitHandled(1)
	assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Lookups.WithLabelValues("unknown")))
	assert.Equal(t, 0.0, testutil.ToFloat64(e.metrics.Lookups.WithLabelValues("found")))
}

// TestHookHealthMetric: a hook Mangopay marked INVALID (it then sends
// nothing) shows as 0, the healthy ones as 1; until the first listing
// there is no series, so no false alarm at startup.
func TestHookHealthMetric(t *testing.T) {
	h := newHookSim(t)
	const url = "https://hooks.platform.example/webhooks/mangopay/" + testPathToken
	_, err := bridge.RegisterHooks(context.Background(), h.mp, url)
	require.NoError(t, err)
	bad := workflows.HookEventTypes[0]
	h.mu.Lock()
	h.invalid[bad] = true
	h.mu.Unlock()

	m := bridge.NewMetrics(nil)
	m.WatchHooks(h.mp, url, time.Hour)
	first := metricValues(t, m) // starts the background listing
	_, found := first[`kycflow_mangopay_hook_healthy{event_type="`+string(bad)+`"}`]
	assert.False(t, found)
	var got map[string]string
	require.Eventually(t, func() bool {
		got = metricValues(t, m)
		return got["kycflow_mangopay_hook_check_success"] == "1"
	}, waitFor, tick)
	for _, et := range workflows.HookEventTypes {
		want := "1"
		if et == bad {
			want = "0"
		}
		assert.Equal(t, want, got[`kycflow_mangopay_hook_healthy{event_type="`+string(et)+`"}`], string(et))
	}
}
