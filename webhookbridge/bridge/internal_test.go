package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

// apiRequest builds a platform API request with the test bearer token.
func apiRequest(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Header.Set("Authorization", "Bearer "+testAPIToken)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// operatorRequest builds a platform API request with the test operator's
// token.
func operatorRequest(method, target string, body io.Reader) *http.Request {
	r := apiRequest(method, target, body)
	r.Header.Set("Authorization", "Bearer "+testOperatorToken)
	return r
}

// serve runs one request through h and returns the recorder.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeError reads the bridge's JSON error body.
func decodeError(t testing.TB, w *httptest.ResponseRecorder) apiErrorBody {
	t.Helper()
	require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"), "body %s", w.Body)
	var body apiErrorBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), "JSON error body: %s", w.Body)
	return body
}

// strictTemporal is a Temporal client that fails the test on any call: the
// requests under test must be answered before reaching Temporal.
func strictTemporal(t *testing.T) *mocks.Client {
	c := &mocks.Client{}
	t.Cleanup(func() { c.AssertExpectations(t) })
	return c
}

// TestPlatformAPIRefusalsAreCounted: the internal listener counts the
// platform API's answers by route and status, refusals included (the
// platform API's own tests are in platformapi).
func TestPlatformAPIRefusalsAreCounted(t *testing.T) {
	b := newBridge(redistest.Unreachable(t), strictTemporal(t))
	r := b.InternalRouter()
	for range 3 {
		w := serve(r, httptest.NewRequest(http.MethodPost, "/v1/onboardings", strings.NewReader(`{}`)))
		require.Equal(t, http.StatusUnauthorized, w.Code)
	}
	assert.Equal(t, float64(3), testutil.ToFloat64(b.Metrics.HTTP.WithLabelValues("/v1/onboardings", "401")))
}

// pdfPage is a PDF-looking page of n bytes (Mangopay wants at least 32 KB
// for identity proofs).
func pdfPage(n int) []byte {
	p := bytes.Repeat([]byte{'x'}, n)
	copy(p, "%PDF-1.4\n")
	return p
}

// multipartBody builds a documents upload: fields, then one Pages part per
// page.
func multipartBody(t testing.TB, fields map[string]string, pages ...[]byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	for i, p := range pages {
		fw, err := mw.CreateFormFile("Pages", "page"+strconv.Itoa(i+1)+".pdf")
		require.NoError(t, err)
		_, err = fw.Write(p)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

func documentRequest(body io.Reader, contentType, userID string) *http.Request {
	r := apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/documents", body)
	r.Header.Set("Content-Type", contentType)
	return r
}

// pageKeys counts the claim-check pages in Redis.
func pageKeys(t testing.TB, rdb *redis.Client) int {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), "kycflow:page:*").Result()
	require.NoError(t, err)
	return len(keys)
}

func TestSubmitDocumentValidation(t *testing.T) {
	rdb := newRedis(t)
	b := newBridge(rdb, strictTemporal(t))
	r := b.InternalRouter()
	page := pdfPage(40 << 10)
	six := [][]byte{page, page, page, page, page, page}
	tests := []struct {
		name       string
		fields     map[string]string
		pages      [][]byte
		wantStatus int
		wantField  string
	}{
		{"Type missing", nil, [][]byte{page}, http.StatusBadRequest, "Type"},
		{"no pages", map[string]string{"Type": "IDENTITY_PROOF"}, nil, http.StatusBadRequest, "Pages"},
		{"six pages", map[string]string{"Type": "IDENTITY_PROOF"}, six, http.StatusBadRequest, "Pages"},
		{"a page over 7 MB", map[string]string{"Type": "IDENTITY_PROOF"}, [][]byte{page, pdfPage(claimcheck.DefaultMaxSize + 1)}, http.StatusRequestEntityTooLarge, "Pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartBody(t, tt.fields, tt.pages...)
			w := serve(r, documentRequest(body, ct, "123"))
			require.Equal(t, tt.wantStatus, w.Code, "body %s", w.Body)
			assert.Equal(t, tt.wantField, decodeError(t, w).Field)
			assert.Zero(t, pageKeys(t, rdb), "no page may stay behind in the claim-check store")
		})
	}
	t.Run("not multipart", func(t *testing.T) {
		w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/123/documents", strings.NewReader(`{"Type":"IDENTITY_PROOF"}`)))
		require.Equal(t, http.StatusBadRequest, w.Code)
		assert.Contains(t, decodeError(t, w).Error, "multipart")
	})
	t.Run("upload larger than 5 pages of 7 MB", func(t *testing.T) {
		// Streamed, so that the test does not hold 36 MB.
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			_ = mw.WriteField("Type", "IDENTITY_PROOF")
			chunk := pdfPage(1 << 20)
			for i := 0; i < 6; i++ {
				fw, err := mw.CreateFormFile("Pages", "big"+strconv.Itoa(i)+".pdf")
				if err != nil {
					pw.CloseWithError(err)
					return
				}
				for range 7 {
					if _, err := fw.Write(chunk); err != nil {
						pw.CloseWithError(err)
						return
					}
				}
			}
			pw.CloseWithError(mw.Close())
		}()
		w := serve(r, documentRequest(pr, mw.FormDataContentType(), "123"))
		_ = pr.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, w.Code, "body %s", w.Body)
		assert.Equal(t, "Pages", decodeError(t, w).Field)
		assert.Zero(t, pageKeys(t, rdb))
	})
}

func TestHealthz(t *testing.T) {
	b := newBridge(redistest.Unreachable(t), strictTemporal(t))
	w := serve(b.InternalRouter(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"Status":"ok"}`, w.Body.String(), "alive even with Redis and Temporal away")
}

func TestReadyz(t *testing.T) {
	healthy := func() client.Client {
		c := &mocks.Client{}
		c.On("CheckHealth", mock.Anything, mock.Anything).Return(&client.CheckHealthResponse{}, nil)
		return c
	}
	sick := func() client.Client {
		c := &mocks.Client{}
		c.On("CheckHealth", mock.Anything, mock.Anything).Return(nil, serviceerror.NewUnavailable("test: connection refused"))
		return c
	}
	tests := []struct {
		name         string
		redisDown    bool
		temporal     func() client.Client
		wantStatus   int
		wantRedis    string
		wantTemporal string
	}{
		{"all up", false, healthy, http.StatusOK, "ok", "ok"},
		{"Redis down", true, healthy, http.StatusServiceUnavailable, "unavailable", "ok"},
		{"Temporal down", false, sick, http.StatusServiceUnavailable, "ok", "unavailable"},
		{"Temporal unreachable (real client)", false, func() client.Client { return deadTemporal(t) }, http.StatusServiceUnavailable, "ok", "unavailable"},
		{"both down", true, sick, http.StatusServiceUnavailable, "unavailable", "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := redistest.Unreachable(t)
			if !tt.redisDown {
				rdb = newRedis(t)
			}
			b := newBridge(rdb, tt.temporal())
			w := serve(b.InternalRouter(), httptest.NewRequest(http.MethodGet, "/readyz", nil))
			require.Equal(t, tt.wantStatus, w.Code, "body %s", w.Body)
			var got map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			// Each dependency on its own, and no raw error (addresses,
			// internals) for whoever reaches the listener.
			assert.Equal(t, map[string]string{"Redis": tt.wantRedis, "Temporal": tt.wantTemporal}, got)
			assert.NotContains(t, w.Body.String(), "refused")
		})
	}
}

// deadTemporal is a real, lazily connecting Temporal client pointed at a
// loopback port where nothing listens.
func deadTemporal(t testing.TB) client.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c, err := client.NewLazyClient(client.Options{HostPort: addr, Logger: quietSDKLogger()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestTemporalUnreachable(t *testing.T) {
	rdb := newRedis(t)
	b := newBridge(rdb, deadTemporal(t))
	r := b.InternalRouter()
	body, ct := multipartBody(t, map[string]string{"Type": "IDENTITY_PROOF"}, pdfPage(40<<10))
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"create onboarding", apiRequest(http.MethodPost, "/v1/onboardings", strings.NewReader(`{"UserId":"123","ReturnUrl":"https://platform.example/kyc"}`))},
		{"get onboarding", apiRequest(http.MethodGet, "/v1/onboardings/123", nil)},
		{"submit document", documentRequest(body, ct, "123")},
		{"cancel", apiRequest(http.MethodPost, "/v1/onboardings/123/cancel", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound, not an assertion
			defer cancel()
			w := serve(r, tt.req.WithContext(ctx))
			require.Equal(t, http.StatusServiceUnavailable, w.Code, "body %s", w.Body)
			assert.Contains(t, decodeError(t, w).Error, "Temporal is unavailable")
			require.NoError(t, ctx.Err(), "the answer must not wait for the caller to give up")
		})
	}
	// Temporal may have accepted the update before it went away: the
	// pages stay for it, and expire with their TTL if nothing reads them
	// (only a rejection or a missing onboarding deletes them at once).
	keys, err := rdb.Keys(context.Background(), "kycflow:page:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	ttl, err := rdb.TTL(context.Background(), keys[0]).Result()
	require.NoError(t, err)
	assert.Positive(t, ttl, "the kept page expires")
}

func TestMetricsEndpoint(t *testing.T) {
	rdb := newRedis(t)
	_, mp, _ := newSim(t)
	b := bridge.New(bridge.Config{PathToken: testPathToken, APIToken: testAPIToken, ConsumerName: "test"},
		bridge.Deps{Redis: rdb, Temporal: strictTemporal(t), Mangopay: mp, Codec: testCodec, Logger: quietLogger()})
	pub, internal := b.PublicRouter(), b.InternalRouter()
	scrape := func() string {
		w := serve(internal, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		require.Equal(t, http.StatusOK, w.Code)
		return w.Body.String()
	}
	// Before any Mangopay call the headroom is unknown, not 0 (which
	// would read as "no calls left" and page someone).
	assert.NotContains(t, scrape(), "kycflow_mangopay_ratelimit_remaining{")

	date := strconv.FormatInt(time.Now().Unix(), 10)
	serve(pub, httptest.NewRequest(http.MethodGet, webhookPath+"?EventType=KYC_FAILED&RessourceId=d1&Date="+date, nil))
	serve(pub, httptest.NewRequest(http.MethodGet, webhookPath+"?EventType=bad&RessourceId=d1&Date="+date, nil))
	serve(pub, httptest.NewRequest(http.MethodGet, "/webhooks/mangopay/nope", nil))
	serve(internal, apiRequest(http.MethodGet, "/v1/onboardings/bad.id", nil))

	_, _, err := mp.ListHooks(context.Background(), nil)
	require.NoError(t, err)
	text := scrape()
	for _, want := range []string{
		`kycflow_webhooks_received_total{result="stored"} 1`,
		`kycflow_webhooks_received_total{result="rejected"} 1`,
		`kycflow_webhooks_received_total{result="bad_token"} 1`,
		`kycflow_webhooks_forwarded_total 0`,
		`kycflow_webhooks_duplicates_total 0`,
		`kycflow_webhooks_dead_lettered_total 0`,
		`kycflow_webhooks_unrouted_total 0`,
		`kycflow_onboardings_restarted_total 0`,
		`kycflow_forwarder_lag_seconds_bucket{outcome="forwarded",le="1"} 0`,
		`kycflow_forwarder_lag_seconds_bucket{outcome="retry",le="1"} 0`,
		`kycflow_webhook_intake_duration_seconds_count 2`,
		`kycflow_webhook_stream_length{stream="webhooks"} 1`,
		`kycflow_webhook_consumer_lag 1`,
		`kycflow_redis_up 1`,
		`kycflow_platform_api_requests_total{route="/v1/onboardings/:userId",status="400"} 1`,
		`kycflow_mangopay_ratelimit_remaining{window="15m"}`,
		`kycflow_mangopay_ratelimit_remaining{window="24h"}`,
		`go_goroutines`,
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, testPathToken)
	assert.NotContains(t, text, `kycflow_mangopay_ratelimit_remaining{window="15m"} 0`)
}
