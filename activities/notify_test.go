package activities_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/notify"
)

// notifySecret is the platform's secret in these tests.
var notifySecret = notify.EncodeSecret([]byte("activities-test-secret-01234567"))

// delivery is what the fake platform saw of one request.
type delivery struct {
	webhookID string
	verifyErr error // the Standard Webhooks library's verdict
}

// fakePlatform answers every request with answer and verifies each with the
// specification's Go library.
func fakePlatform(t *testing.T, answer func(http.ResponseWriter)) (url string, deliveries func() []delivery) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(notifySecret)
	require.NoError(t, err)
	var mu sync.Mutex
	var got []delivery
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{webhookID: r.Header.Get("webhook-id"), verifyErr: wh.Verify(body, r.Header)})
		mu.Unlock()
		answer(w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []delivery { mu.Lock(); defer mu.Unlock(); return append([]delivery(nil), got...) }
}

func status(code int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

func notifyEvent(t *testing.T) notify.Event {
	return notify.Event{
		ID: "evt_" + redistest.Unique(t), Type: notify.OnboardingRefused, UserID: "user_m_1", Status: "REFUSED",
		Reasons: []string{"DOCUMENT_FALSIFIED"}, OccurredAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
	}
}

func notifier(t *testing.T, url string) *notify.Notifier {
	t.Helper()
	keys, err := notify.ParseSecrets(notifySecret)
	require.NoError(t, err)
	return &notify.Notifier{URL: url, Secrets: keys}
}

func TestNotifyPlatform(t *testing.T) {
	tests := []struct {
		name     string
		answer   func(http.ResponseWriter) // nil: no platform configured
		nilNotif bool                      // Activities.Notifier is nil
		wantSent bool
		wantErr  string // "": success; else the error's type
		// wantDelay is the least NextRetryDelay of a retryable error.
		wantDelay time.Duration
	}{
		{name: "nil notifier", nilNotif: true},
		{name: "no URL"},
		{name: "platform accepts", answer: status(http.StatusNoContent), wantSent: true},
		{name: "platform answers 400: retried", answer: status(http.StatusBadRequest), wantErr: activities.ErrTypeNotDelivered, wantDelay: 4 * time.Second},
		{name: "platform unavailable: retried", answer: status(http.StatusServiceUnavailable), wantErr: activities.ErrTypeNotDelivered, wantDelay: 4 * time.Second},
		{name: "a redirect: retried", answer: status(http.StatusFound, "Location", "/elsewhere"), wantErr: activities.ErrTypeNotDelivered, wantDelay: 4 * time.Second},
		{name: "Retry-After is a floor", answer: status(http.StatusServiceUnavailable, "Retry-After", "600"), wantErr: activities.ErrTypeNotDelivered, wantDelay: 10 * time.Minute},
		{name: "rate-limited with Retry-After", answer: status(http.StatusTooManyRequests, "Retry-After", "3600"), wantErr: activities.ErrTypeNotDelivered, wantDelay: time.Hour},
		{name: "410 Gone stops", answer: status(http.StatusGone), wantErr: activities.ErrTypeEndpointGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := notifyEvent(t)
			acts := &activities.Activities{}
			var deliveries func() []delivery
			switch {
			case tt.nilNotif:
			case tt.answer == nil:
				acts.Notifier = notifier(t, "")
			default:
				var url string
				url, deliveries = fakePlatform(t, tt.answer)
				acts.Notifier = notifier(t, url)
			}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(acts)

			val, err := env.ExecuteActivity(acts.NotifyPlatform, activities.NotifyInput{Event: ev})
			switch tt.wantErr {
			case "":
				require.NoError(t, err)
				var got activities.NotifyResult
				require.NoError(t, val.Get(&got))
				assert.Equal(t, tt.wantSent, got.Sent)
			case activities.ErrTypeEndpointGone:
				requirePermanent(t, err, tt.wantErr)
			default:
				requireRetryable(t, err)
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr))
				assert.Equal(t, tt.wantErr, appErr.Type())
				assert.GreaterOrEqual(t, appErr.NextRetryDelay(), tt.wantDelay, "the retry waits")
			}
			if deliveries != nil {
				got := deliveries()
				require.Len(t, got, 1)
				assert.Equal(t, ev.ID, got[0].webhookID)
				assert.NoError(t, got[0].verifyErr, "the Standard Webhooks library verifies the delivery")
			}
		})
	}
}

// TestNotifyPlatformAfterGone: once the endpoint answered 410, the next
// events are not posted at all, and end at once.
func TestNotifyPlatformAfterGone(t *testing.T) {
	url, deliveries := fakePlatform(t, status(http.StatusGone))
	acts := &activities.Activities{Notifier: notifier(t, url)}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.NotifyPlatform, activities.NotifyInput{Event: notifyEvent(t)})
	requirePermanent(t, err, activities.ErrTypeEndpointGone)
	for range 3 {
		ev := notifyEvent(t)
		ev.ID += "x"
		_, err = env.ExecuteActivity(acts.NotifyPlatform, activities.NotifyInput{Event: ev})
		requirePermanent(t, err, activities.ErrTypeEndpointGone)
	}
	assert.Len(t, deliveries(), 1, "nothing is posted after the 410")
}

// TestNotifyRetrySchedule: the delays grow exponentially to the cap, are
// jittered (within ±20%, different for different events), honour a
// Retry-After, and a platform that stays down is tried for more than three
// days inside the delivery window.
func TestNotifyRetrySchedule(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	base := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	for i, b := range base {
		d := activities.NotifyRetryDelay(id, i+1, 0)
		assert.GreaterOrEqual(t, d, b*8/10, "attempt %d", i+1)
		assert.LessOrEqual(t, d, b*12/10, "attempt %d", i+1)
	}
	for _, attempt := range []int{10, 50, 1000} {
		d := activities.NotifyRetryDelay(id, attempt, 0)
		assert.GreaterOrEqual(t, d, activities.NotifyRetryMax*8/10)
		assert.LessOrEqual(t, d, activities.NotifyRetryMax*12/10, "capped")
	}

	t.Run("jitter spreads events", func(t *testing.T) {
		seen := map[time.Duration]bool{}
		for _, ev := range []string{"a", "b", "c", "d", "e", "f"} {
			seen[activities.NotifyRetryDelay(ev, 3, 0)] = true
		}
		assert.Greater(t, len(seen), 3, "six events do not retry in lockstep: %v", seen)
		assert.Equal(t, activities.NotifyRetryDelay(id, 3, 0), activities.NotifyRetryDelay(id, 3, 0), "reproducible")
	})
	t.Run("Retry-After", func(t *testing.T) {
		assert.Equal(t, 2*time.Hour, activities.NotifyRetryDelay(id, 1, 2*time.Hour))
		assert.Equal(t, activities.NotifyRetryAfterMax, activities.NotifyRetryDelay(id, 1, 30*24*time.Hour), "capped")
		assert.Greater(t, activities.NotifyRetryDelay(id, 30, time.Second), time.Second, "a short Retry-After does not hurry the schedule")
	})
	t.Run("more than three days", func(t *testing.T) {
		var elapsed time.Duration
		attempts, last := 1, time.Duration(0)
		for {
			next := elapsed + activities.NotifyRetryDelay(id, attempts, 0)
			if next > activities.NotifyDeliveryWindow {
				break
			}
			elapsed, last = next, next
			attempts++
		}
		assert.GreaterOrEqual(t, last, 72*time.Hour, "the last attempt is at least three days after the first")
		t.Logf("%d attempts, the last %s after the first", attempts, last)
	})
}
