package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
)

// lookupSim is a simulator that counts the requests it is sent, answered or
// faulted alike (Sandbox.APICalls counts only the answered ones).
type lookupSim struct {
	sim      *sandbox.Sandbox
	mp       *mangopay.Client
	requests atomic.Int64
}

func newLookupSim(t *testing.T) *lookupSim {
	t.Helper()
	ls := &lookupSim{}
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds, set.RateLimitEnforced = 0, false
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ls.requests.Add(1)
		handler.ServeHTTP(w, r)
	}))
	ls.sim = sandbox.New(sandbox.Config{PublicURL: srv.URL, Settings: set, Seed: 1, Logger: quietLogger()})
	handler = ls.sim.Handler()
	t.Cleanup(func() { srv.Close(); ls.sim.Close() })
	var err error
	ls.mp, err = mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: ls.sim.ClientID(), APIKey: sandbox.DefaultAPIKey, Logger: quietLogger()})
	require.NoError(t, err)
	return ls
}

// TestForwarderMangopayOutage: the routing index misses and the fallback
// lookup meets a Mangopay outage (5xx, 429) or a credential problem (401,
// 403). That is not the event's fault: the entry stays pending, is never
// dead-lettered nor filed as unroutable, the outage is counted for alerts,
// webhooks the index routes keep flowing, and once Mangopay answers again
// the event is signalled once. (Only a 404 makes an event unroutable:
// TestForwarderRouting.)
func TestForwarderMangopayOutage(t *testing.T) {
	for _, status := range []int{500, 503, 429, 401, 403} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e := newForwarderEnv(t)
			ls := newLookupSim(t)
			user := createUser(t, ls.mp)
			session, err := ls.mp.CreateIdentityVerification(context.Background(), user, &mangopay.CreateIdentityVerificationParams{ReturnURL: platformReturnURL})
			require.NoError(t, err)
			ls.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: status})
			ls.requests.Store(0)

			tc := newFakeTemporal()
			f := e.forwarder("a", tc, ls.mp) // MaxAttempts 3
			startForwarder(t, f)
			missed := e.append("IDENTITY_VERIFICATION_VALIDATED", session.ID)

			// More lookups than MaxAttempts (each one a GET, or a token
			// request that fails first), or the entry left the stream.
			require.Eventually(t, func() bool {
				return ls.requests.Load() > int64(f.MaxAttempts) || e.handled() > 0
			}, waitFor, tick)
			assert.Empty(t, e.entries(webhookstream.DeadLetterKey), "an outage is not the event's fault")
			assert.Empty(t, e.entries(webhookstream.UnroutedKey), "Mangopay did not say the session does not exist")
			assert.Equal(t, int64(1), e.pending(), "the entry is kept")
			assert.Positive(t, testutil.ToFloat64(e.metrics.Outages.WithLabelValues("mangopay")), "the outage is counted")

			// A webhook the index routes does not wait for Mangopay.
			require.NoError(t, e.index.Put(context.Background(), routing.KindSession, "idv_indexed", "u_indexed"))
			routed := e.append("IDENTITY_VERIFICATION_VALIDATED", "idv_indexed")
			require.Eventually(t, func() bool { return tc.signalled()[routed.EventKey] == 1 }, waitFor, tick,
				"the indexed webhook is forwarded during the outage")

			ls.sim.SetFaults(sandbox.Faults{})
			e.waitHandled(2)
			assert.Equal(t, map[string]int{missed.EventKey: 1, routed.EventKey: 1}, tc.signalled())
			_, got, _ := tc.snapshot()
			for _, s := range got {
				if s.Event.EventKey == missed.EventKey {
					assert.Equal(t, "kyc-"+user, s.WorkflowID)
				}
			}
			assert.Empty(t, e.entries(webhookstream.DeadLetterKey))
		})
	}
}
