package notify_test

import (
	"context"
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/notify"
)

var (
	testSecret = []byte("whsec_test_secret")
	fixedNow   = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
)

func sampleEvent() notify.Event {
	return notify.Event{
		ID: "evt_0123456789abcdef", Type: "IDV_SESSION_REFUSED", UserID: "user_m_01JTG7NDTE52MZCCF50QHJ870A",
		Status: "REFUSED", Attempt: 2, IdvSessionID: "idnver_01JTG7", Reasons: []string{"DOCUMENT_FALSIFIED"},
		OccurredAt: fixedNow,
	}
}

// received is what the platform server saw of one request.
type received struct {
	method, contentType, eventID, signature string
	body                                    []byte
	verifyErr                               error
}

// platform is a fake platform webhook endpoint: it verifies each request as
// a real platform would and answers with status.
type platform struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status int
	now    time.Time
}

func newPlatform(t *testing.T, status int, now time.Time) *platform {
	t.Helper()
	p := &platform{status: status, now: now}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := received{
			method: r.Method, contentType: r.Header.Get("Content-Type"), eventID: r.Header.Get(notify.EventIDHeader),
			signature: r.Header.Get(notify.SignatureHeader), body: body,
		}
		rec.verifyErr = notify.Verify(testSecret, rec.signature, body, p.now, notify.DefaultTolerance)
		p.mu.Lock()
		p.got = append(p.got, rec)
		p.mu.Unlock()
		w.WriteHeader(p.status)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) requests() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.got...)
}

func TestSendStatuses(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		wantErr      bool
		wantRejected bool
	}{
		{"200 OK", http.StatusOK, false, false},
		{"202 Accepted", http.StatusAccepted, false, false},
		{"204 No Content", http.StatusNoContent, false, false},
		{"400 Bad Request", http.StatusBadRequest, true, true},
		{"401 Unauthorized", http.StatusUnauthorized, true, true},
		{"404 Not Found", http.StatusNotFound, true, true},
		{"409 Conflict", http.StatusConflict, true, true},
		{"422 Unprocessable Entity", http.StatusUnprocessableEntity, true, true},
		{"429 Too Many Requests is retryable", http.StatusTooManyRequests, true, false},
		{"500 Internal Server Error", http.StatusInternalServerError, true, false},
		{"502 Bad Gateway", http.StatusBadGateway, true, false},
		{"503 Service Unavailable", http.StatusServiceUnavailable, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlatform(t, tt.status, fixedNow)
			n := &notify.Notifier{URL: p.srv.URL, Secret: testSecret, Now: func() time.Time { return fixedNow }}
			ev := sampleEvent()

			err := n.Send(context.Background(), ev)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), strconv.Itoa(tt.status), "the status is in the error")
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantRejected, errors.Is(err, notify.ErrRejected), "errors.Is(%v, ErrRejected)", err)

			reqs := p.requests()
			require.Len(t, reqs, 1, "exactly one POST, no retry inside Send")
			got := reqs[0]
			assert.Equal(t, http.MethodPost, got.method)
			assert.Equal(t, "application/json", got.contentType)
			assert.Equal(t, ev.ID, got.eventID)
			assert.NoError(t, got.verifyErr, "signature %q", got.signature)
			assert.True(t, strings.HasPrefix(got.signature, "t="+strconv.FormatInt(fixedNow.Unix(), 10)+","), "signed at Notifier.Now: %q", got.signature)

			var decoded notify.Event
			require.NoError(t, json.Unmarshal(got.body, &decoded))
			assert.Equal(t, ev.ID, decoded.ID)
			assert.Equal(t, ev.UserID, decoded.UserID)
			assert.Equal(t, ev.Reasons, decoded.Reasons)
			assert.True(t, ev.OccurredAt.Equal(decoded.OccurredAt))
		})
	}
}

func TestSendWireFormat(t *testing.T) {
	p := newPlatform(t, http.StatusNoContent, fixedNow)
	n := &notify.Notifier{URL: p.srv.URL, Secret: testSecret, Now: func() time.Time { return fixedNow }}
	require.NoError(t, n.Send(context.Background(), notify.Event{ID: "evt_1", Type: "IDV_SESSION_CREATED", UserID: "user_1", Status: "PENDING", OccurredAt: fixedNow}))

	reqs := p.requests()
	require.Len(t, reqs, 1)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(reqs[0].body, &fields))
	for _, k := range []string{"Id", "Type", "UserId", "Status", "OccurredAt"} {
		assert.Contains(t, fields, k, "PascalCase field %s", k)
	}
	for _, k := range []string{"Attempt", "IdvSessionId", "HostedUrl", "ExpiresAt", "Reasons", "KycDocumentId"} {
		assert.NotContains(t, fields, k, "empty optional field %s is omitted", k)
	}
	assert.Equal(t, notify.Sign(testSecret, fixedNow, reqs[0].body), reqs[0].signature)
}

func TestSendDefaultClock(t *testing.T) {
	// Without Now the signature carries the wall clock, which the platform
	// accepts against its own clock.
	p := newPlatform(t, http.StatusOK, time.Now())
	n := &notify.Notifier{URL: p.srv.URL, Secret: testSecret}
	require.NoError(t, n.Send(context.Background(), sampleEvent()))
	reqs := p.requests()
	require.Len(t, reqs, 1)
	assert.NoError(t, reqs[0].verifyErr)
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	n := &notify.Notifier{URL: url, Secret: testSecret}
	err := n.Send(context.Background(), sampleEvent())
	require.Error(t, err)
	assert.NotErrorIs(t, err, notify.ErrRejected, "an unreachable platform is worth a retry")
}

func TestSendCanceledContext(t *testing.T) {
	p := newPlatform(t, http.StatusOK, fixedNow)
	n := &notify.Notifier{URL: p.srv.URL, Secret: testSecret}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := n.Send(ctx, sampleEvent())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, p.requests())
}

func TestDisabledNotifier(t *testing.T) {
	tests := []struct {
		name string
		n    *notify.Notifier
	}{
		{"nil", nil},
		{"zero", &notify.Notifier{}},
		{"secret but no URL", &notify.Notifier{Secret: testSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.False(t, tt.n.Enabled())
			var err error
			require.NotPanics(t, func() { err = tt.n.Send(context.Background(), sampleEvent()) })
			require.Error(t, err)
			assert.NotErrorIs(t, err, notify.ErrRejected)
		})
	}
	assert.True(t, (&notify.Notifier{URL: "https://platform.example/hooks"}).Enabled())
}

func TestSign(t *testing.T) {
	body := []byte(`{"Id":"evt_1"}`)
	got := notify.Sign(testSecret, fixedNow, body)
	ts := strconv.FormatInt(fixedNow.Unix(), 10)
	require.True(t, strings.HasPrefix(got, "t="+ts+",v1="), "got %q", got)
	assert.Len(t, strings.TrimPrefix(got, "t="+ts+",v1="), 64, "hex SHA-256")
	assert.Equal(t, got, notify.Sign(testSecret, fixedNow, body), "deterministic")
	assert.NotEqual(t, got, notify.Sign([]byte("other"), fixedNow, body))
	assert.NotEqual(t, got, notify.Sign(testSecret, fixedNow.Add(time.Second), body))
}

func TestVerify(t *testing.T) {
	body := []byte(`{"Id":"evt_1","Type":"IDV_SESSION_VALIDATED","UserId":"user_1","Status":"VALIDATED"}`)
	signedAt := fixedNow
	good := notify.Sign(testSecret, signedAt, body)
	ts := strconv.FormatInt(signedAt.Unix(), 10)
	sigOnly := func(secret []byte) string {
		return strings.TrimPrefix(notify.Sign(secret, signedAt, body), "t="+ts+",v1=")
	}
	oldSecret := []byte("whsec_old_secret")

	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", testSecret, good, body, signedAt, nil},
		{"good a little later", testSecret, good, body, signedAt.Add(time.Minute), nil},
		{"at the tolerance edge", testSecret, good, body, signedAt.Add(notify.DefaultTolerance), nil},
		{"spaces around entries", testSecret, "t=" + ts + ", v1=" + sigOnly(testSecret), body, signedAt, nil},
		{"unknown scheme ignored", testSecret, "t=" + ts + ",v0=abc,v1=" + sigOnly(testSecret), body, signedAt, nil},
		{"rotated: new secret second", testSecret, "t=" + ts + ",v1=" + sigOnly(oldSecret) + ",v1=" + sigOnly(testSecret), body, signedAt, nil},
		{"rotated: old secret still accepted", oldSecret, "t=" + ts + ",v1=" + sigOnly(oldSecret) + ",v1=" + sigOnly(testSecret), body, signedAt, nil},
		{"rotated: neither matches", []byte("whsec_third"), "t=" + ts + ",v1=" + sigOnly(oldSecret) + ",v1=" + sigOnly(testSecret), body, signedAt, notify.ErrBadSignature},
		{"tampered body", testSecret, good, []byte(strings.Replace(string(body), "VALIDATED", "REFUSED", 1)), signedAt, notify.ErrBadSignature},
		{"body with trailing newline", testSecret, good, append(append([]byte(nil), body...), '\n'), signedAt, notify.ErrBadSignature},
		{"wrong secret", []byte("whsec_wrong"), good, body, signedAt, notify.ErrBadSignature},
		{"empty secret fails closed", nil, good, body, signedAt, notify.ErrNoSecret},
		{"timestamp swapped", testSecret, "t=" + strconv.FormatInt(signedAt.Unix()+1, 10) + ",v1=" + sigOnly(testSecret), body, signedAt, notify.ErrBadSignature},
		{"signature not hex", testSecret, "t=" + ts + ",v1=not-hex", body, signedAt, notify.ErrBadSignature},
		{"signature upper-case", testSecret, "t=" + ts + ",v1=" + strings.ToUpper(sigOnly(testSecret)), body, signedAt, notify.ErrBadSignature},
		{"too old", testSecret, good, body, signedAt.Add(notify.DefaultTolerance + time.Second), notify.ErrTooOld},
		{"replayed a day later", testSecret, good, body, signedAt.Add(24 * time.Hour), notify.ErrTooOld},
		{"from the future", testSecret, good, body, signedAt.Add(-notify.DefaultTolerance - time.Second), notify.ErrTooOld},
		{"empty header", testSecret, "", body, signedAt, notify.ErrNoSignature},
		{"garbage header", testSecret, "garbage", body, signedAt, notify.ErrNoSignature},
		{"no timestamp", testSecret, "v1=" + sigOnly(testSecret), body, signedAt, notify.ErrNoSignature},
		{"no signature", testSecret, "t=" + ts, body, signedAt, notify.ErrNoSignature},
		{"empty v1 list", testSecret, "t=" + ts + ",v0=" + sigOnly(testSecret), body, signedAt, notify.ErrNoSignature},
		{"timestamp not a number", testSecret, "t=yesterday,v1=" + sigOnly(testSecret), body, signedAt, notify.ErrNoSignature},
		{"timestamp in milliseconds", testSecret, "t=" + strconv.FormatInt(signedAt.UnixMilli(), 10) + ",v1=" + sigOnly(testSecret), body, signedAt, notify.ErrTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := notify.Verify(tt.secret, tt.header, tt.body, tt.now, notify.DefaultTolerance)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func ExampleVerify() {
	secret := []byte("whsec_shared_with_kycflow")

	// The platform's endpoint: read the raw body, verify it, then decode it.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), notify.DefaultTolerance); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var ev notify.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "invalid event", http.StatusBadRequest)
			return
		}
		// Temporal may retry a delivery: the event id, also in the Id field,
		// lets the platform drop duplicates.
		fmt.Println("event", r.Header.Get(notify.EventIDHeader), ev.Type, "for", ev.UserID)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// kycflow's side.
	n := &notify.Notifier{URL: srv.URL, Secret: secret}
	err := n.Send(context.Background(), notify.Event{
		ID: "evt_42", Type: "IDV_SESSION_VALIDATED", UserID: "user_m_42", Status: "VALIDATED", OccurredAt: time.Now(),
	})
	fmt.Println("delivered:", err == nil)

	// A forged request is refused.
	forged := notify.Sign([]byte("guessed secret"), time.Now(), []byte(`{"Id":"evt_43"}`))
	fmt.Println(notify.Verify(secret, forged, []byte(`{"Id":"evt_43"}`), time.Now(), notify.DefaultTolerance))
	// Output:
	// event evt_42 IDV_SESSION_VALIDATED for user_m_42
	// delivered: true
	// notify: signature does not match
}

// TestSendRedirect checks that Send reports success only when the platform
// accepted the POST itself. Go's HTTP client follows a 301, 302 or 303 with a
// GET and no body; a 2xx answer to that GET says nothing about the event.
func TestSendRedirect(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			type hit struct {
				method, path string
				answered     int
				verifyErr    error
			}
			var mu sync.Mutex
			var hits []hit
			mux := http.NewServeMux()
			mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits = append(hits, hit{method: r.Method, path: r.URL.Path, answered: status})
				mu.Unlock()
				http.Redirect(w, r, "/moved", status)
			})
			mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				h := hit{method: r.Method, path: r.URL.Path, answered: http.StatusOK}
				h.verifyErr = notify.Verify(testSecret, r.Header.Get(notify.SignatureHeader), body, fixedNow, notify.DefaultTolerance)
				mu.Lock()
				hits = append(hits, h)
				mu.Unlock()
				w.WriteHeader(http.StatusOK)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)

			n := &notify.Notifier{URL: srv.URL + "/hook", Secret: testSecret, Now: func() time.Time { return fixedNow }}
			err := n.Send(context.Background(), sampleEvent())
			if err != nil {
				return // not delivered, and said so: Temporal retries
			}
			mu.Lock()
			defer mu.Unlock()
			delivered := false
			for _, h := range hits {
				if h.method == http.MethodPost && h.answered/100 == 2 && h.verifyErr == nil {
					delivered = true
				}
			}
			assert.True(t, delivered, "Send returned nil but no signed POST was accepted; requests: %+v", hits)
		})
	}
}

func TestSendWithoutSecretFailsClosed(t *testing.T) {
	called := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	t.Cleanup(srv.Close)
	n := &notify.Notifier{URL: srv.URL}
	err := n.Send(context.Background(), notify.Event{ID: "evt-1", Type: "onboarding.verified"})
	assert.ErrorIs(t, err, notify.ErrNoSecret)
	assert.False(t, called, "nothing is sent unsigned")
}
