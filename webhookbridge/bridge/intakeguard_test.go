package bridge_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// intakeRequest is a webhook from peer, with X-Forwarded-For when
// forwardedFor is set.
func intakeRequest(query, peer, forwardedFor string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, webhookPath+"?"+query, nil)
	req.RemoteAddr = peer + ":40000"
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	return req
}

// TestIntakeLimitsEachClient: a flood from one client address is answered
// 429 past its burst while another address goes on being stored; the
// address is the one the trusted proxies give, and X-Forwarded-For from
// anyone else is not believed (a forger cannot dodge the limit by varying
// it).
func TestIntakeLimitsEachClient(t *testing.T) {
	const burst = 3
	rdb := newRedis(t)
	b := newBridge(rdb, nil)
	b.Now = func() time.Time { return testNow } // no refill: the burst is all there is
	b.TrustedProxies = []string{"10.0.0.0/8"}
	b.Intake.PerSecond, b.Intake.Burst = 1, burst // what bridge.New built from the Config (and watches)
	logs := &syncbuf.Buffer{}
	b.Logger = newTextLogger(logs)
	r := b.PublicRouter()
	query := func(i int) string {
		return "EventType=USER_KYC_LIGHT&RessourceId=u_" + strconv.Itoa(i) + "&Date=" + strconv.FormatInt(testNow.Unix(), 10)
	}

	codes := map[int]int{}
	for i := range 10 {
		codes[serve(r, intakeRequest(query(i), "10.1.2.3", "203.0.113.7")).Code]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: burst, http.StatusTooManyRequests: 10 - burst}, codes, "the flooding address, through the proxy")

	w := serve(r, intakeRequest(query(100), "10.1.2.3", "203.0.113.8"))
	assert.Equal(t, http.StatusOK, w.Code, "another address behind the same proxy is not held back")

	codes = map[int]int{}
	for i := range 10 {
		codes[serve(r, intakeRequest(query(200+i), "198.51.100.9", "192.0.2."+strconv.Itoa(i))).Code]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: burst, http.StatusTooManyRequests: 10 - burst},
		codes, "an untrusted peer is limited by its own address, whatever X-Forwarded-For it sends")

	limited := 2 * (10 - burst)
	assert.Equal(t, float64(limited), testutil.ToFloat64(b.Metrics.Received.WithLabelValues("limited")))
	assert.Equal(t, float64(2*burst+1), testutil.ToFloat64(b.Metrics.Received.WithLabelValues("stored")))
	assert.Len(t, streamEntries(t, rdb, webhookstream.StreamKey), 2*burst+1, "what was refused was not stored")
	assert.Equal(t, 2.0, gauge(t, b.Metrics, "kycflow_webhook_intake_limited_clients"), "two flooding addresses")
	assert.Equal(t, 2, strings.Count(logs.String(), "webhook client over its rate"), "one line per flooding address and minute")
	assert.Contains(t, logs.String(), "client_ip=203.0.113.7", "the flood's source is in the log")
}

// TestIntakeLimitsIPv6ByPrefix: one IPv6 host holds a whole /64, so
// addresses of one /64 share a bucket (a forger cannot dodge the limit by
// varying the interface ID); another /64 has its own, and IPv4 addresses
// (mapped or not) are still limited one by one.
func TestIntakeLimitsIPv6ByPrefix(t *testing.T) {
	const burst = 3
	b := newBridge(newRedis(t), nil)
	b.Now = func() time.Time { return testNow } // no refill
	b.Intake.PerSecond, b.Intake.Burst = 1, burst
	r := b.PublicRouter()
	i := 0
	code := func(peer string) int {
		i++
		return serve(r, intakeRequest("EventType=USER_KYC_LIGHT&RessourceId=u_"+strconv.Itoa(i)+"&Date="+strconv.FormatInt(testNow.Unix(), 10), peer, "")).Code
	}
	codes := map[int]int{}
	for n := range 10 {
		codes[code("[2001:db8:1:2::"+strconv.FormatInt(int64(n+1), 16)+"]")]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: burst, http.StatusTooManyRequests: 10 - burst}, codes, "ten addresses of one /64")
	assert.Equal(t, http.StatusOK, code("[2001:db8:1:3::1]"), "another /64")
	assert.Equal(t, http.StatusOK, code("192.0.2.1"))
	assert.Equal(t, http.StatusOK, code("192.0.2.2"), "IPv4 addresses one by one")
}

// TestLimitedAddressesAreInNoMetric: the limited addresses are in the log,
// not in a metric label: a label would keep the first addresses limited
// for the process's life and let a flood multiply the series. The metrics
// count the refusals and the limited clients.
func TestLimitedAddressesAreInNoMetric(t *testing.T) {
	b := newBridge(newRedis(t), nil)
	b.Now = func() time.Time { return testNow }
	b.Intake.PerSecond, b.Intake.Burst = 1, 1
	r := b.PublicRouter()
	query := "EventType=USER_KYC_LIGHT&RessourceId=u_1&Date=" + strconv.FormatInt(testNow.Unix(), 10)
	const addresses = 40
	for i := range addresses {
		peer := "192.0.2." + strconv.Itoa(i+1)
		require.Equal(t, http.StatusOK, serve(r, intakeRequest(query, peer, "")).Code)
		require.Equal(t, http.StatusTooManyRequests, serve(r, intakeRequest(query, peer, "")).Code)
	}
	assert.Equal(t, float64(addresses), testutil.ToFloat64(b.Metrics.Received.WithLabelValues("limited")))
	assert.Equal(t, float64(addresses), gauge(t, b.Metrics, "kycflow_webhook_intake_limited_clients"))
	families, err := b.Metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.False(t, strings.HasPrefix(l.GetValue(), "192.0.2."), "%s{%s=%q}", f.GetName(), l.GetName(), l.GetValue())
			}
		}
	}
}

// gauge reads a gauge the registry gathers.
func gauge(t *testing.T, m *bridge.Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1)
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestIntakeDropsUnsubscribedTypes: an event type kycflow registers no hook
// for is not Mangopay's: answered 200 (nothing to retry), not stored,
// counted.
func TestIntakeDropsUnsubscribedTypes(t *testing.T) {
	rdb := newRedis(t)
	b := newBridge(rdb, nil)
	b.Now = func() time.Time { return testNow }
	r := b.PublicRouter()
	date := strconv.FormatInt(testNow.Unix(), 10)
	require.False(t, bridge.Subscribed("PAYIN_NORMAL_SUCCEEDED"))
	for _, et := range workflows.HookEventTypes {
		require.True(t, bridge.Subscribed(et), et)
	}

	w := serve(r, httptest.NewRequest(http.MethodGet, webhookPath+"?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId=payin_1&Date="+date, nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, streamEntries(t, rdb, webhookstream.StreamKey), "dropped")
	assert.Equal(t, 1.0, testutil.ToFloat64(b.Metrics.Received.WithLabelValues("unsubscribed")))
	assert.Zero(t, testutil.ToFloat64(b.Metrics.Received.WithLabelValues("stored")))

	w = serve(r, httptest.NewRequest(http.MethodGet, webhookPath+"?EventType=USER_KYC_REGULAR&RessourceId=u_1&Date="+date, nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Len(t, streamEntries(t, rdb, webhookstream.StreamKey), 1, "a subscribed type is stored")
}

// TestFutureDateCannotPreclaimDedupe: a forged webhook dated ahead of the
// time it came (an hour, or minutes: any lead past clock skew) is stored
// with the time it came, so the genuine webhook of that moment (same type,
// resource and Date) is forwarded, not dropped as its duplicate.
func TestFutureDateCannotPreclaimDedupe(t *testing.T) {
	for _, tc := range []struct {
		name string
		lead time.Duration
	}{
		{"an hour ahead", time.Hour},
		{"four minutes ahead", 4 * time.Minute},
		{"ten seconds ahead", 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newForwarderEnv(t)
			b := newBridge(e.rdb, nil)
			clock := testNow
			b.Now = func() time.Time { return clock }
			r := b.PublicRouter()
			future := testNow.Add(tc.lead)
			target := webhookPath + "?EventType=USER_KYC_LIGHT&RessourceId=u_1&Date=" + strconv.FormatInt(future.Unix(), 10)

			require.Equal(t, http.StatusOK, serve(r, httptest.NewRequest(http.MethodGet, target, nil)).Code, "the forged one, early")
			clock = future.Add(2 * time.Second)
			require.Equal(t, http.StatusOK, serve(r, httptest.NewRequest(http.MethodGet, target, nil)).Code, "the genuine one, delivered after its Date")
			assert.Equal(t, 1.0, testutil.ToFloat64(b.Metrics.DateClamped), "only the early one is clamped")

			temporal := newFakeTemporal()
			startForwarder(t, e.forwarder("a", temporal, nil))
			e.waitHandled(2)
			_, sent, _ := temporal.snapshot()
			require.Len(t, sent, 2, "both forwarded")
			assert.ElementsMatch(t, []int64{testNow.Unix(), future.Unix()}, []int64{sent[0].Event.Date, sent[1].Event.Date},
				"the early one carries the time it came, the genuine one its Date")
			assert.Zero(t, testutil.ToFloat64(e.metrics.Duplicates), "the genuine webhook is no duplicate")
		})
	}
}
