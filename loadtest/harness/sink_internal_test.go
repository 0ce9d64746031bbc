package harness

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/notify"
)

// TestSinkVerifiesStandardWebhooks: the harness's platform takes what the
// worker's Notifier sends (with the deployment's secret, or any of its
// secrets during a rotation), records the event, and refuses and counts a
// notification signed with another secret.
func TestSinkVerifiesStandardWebhooks(t *testing.T) {
	current, old, other := notify.NewSecret(), notify.NewSecret(), notify.NewSecret()
	send := func(t *testing.T, sinkSecrets, signWith, id string) {
		t.Helper()
		keys, err := notify.ParseSecrets(signWith)
		require.NoError(t, err)
		sk, err := newSink(sinkSecrets)
		require.NoError(t, err)
		srv := httptest.NewServer(sk)
		t.Cleanup(srv.Close)
		n := &notify.Notifier{URL: srv.URL, Secrets: keys}
		err = n.Send(context.Background(), notify.Event{ID: id, Type: notify.OnboardingVerified, UserID: "u1", Status: "VERIFIED", OccurredAt: time.Now()})
		total, rejected := sk.counts()
		if signWith == other {
			require.Error(t, err)
			assert.Equal(t, 0, total)
			assert.Equal(t, 1, rejected, "counted as a violation")
			return
		}
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		assert.Zero(t, rejected)
		evs := sk.events("u1")
		require.Len(t, evs, 1)
		assert.Equal(t, id, evs[0].ID)
		assert.Equal(t, notify.OnboardingVerified, evs[0].Type, "the event is the payload's data")
	}
	t.Run("the deployment's secret", func(t *testing.T) { send(t, current, current, "evt1") })
	t.Run("a rotation: the sink holds the old secret", func(t *testing.T) { send(t, old, current+" "+old, "evt2") })
	t.Run("a rotation: the sink holds both", func(t *testing.T) { send(t, current+","+old, old, "evt3") })
	t.Run("another secret", func(t *testing.T) { send(t, current, other, "evt4") })
	t.Run("a secret of the old scheme", func(t *testing.T) {
		_, err := newSink("0123456789abcdef0123456789abcdef")
		assert.ErrorIs(t, err, notify.ErrBadSecret)
	})
}
