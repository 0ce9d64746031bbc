package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// forge signals a webhook no one at Mangopay sent: a real type and
// resource, a Date of its own, so that it passes the dedupe.
func (h *harness) forge(eventType, resourceID string, date int64) {
	h.signals++
	ev := webhookstream.MangopayEvent{EventType: mangopay.EventType(eventType), ResourceID: resourceID, Date: date}
	ev.EventKey = ev.Key()
	h.env.SignalWorkflow(workflows.SignalMangopayEvent, ev)
}

// TestForgedWebhooksCostFewReads: a flood of forged webhooks about a
// verified user, each with a new Date, costs a Mangopay read per hint
// window, not one per webhook (counted at the simulator).
func TestForgedWebhooksCostFewReads(t *testing.T) {
	const (
		n      = 200
		window = workflows.DefaultHintWindow
	)
	for _, tc := range []struct {
		name  string
		types []string
		every time.Duration // between two forged webhooks (0: all at once)
		// most is the reads the flood may cost: one at its first hint, then
		// at most one per window.
		most int
	}{
		{"a burst of USER_KYC_LIGHT", []string{"USER_KYC_LIGHT"}, 0, 2},
		{"a burst cycling the block types", []string{"USER_INFLOWS_BLOCKED", "USER_INFLOWS_UNBLOCKED", "USER_OUTFLOWS_BLOCKED", "USER_OUTFLOWS_UNBLOCKED"}, 0, 2},
		{"USER_KYC_LIGHT over 30 s", []string{"USER_KYC_LIGHT"}, 150 * time.Millisecond, 2 + int(n*150*time.Millisecond/window)},
		// One session read answers every IDENTITY_VERIFICATION_* type of
		// the session: cycling them buys no extra read.
		{"a burst cycling the session types", []string{
			"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_VALIDATED", "IDENTITY_VERIFICATION_FAILED",
			"IDENTITY_VERIFICATION_INCONCLUSIVE", "IDENTITY_VERIFICATION_OUTDATED", "IDENTITY_VERIFICATION_EXPIRED",
		}, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "NATURAL")
			h.ensure(0, workflows.EnsureSessionRequest{})
			h.at(time.Minute, func() { h.decide(validated); h.deliver() })
			const floodAt = 10 * time.Minute
			var before, after int
			var view workflows.StateView
			var resource string
			h.at(floodAt-time.Second, func() {
				before = h.mangopayCalls()
				resource = h.userID
				if mangopay.EventType(tc.types[0]).Topic() == mangopay.TopicSession {
					resource = h.state().IdvSessionID
				}
			})
			for i := range n {
				h.at(floodAt+time.Duration(i)*tc.every, func() {
					h.forge(tc.types[i%len(tc.types)], resource, h.env.Now().Unix()+int64(i))
				})
			}
			h.at(floodAt+time.Hour, func() { after, view = h.mangopayCalls(), h.state() })
			h.cancel(floodAt + 2*time.Hour)
			h.run(workflows.Config{})

			reads := after - before
			t.Logf("%d forged webhooks: %d Mangopay calls %v", n, reads, h.sim.APICalls())
			assert.Positive(t, reads, "the hint is followed: Mangopay is read")
			assert.LessOrEqual(t, reads, tc.most)
			assert.Equal(t, workflows.StatusVerified, view.Status, "what Mangopay says, whatever the forger says")
		})
	}
}

// TestHintReadIsNeverOlderThanTheNewestHint: a genuine downgrade webhook
// that comes inside the window of a forged flood is not swallowed by it: the
// read that follows the window sees the user LIGHT.
func TestHintReadIsNeverOlderThanTheNewestHint(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	const floodAt = 10 * time.Minute
	for i := range 50 {
		h.at(floodAt, func() { h.forge("USER_KYC_LIGHT", h.userID, h.env.Now().Unix()+int64(i)) })
	}
	h.at(floodAt+time.Second, func() {
		require.NoError(t, h.sim.Downgrade(h.userID))
		h.skipEvents()
		h.forge("USER_KYC_LIGHT", h.userID, h.env.Now().Unix()+1000) // the genuine one, as the bridge passes it
	})
	var view workflows.StateView
	h.at(floodAt+time.Hour, func() { view = h.state() })
	h.cancel(floodAt + 2*time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusAwaitingUser, view.Status, "the downgrade was seen: a new session is open")
	assert.Equal(t, 2, view.Attempt)
}

// TestHintWindowsPastTheCap: a flood that first takes every remembered
// window (one hint about each of many resources) does not make the next
// hints free to follow: each still waits for its resource's window.
func TestHintWindowsPastTheCap(t *testing.T) {
	const n = 200
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	const floodAt = 10 * time.Minute
	var before, after int
	var view workflows.StateView
	h.at(floodAt-time.Second, func() { before = h.mangopayCalls() })
	h.at(floodAt, func() {
		for i := range 100 { // documents of no one's: no read, but a window each
			h.forge("KYC_SUCCEEDED", "doc_forged_"+itoa(int64(i)), h.env.Now().Unix())
		}
		for i := range n {
			h.forge("USER_KYC_LIGHT", h.userID, h.env.Now().Unix()+int64(i))
		}
	})
	h.at(floodAt+time.Hour, func() { after, view = h.mangopayCalls(), h.state() })
	h.cancel(floodAt + 2*time.Hour)
	h.run(workflows.Config{})

	reads := after - before
	t.Logf("%d forged webhooks past the cap: %d Mangopay calls %v", n, reads, h.sim.APICalls())
	assert.Positive(t, reads, "the hint is followed: Mangopay is read")
	assert.LessOrEqual(t, reads, 2, "one read at the first hint, one when its window ends")
	assert.Equal(t, workflows.StatusVerified, view.Status)
}

// TestHeldSessionHintsOfSeveralTypes: the session's hints share one
// window, so the one held is the newest whatever its type; a genuine
// VALIDATED held behind it is not lost when the newest (forged) one names
// the status the workflow already knows.
func TestHeldSessionHintsOfSeveralTypes(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	const at = 10 * time.Minute
	var session string
	h.at(at, func() {
		session = h.state().IdvSessionID
		h.forge("IDENTITY_VERIFICATION_FAILED", session, h.env.Now().Unix()) // a read (still PENDING) opens the session's window
	})
	h.at(at+time.Second, func() {
		h.decide(validated)
		h.skipEvents()
		h.forge("IDENTITY_VERIFICATION_VALIDATED", session, h.env.Now().Unix()) // the genuine one, held
		h.forge("IDENTITY_VERIFICATION_PENDING", session, h.env.Now().Unix()+1) // a forged one, newer
	})
	var view workflows.StateView
	h.at(at+time.Hour, func() { view = h.state() })
	h.cancel(at + 2*time.Hour)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusVerified, view.Status, "the validation was read when the window ended")
}
