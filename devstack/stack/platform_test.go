package stack

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/notify"
)

// TestPlatformTakesOnlyVerifiedNotifications: make dev's stand-in platform
// verifies with the Standard Webhooks library: the worker's notification is
// recorded, one signed with another secret is refused.
func TestPlatformTakesOnlyVerifiedNotifications(t *testing.T) {
	secret := notify.NewSecret()
	p, err := newPlatform(secret, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	srv := httptest.NewServer(p.handler())
	t.Cleanup(srv.Close)
	ev := notify.Event{ID: "evt1", Type: notify.OnboardingVerified, UserID: "u1", Status: "VERIFIED", OccurredAt: time.Now().UTC().Truncate(time.Second)}

	keys, err := notify.ParseSecrets(secret)
	require.NoError(t, err)
	require.NoError(t, (&notify.Notifier{URL: srv.URL + "/kycflow/events", Secrets: keys}).Send(context.Background(), ev))

	forged, err := notify.ParseSecrets(notify.NewSecret())
	require.NoError(t, err)
	var se *notify.StatusError
	require.ErrorAs(t, (&notify.Notifier{URL: srv.URL + "/kycflow/events", Secrets: forged}).Send(context.Background(), ev), &se)
	assert.Equal(t, 401, se.StatusCode)

	assert.Equal(t, []notify.Event{ev}, p.Events())
}
