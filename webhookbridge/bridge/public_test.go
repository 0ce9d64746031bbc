package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/webhookstream"
)

// webhookPath is the intake path with the test token.
const webhookPath = "/webhooks/mangopay/" + testPathToken

// apiErrorBody is the bridge's error body.
type apiErrorBody struct {
	Error string `json:"Error"`
	Field string `json:"Field"`
}

// streamEntries reads the whole webhook stream.
func streamEntries(t testing.TB, rdb *redis.Client, key string) []redis.XMessage {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	require.NoError(t, err)
	return msgs
}

func TestWebhookIntake(t *testing.T) {
	date := strconv.FormatInt(testNow.Unix()-30, 10)
	received := strconv.FormatInt(testNow.UnixMilli(), 10)
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantResult string            // label of kycflow_webhooks_received_total counted once
		wantStored map[string]string // the stream entry's fields; nil: nothing stored
		wantError  string            // part of the JSON error
	}{
		{name: "GET stored", method: http.MethodGet,
			target:     webhookPath + "?EventType=IDENTITY_VERIFICATION_VALIDATED&RessourceId=idv_1&Date=" + date,
			wantStatus: http.StatusOK, wantResult: "stored",
			wantStored: map[string]string{"t": "IDENTITY_VERIFICATION_VALIDATED", "r": "idv_1", "d": date, "at": received}},
		{name: "POST stored", method: http.MethodPost,
			target:     webhookPath + "?EventType=KYC_SUCCEEDED&ResourceId=doc_9&Date=" + date,
			wantStatus: http.StatusOK, wantResult: "stored",
			wantStored: map[string]string{"t": "KYC_SUCCEEDED", "r": "doc_9", "d": date, "at": received}},
		{name: "unsubscribed event type dropped", method: http.MethodGet,
			target:     webhookPath + "?EventType=PAYOUT_NORMAL_SUCCEEDED&RessourceId=po_1&Date=" + date,
			wantStatus: http.StatusOK, wantResult: "unsubscribed"},
		{name: "wrong token", method: http.MethodGet,
			target:     "/webhooks/mangopay/test-path-token-0123456788?EventType=KYC_SUCCEEDED&RessourceId=1&Date=" + date,
			wantStatus: http.StatusNotFound, wantResult: "bad_token"},
		{name: "token prefix", method: http.MethodGet,
			target:     "/webhooks/mangopay/test-path-token?EventType=KYC_SUCCEEDED&RessourceId=1&Date=" + date,
			wantStatus: http.StatusNotFound, wantResult: "bad_token"},
		{name: "token with a suffix", method: http.MethodGet,
			target:     webhookPath + "x?EventType=KYC_SUCCEEDED&RessourceId=1&Date=" + date,
			wantStatus: http.StatusNotFound, wantResult: "bad_token"},
		{name: "malformed date", method: http.MethodGet,
			target:     webhookPath + "?EventType=KYC_SUCCEEDED&RessourceId=1&Date=tomorrow",
			wantStatus: http.StatusBadRequest, wantResult: "rejected", wantError: "Date"},
		{name: "malformed event type", method: http.MethodPost,
			target:     webhookPath + "?EventType=kyc&RessourceId=1&Date=" + date,
			wantStatus: http.StatusBadRequest, wantResult: "rejected", wantError: "EventType"},
		{name: "unsafe resource id", method: http.MethodGet,
			target:     webhookPath + "?EventType=KYC_SUCCEEDED&RessourceId=%3Cscript%3E&Date=" + date,
			wantStatus: http.StatusBadRequest, wantResult: "rejected", wantError: "RessourceId"},
		{name: "repeated parameter", method: http.MethodGet,
			target:     webhookPath + "?EventType=KYC_SUCCEEDED&RessourceId=1&RessourceId=2&Date=" + date,
			wantStatus: http.StatusBadRequest, wantResult: "rejected", wantError: "RessourceId is given 2 times"},
		{name: "dashboard ping", method: http.MethodGet,
			target:     webhookPath + "?EventType=PING&RessourceId=&Date=" + date,
			wantStatus: http.StatusOK, wantResult: "ping"},
		{name: "ping without parameters", method: http.MethodPost, target: webhookPath,
			wantStatus: http.StatusOK, wantResult: "ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := newRedis(t)
			b := newBridge(rdb, nil)
			b.Now = func() time.Time { return testNow }
			r := b.PublicRouter()

			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))

			require.Equal(t, tt.wantStatus, w.Code, "status; body %s", w.Body)
			assert.Equal(t, 1.0, testutil.ToFloat64(b.Metrics.Received.WithLabelValues(tt.wantResult)), "received{result=%q}", tt.wantResult)
			total := 0.0
			for _, r := range []string{"stored", "ping", "rejected", "bad_token", "unavailable", "limited", "unsubscribed"} {
				total += testutil.ToFloat64(b.Metrics.Received.WithLabelValues(r))
			}
			assert.Equal(t, 1.0, total, "one result counted, no other")
			assert.Equal(t, 7, testutil.CollectAndCount(b.Metrics.Received), "every result has a series from the start")
			if tt.wantError != "" {
				assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
				var body apiErrorBody
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), "JSON error body: %s", w.Body)
				assert.Contains(t, body.Error, tt.wantError, "the error should name the problem")
			}
			entries := streamEntries(t, rdb, webhookstream.StreamKey)
			if tt.wantStored == nil {
				assert.Empty(t, entries, "nothing should be stored")
				return
			}
			assert.Equal(t, "OK", w.Body.String())
			require.Len(t, entries, 1, "one entry in the stream")
			got := map[string]string{}
			for k, v := range entries[0].Values {
				got[k] = v.(string)
			}
			assert.Equal(t, tt.wantStored, got, "stream entry fields")
		})
	}
}

func TestWebhookIntakeTokenNeverLogged(t *testing.T) {
	rdb := newRedis(t)
	b := newBridge(rdb, nil)
	logs := &syncbuf.Buffer{}
	b.Logger = newTextLogger(logs)
	r := b.PublicRouter()
	for _, target := range []string{
		webhookPath + "?EventType=KYC_SUCCEEDED&RessourceId=1&Date=" + strconv.FormatInt(time.Now().Unix(), 10),
		webhookPath + "?EventType=bad",
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
	}
	require.Contains(t, logs.String(), "/webhooks/mangopay/:token", "the access log names the route")
	assert.NotContains(t, logs.String(), testPathToken, "the path token is a secret")
}

func TestWebhookRedisDown(t *testing.T) {
	b := newBridge(redistest.Unreachable(t), nil)
	r := b.PublicRouter()
	w := httptest.NewRecorder()
	target := webhookPath + "?EventType=KYC_SUCCEEDED&RessourceId=doc_1&Date=" + strconv.FormatInt(time.Now().Unix(), 10)
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))

	require.Equal(t, http.StatusServiceUnavailable, w.Code, "not stored, so not acknowledged: Mangopay retries")
	var body apiErrorBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	assert.NotEmpty(t, body.Error)
	assert.Equal(t, 1.0, testutil.ToFloat64(b.Metrics.Received.WithLabelValues("unavailable")))
	assert.Equal(t, 0.0, testutil.ToFloat64(b.Metrics.Received.WithLabelValues("stored")))

	t.Run("ping still answered", func(t *testing.T) {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, webhookPath+"?RessourceId=", nil))
		assert.Equal(t, http.StatusOK, w.Code, "a ping stores nothing, so it needs no Redis")
	})
}

// TestWebhookRedisHung: a Redis that accepts connections but never answers
// must not hold the answer past Mangopay's 2 s, which would count as a
// failed delivery (and 100 of them disable the hook): the bridge answers
// 503 once its own append timeout has passed. The client is built as the
// webhookbridge command builds it.
func TestWebhookRedisHung(t *testing.T) {
	addr := redistest.Hung(t)
	rdb, err := redisconn.New("redis://" + addr + "/0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	b := newBridge(rdb, nil)
	r := b.PublicRouter()

	w := httptest.NewRecorder()
	target := webhookPath + "?EventType=KYC_SUCCEEDED&RessourceId=doc_1&Date=" + strconv.FormatInt(time.Now().Unix(), 10)
	start := time.Now()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	elapsed := time.Since(start)

	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	// Mangopay's deadline, not a performance target: the bridge's own
	// timeout is 1.5 s, and without it the client's defaults (a 5 s read
	// timeout, 3 retries) would answer after 20 s.
	assert.Less(t, elapsed, 2*time.Second, "answered after %s: Mangopay gives up at 2 s", elapsed)
}

func TestPublicRouterHealthAndUnknownRoutes(t *testing.T) {
	b := newBridge(redistest.Unreachable(t), nil)
	r := b.PublicRouter()
	tests := []struct {
		method, target string
		want           int
	}{
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/webhooks/mangopay/", http.StatusNotFound},
		{http.MethodGet, "/webhooks/mangopay", http.StatusNotFound},
		{http.MethodPut, webhookPath, http.StatusMethodNotAllowed},
		{http.MethodGet, "/v1/onboardings", http.StatusNotFound}, // the platform API is not public
		{http.MethodGet, "/metrics", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))
			assert.Equal(t, tt.want, w.Code)
			assert.NotEmpty(t, w.Header().Get("X-Request-Id"), "every answer carries a request id")
		})
	}
}
