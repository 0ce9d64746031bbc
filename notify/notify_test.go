package notify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/notify"
)

// The secrets of these tests, in the whsec_ form a platform is given.
var (
	testSecret  = notify.EncodeSecret([]byte("kycflow-test-secret-0123456789ab"))
	oldSecret   = notify.EncodeSecret([]byte("kycflow-old-secret-0123456789abc"))
	otherSecret = notify.EncodeSecret([]byte("someone-else-entirely-0123456789"))
	fixedNow    = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
)

func keys(t *testing.T, secrets ...string) [][]byte {
	t.Helper()
	k, err := notify.ParseSecrets(strings.Join(secrets, " "))
	require.NoError(t, err)
	return k
}

// verifier is the platform's check: the specification's own Go library,
// not kycflow's code.
func verifier(t *testing.T, secret string) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	return wh
}

func sampleEvent() notify.Event {
	return notify.Event{
		ID: "0123456789abcdef0123456789abcdef", Type: notify.OnboardingRefused, UserID: "user_m_01JTG7NDTE52MZCCF50QHJ870A",
		Status: "REFUSED", Attempt: 2, IdvSessionID: "idnver_01JTG7", Reasons: []string{"DOCUMENT_FALSIFIED"},
		OccurredAt: fixedNow,
	}
}

// received is what the platform server saw of one request.
type received struct {
	method  string
	header  http.Header
	body    []byte
	libErr  error // the library's Verify, with the platform's secret
	wireErr error
}

// platform is a fake platform webhook endpoint: it verifies each request
// with the Standard Webhooks library, as a real platform would, and
// answers with answer.
type platform struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter)
}

func newPlatform(t *testing.T, secret string, status int) *platform {
	t.Helper()
	wh := verifier(t, secret)
	p := &platform{answer: func(w http.ResponseWriter) { w.WriteHeader(status) }}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		rec := received{method: r.Method, header: r.Header.Clone(), body: body, wireErr: err}
		rec.libErr = wh.Verify(body, r.Header)
		p.mu.Lock()
		p.got = append(p.got, rec)
		answer := p.answer
		p.mu.Unlock()
		answer(w)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) requests() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.got...)
}

// TestDeliveriesVerifyWithTheStandardLibrary: a notification is what the
// specification describes, checked by its own library: the three headers,
// a signature over id.timestamp.body, and the {type, timestamp, data}
// envelope around the event.
func TestDeliveriesVerifyWithTheStandardLibrary(t *testing.T) {
	p := newPlatform(t, testSecret, http.StatusNoContent)
	n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret)}
	ev := sampleEvent()
	before := time.Now().Unix()
	require.NoError(t, n.Send(context.Background(), ev))

	reqs := p.requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	require.NoError(t, got.libErr, "the Standard Webhooks library verifies the delivery")
	assert.Equal(t, http.MethodPost, got.method)
	assert.Equal(t, "application/json", got.header.Get("Content-Type"))
	assert.Equal(t, ev.ID, got.header.Get("webhook-id"), "webhook-id is the event's stable id")
	ts, err := strconv.ParseInt(got.header.Get("webhook-timestamp"), 10, 64)
	require.NoError(t, err, "webhook-timestamp is unix seconds")
	assert.GreaterOrEqual(t, ts, before)
	assert.Regexp(t, `^v1,[A-Za-z0-9+/]{43}=$`, got.header.Get("webhook-signature"))

	var env struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(strings.NewReader(string(got.body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&env), "the body is exactly {type, timestamp, data}")
	assert.Equal(t, ev.Type, env.Type)
	assert.Equal(t, "2026-11-20T10:00:00Z", env.Timestamp, "timestamp is when the event occurred, ISO 8601")
	var data notify.Event
	require.NoError(t, json.Unmarshal(env.Data, &data))
	assert.Equal(t, ev, data, "data is the event")

	t.Run("another secret does not verify it", func(t *testing.T) {
		err := verifier(t, otherSecret).Verify(got.body, got.header)
		assert.ErrorIs(t, err, standardwebhooks.ErrNoMatchingSignature)
	})
	t.Run("a changed body does not verify", func(t *testing.T) {
		body := []byte(strings.Replace(string(got.body), "REFUSED", "VERIFIED", 1))
		assert.ErrorIs(t, verifier(t, testSecret).Verify(body, got.header), standardwebhooks.ErrNoMatchingSignature)
	})
	t.Run("another id does not verify", func(t *testing.T) {
		h := got.header.Clone()
		h.Set("webhook-id", "fedcba9876543210fedcba9876543210")
		assert.ErrorIs(t, verifier(t, testSecret).Verify(got.body, h), standardwebhooks.ErrNoMatchingSignature)
	})
}

// TestSignatureMatchesTheLibrary: Sign and the library's Sign agree on a
// fixed message, so a clock set in a test still signs what the spec says.
func TestSignatureMatchesTheLibrary(t *testing.T) {
	body := []byte(`{"type":"onboarding.verified","timestamp":"2026-11-20T10:00:00Z","data":{}}`)
	want, err := verifier(t, testSecret).Sign("msg_1", fixedNow, body)
	require.NoError(t, err)
	assert.Equal(t, want, notify.Sign(keys(t, testSecret), "msg_1", fixedNow, body))
}

// TestRotation: with two secrets configured every notification carries
// both signatures, so a platform verifies it with either, and with no other.
func TestRotation(t *testing.T) {
	p := newPlatform(t, testSecret, http.StatusOK)
	n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret, oldSecret)}
	require.NoError(t, n.Send(context.Background(), sampleEvent()))
	reqs := p.requests()
	require.Len(t, reqs, 1)
	sigs := strings.Split(reqs[0].header.Get("webhook-signature"), " ")
	assert.Len(t, sigs, 2, "one v1 signature per secret, space-separated")
	for name, secret := range map[string]string{"the new secret": testSecret, "the old secret": oldSecret} {
		assert.NoError(t, verifier(t, secret).Verify(reqs[0].body, reqs[0].header), name)
	}
	assert.Error(t, verifier(t, otherSecret).Verify(reqs[0].body, reqs[0].header))
}

// TestRetriesKeepTheID: each attempt of one event carries the same
// webhook-id (the platform's idempotency key) and its own timestamp.
func TestRetriesKeepTheID(t *testing.T) {
	p := newPlatform(t, testSecret, http.StatusServiceUnavailable)
	clock := fixedNow
	n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret), Now: func() time.Time { return clock }}
	ev := sampleEvent()
	require.Error(t, n.Send(context.Background(), ev))
	clock = clock.Add(5 * time.Second)
	require.Error(t, n.Send(context.Background(), ev))
	reqs := p.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, ev.ID, reqs[0].header.Get("webhook-id"))
	assert.Equal(t, ev.ID, reqs[1].header.Get("webhook-id"))
	assert.Equal(t, strconv.FormatInt(fixedNow.Unix(), 10), reqs[0].header.Get("webhook-timestamp"))
	assert.Equal(t, strconv.FormatInt(fixedNow.Unix()+5, 10), reqs[1].header.Get("webhook-timestamp"), "the attempt's time")
	for _, r := range reqs {
		assert.NoError(t, verifier(t, testSecret).VerifyIgnoringTimestamp(r.body, r.header))
	}
	assert.Equal(t, reqs[0].body, reqs[1].body, "the same payload")
}

func TestSendStatuses(t *testing.T) {
	tests := []struct {
		status int
		ok     bool
	}{
		{http.StatusOK, true}, {http.StatusAccepted, true}, {http.StatusNoContent, true},
		{http.StatusBadRequest, false}, {http.StatusUnauthorized, false}, {http.StatusNotFound, false},
		{http.StatusConflict, false}, {http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false}, {http.StatusBadGateway, false}, {http.StatusServiceUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			p := newPlatform(t, testSecret, tt.status)
			n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret)}
			err := n.Send(context.Background(), sampleEvent())
			require.Len(t, p.requests(), 1, "exactly one POST, no retry inside Send")
			if tt.ok {
				require.NoError(t, err)
				return
			}
			var se *notify.StatusError
			require.ErrorAs(t, err, &se, "a failed delivery, to be retried")
			assert.Equal(t, tt.status, se.StatusCode)
			assert.Contains(t, err.Error(), strconv.Itoa(tt.status))
			assert.NotErrorIs(t, err, notify.ErrGone)
			assert.False(t, n.Disabled())
		})
	}
}

// TestRetryAfterIsReported: a Retry-After, in seconds or as a date, comes
// back in the StatusError for the caller to wait at least that long.
func TestRetryAfterIsReported(t *testing.T) {
	for name, tt := range map[string]struct {
		header string
		want   time.Duration
	}{
		"seconds":     {"120", 2 * time.Minute},
		"a date":      {fixedNow.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		"none":        {"", 0},
		"a past date": {fixedNow.Add(-time.Hour).Format(http.TimeFormat), 0},
		"garbage":     {"soon", 0},
		"negative":    {"-5", 0},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPlatform(t, testSecret, 0)
			p.answer = func(w http.ResponseWriter) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret), Now: func() time.Time { return fixedNow }}
			var se *notify.StatusError
			require.ErrorAs(t, n.Send(context.Background(), sampleEvent()), &se)
			assert.Equal(t, tt.want, se.RetryAfter)
		})
	}
}

// TestGoneStopsDelivery: a 410 Gone disables the endpoint: that attempt
// reports ErrGone, and nothing more is posted to it.
func TestGoneStopsDelivery(t *testing.T) {
	p := newPlatform(t, testSecret, http.StatusGone)
	n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret)}
	err := n.Send(context.Background(), sampleEvent())
	require.ErrorIs(t, err, notify.ErrGone)
	assert.True(t, n.Disabled())

	other := sampleEvent()
	other.ID, other.Type = "fedcba9876543210fedcba9876543210", notify.OnboardingVerified
	assert.ErrorIs(t, n.Send(context.Background(), other), notify.ErrGone)
	assert.ErrorIs(t, n.Send(context.Background(), sampleEvent()), notify.ErrGone)
	assert.Len(t, p.requests(), 1, "nothing is posted after the 410")
}

// TestSendRedirect: redirects are never followed; a 3xx is a failed
// delivery, and only the original URL saw a request.
func TestSendRedirect(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var mu sync.Mutex
			var paths []string
			mux := http.NewServeMux()
			mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.URL.Path)
				mu.Unlock()
				http.Redirect(w, r, "/moved", status)
			})
			mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.URL.Path)
				mu.Unlock()
				w.WriteHeader(http.StatusOK)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)

			n := &notify.Notifier{URL: srv.URL + "/hook", Secrets: keys(t, testSecret)}
			err := n.Send(context.Background(), sampleEvent())
			var se *notify.StatusError
			require.ErrorAs(t, err, &se, "a redirect is a failed delivery")
			assert.Equal(t, status, se.StatusCode)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []string{"/hook"}, paths, "the redirect is not followed")
		})
	}
}

// TestSendFollowsNoRedirectEvenWithItsOwnClient: a client given by the
// caller does not follow redirects either.
func TestSendFollowsNoRedirectEvenWithItsOwnClient(t *testing.T) {
	moved := false
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/moved", func(http.ResponseWriter, *http.Request) { moved = true })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	n := &notify.Notifier{URL: srv.URL + "/hook", Secrets: keys(t, testSecret), HTTP: &http.Client{Timeout: time.Second}}
	require.Error(t, n.Send(context.Background(), sampleEvent()))
	assert.False(t, moved)
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	n := &notify.Notifier{URL: url, Secrets: keys(t, testSecret)}
	err := n.Send(context.Background(), sampleEvent())
	require.Error(t, err)
	assert.NotErrorIs(t, err, notify.ErrGone, "an unreachable platform is worth a retry")
	assert.False(t, n.Disabled())
}

func TestSendCanceledContext(t *testing.T) {
	p := newPlatform(t, testSecret, http.StatusOK)
	n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := n.Send(ctx, sampleEvent())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, p.requests())
}

func TestDisabledNotifier(t *testing.T) {
	for name, n := range map[string]*notify.Notifier{
		"nil": nil, "zero": {}, "secret but no URL": {Secrets: [][]byte{[]byte("kycflow-test-secret-0123456789ab")}},
	} {
		t.Run(name, func(t *testing.T) {
			assert.False(t, n.Enabled())
			var err error
			require.NotPanics(t, func() { err = n.Send(context.Background(), sampleEvent()) })
			require.Error(t, err)
		})
	}
	assert.True(t, (&notify.Notifier{URL: "https://platform.example/hooks"}).Enabled())
}

func TestSendWithoutSecretFailsClosed(t *testing.T) {
	called := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	t.Cleanup(srv.Close)
	n := &notify.Notifier{URL: srv.URL}
	assert.ErrorIs(t, n.Send(context.Background(), sampleEvent()), notify.ErrNoSecret)
	assert.False(t, called, "nothing is sent unsigned")
}

// TestSendRefusesAnIDTheSchemeCannotSign: the signed content is
// id.timestamp.body, so an id with a '.' (or none) is refused.
func TestSendRefusesAnIDTheSchemeCannotSign(t *testing.T) {
	p := newPlatform(t, testSecret, http.StatusOK)
	n := &notify.Notifier{URL: p.srv.URL, Secrets: keys(t, testSecret)}
	for _, id := range []string{"", "evt.1"} {
		ev := sampleEvent()
		ev.ID = id
		assert.ErrorIs(t, n.Send(context.Background(), ev), notify.ErrBadID, "id %q", id)
	}
	assert.Empty(t, p.requests())
}

func TestParseSecrets(t *testing.T) {
	key32 := []byte("0123456789abcdef0123456789abcdef")
	b64 := base64.StdEncoding.EncodeToString
	tests := map[string]struct {
		in      string
		want    [][]byte
		wantErr error
	}{
		"one":                  {in: "whsec_" + b64(key32), want: [][]byte{key32}},
		"two, space":           {in: "whsec_" + b64(key32) + " whsec_" + b64(key32[:24]), want: [][]byte{key32, key32[:24]}},
		"two, comma":           {in: "whsec_" + b64(key32) + ",whsec_" + b64(key32[:24]), want: [][]byte{key32, key32[:24]}},
		"64 bytes":             {in: "whsec_" + b64(append(key32, key32...)), want: [][]byte{append(key32, key32...)}},
		"empty":                {in: " ", wantErr: notify.ErrNoSecret},
		"a raw secret":         {in: "my-old-raw-secret-0123456789", wantErr: notify.ErrBadSecret},
		"not base64":           {in: "whsec_not*base64", wantErr: notify.ErrBadSecret},
		"too short":            {in: "whsec_" + b64(key32[:23]), wantErr: notify.ErrBadSecret},
		"too long":             {in: "whsec_" + b64(append(append(key32, key32...), 'x')), wantErr: notify.ErrBadSecret},
		"one bad of two":       {in: "whsec_" + b64(key32) + " raw-secret", wantErr: notify.ErrBadSecret},
		"url-safe base64 (no)": {in: "whsec_" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf}), wantErr: notify.ErrBadSecret},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := notify.ParseSecrets(tt.in)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				if strings.TrimSpace(tt.in) == "" {
					return
				}
				assert.NotContains(t, fmt.Sprint(err), strings.TrimPrefix(strings.TrimSpace(tt.in), "whsec_"), "the secret is not echoed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestNewSecret: a generated secret parses, and the library takes it.
func TestNewSecret(t *testing.T) {
	s := notify.NewSecret()
	k, err := notify.ParseSecrets(s)
	require.NoError(t, err)
	assert.Len(t, k[0], 32)
	assert.NotEqual(t, s, notify.NewSecret())
	verifier(t, s)
}

func TestRetryAfter(t *testing.T) {
	assert.Equal(t, 30*time.Second, notify.RetryAfter(" 30 ", fixedNow))
	assert.Equal(t, time.Duration(0), notify.RetryAfter("0", fixedNow))
	assert.Equal(t, 90*time.Second, notify.RetryAfter(fixedNow.Add(90*time.Second).Format(http.TimeFormat), fixedNow))
	assert.Equal(t, time.Duration(0), notify.RetryAfter("99999999999999", fixedNow), "absurd")
}

func TestStatusErrorIs(t *testing.T) {
	assert.True(t, errors.Is(&notify.StatusError{StatusCode: 410}, notify.ErrGone))
	assert.False(t, errors.Is(&notify.StatusError{StatusCode: 404}, notify.ErrGone))
}

// Example_receiver is a platform's receiver: the Standard Webhooks library
// checks the headers against the raw body, then the payload is decoded.
func Example_receiver() {
	secret := notify.EncodeSecret([]byte("shared-with-kycflow-0123456789ab")) // PLATFORM_WEBHOOK_SECRET
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		panic(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "invalid payload", http.StatusBadRequest)
			return
		}
		// A retry has the same webhook-id: drop duplicates by it.
		fmt.Println("event", r.Header.Get("webhook-id"), p.Type, "for", p.Data.UserID)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// kycflow's side.
	keys, _ := notify.ParseSecrets(secret)
	n := &notify.Notifier{URL: srv.URL, Secrets: keys}
	err = n.Send(context.Background(), notify.Event{
		ID: "evt_42", Type: notify.OnboardingVerified, UserID: "user_m_42", Status: "VERIFIED", OccurredAt: time.Now(),
	})
	fmt.Println("delivered:", err == nil)
	// Output:
	// event evt_42 onboarding.verified for user_m_42
	// delivered: true
}
