package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/internal/apicontract"
	"github.com/kycflow/kycflow/notify"
)

// TestEventTypesArePublished pins the published event types: the webhooks
// of docs/openapi.yaml are exactly notify.EventTypes. A type added, renamed
// or dropped on one side only fails here.
func TestEventTypesArePublished(t *testing.T) {
	c, err := apicontract.LoadRepo()
	require.NoError(t, err)
	want := slices.Sorted(slices.Values(notify.EventTypes))
	assert.Equal(t, want, c.Webhooks())
}

// TestNotificationsMatchTheContract sends one event of each type through the
// Notifier, as the platform receives it, and validates the request (headers
// and body) against that type's webhook in docs/openapi.yaml.
func TestNotificationsMatchTheContract(t *testing.T) {
	c, err := apicontract.LoadRepo()
	require.NoError(t, err)
	type received struct {
		req  *http.Request
		body []byte
	}
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{r, body}
	}))
	defer srv.Close()
	n := &notify.Notifier{URL: srv.URL, Secrets: [][]byte{[]byte("kycflow-contract-secret-01234567")}}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, typ := range notify.EventTypes {
		t.Run(typ, func(t *testing.T) {
			ev := sample(typ, at)
			require.NoError(t, n.Send(context.Background(), ev))
			r := <-got
			assert.NoError(t, c.CheckNotification(r.req, r.body, typ))
		})
	}
	t.Run("the scheme before Standard Webhooks is refused", func(t *testing.T) {
		body, err := json.Marshal(sample(notify.OnboardingVerified, at))
		require.NoError(t, err)
		r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Kycflow-Event-Id", "evt-0123456789abcdef")
		r.Header.Set("Kycflow-Signature", "t=1796637600,v1="+strings.Repeat("0", 64))
		assert.Error(t, c.CheckNotification(r, body, notify.OnboardingVerified))
	})
	t.Run("a notification without its timeline entry is caught", func(t *testing.T) {
		ev := sample(notify.OnboardingVerified, at)
		ev.Entry = nil
		require.NoError(t, n.Send(context.Background(), ev))
		r := <-got
		assert.Error(t, c.CheckNotification(r.req, r.body, notify.OnboardingVerified))
	})
	t.Run("a wrong payload is caught", func(t *testing.T) {
		ev := sample(notify.OnboardingVerified, at)
		ev.Type = notify.OnboardingRefused // the body says refused, the webhook is verified
		require.NoError(t, n.Send(context.Background(), ev))
		r := <-got
		assert.Error(t, c.CheckNotification(r.req, r.body, notify.OnboardingVerified))
		assert.Error(t, c.CheckNotification(r.req, r.body, "onboarding.unknown"))
	})
}

// sample is an event of the given type with the fields the workflow sets
// for it.
func sample(typ string, at time.Time) notify.Event {
	ev := notify.Event{ID: "evt-0123456789abcdef", Type: typ, UserID: "user_m_01", Attempt: 1, OccurredAt: at,
		Entry: &audit.Entry{OnboardingID: "onb_0123456789abcdef", Seq: 3, At: at, Kind: audit.KindStatus, OldStatus: "AWAITING_USER", NewStatus: "REFUSED",
			Cause: audit.Cause{Kind: audit.CauseMangopayEvent, EventType: "IDENTITY_VERIFICATION_FAILED", ResourceID: "idnver_01"}}}
	switch family, status, _ := strings.Cut(typ, "."); family {
	case "onboarding":
		ev.Status, ev.IdvSessionID = strings.ToUpper(status), "idnver_01"
		switch typ {
		case notify.OnboardingAwaitingUser:
			ev.HostedURL, ev.ExpiresAt = "https://idv.example/s/1", at.Add(7*24*time.Hour).Format(time.RFC3339)
			ev.Reasons = []string{"DOCUMENT_UNREADABLE"}
		case notify.OnboardingRefused, notify.OnboardingFailed:
			ev.Reasons = []string{"DOCUMENT_FALSIFIED"}
		case notify.OnboardingRenewalRequired, notify.OnboardingRenewalReminder:
			ev.Status, ev.RenewalDeadline = "RENEWAL_REQUIRED", at.Add(90*24*time.Hour).Format(time.RFC3339)
		}
	case "document":
		ev.Status, ev.DocumentID, ev.Attempt = strings.ToUpper(status), "kyc_01", 0
		if typ == notify.DocumentRefused {
			ev.Reasons = []string{"DOCUMENT_UNREADABLE"}
		}
	case "psc":
		ev.Status, ev.PscID, ev.IdvSessionID, ev.HostedURL = strings.ToUpper(status), "psc_01", "idnver_01", "https://idv.example/p/1"
	}
	return ev
}
