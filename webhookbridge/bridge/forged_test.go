package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"golang.org/x/time/rate"
)

// TestForgedWebhooksCostOneLookup: webhooks naming a session Mangopay does
// not know (forged, by someone with the path token) cost one Mangopay call,
// not one each: the 404 is remembered.
func TestForgedWebhooksCostOneLookup(t *testing.T) {
	e := newForwarderEnv(t)
	ls := newLookupSim(t)
	f := e.forwarder("a", newFakeTemporal(), ls.mp)
	f.Resolver.Unknown = e.rdb
	startForwarder(t, f)
	const n = 5
	for i := range n {
		e.date = int64(1_790_000_000 + i) // distinct events, not duplicates
		e.append("IDENTITY_VERIFICATION_VALIDATED", "idnver_forged")
	}
	e.waitHandled(n)
	assert.Len(t, e.entries(webhookstream.UnroutedKey), n)
	assert.Equal(t, int64(1), ls.requests.Load()-1, "one lookup (and its token request) for all five")
}

// TestForgedWebhooksLookupRate: a flood of unknown IDs is looked up at the
// configured rate; the excess waits its turn (it is not lost, nor
// dead-lettered, nor counted against the events).
func TestForgedWebhooksLookupRate(t *testing.T) {
	e := newForwarderEnv(t)
	ls := newLookupSim(t)
	f := e.forwarder("a", newFakeTemporal(), ls.mp)
	f.Resolver.Limit = rate.NewLimiter(20, 2)
	startForwarder(t, f)
	const n = 30
	for i := range n {
		e.append("IDENTITY_VERIFICATION_VALIDATED", "idnver_forged_"+strconv.Itoa(i))
	}
	e.waitHandled(n)
	assert.Len(t, e.entries(webhookstream.UnroutedKey), n, "each is looked up in turn and found unknown")
	assert.Empty(t, e.entries(webhookstream.DeadLetterKey))
	assert.Positive(t, testutil.ToFloat64(e.metrics.LookupsLimited), "the flood went over the rate")
}

// TestDowngradeForUnknownUser: without BRIDGE_RESTART_UNKNOWN_USERS a
// USER_KYC_LIGHT naming a user kycflow has no onboarding for starts
// nothing (a forged one would start a workflow for any ID).
func TestDowngradeForUnknownUser(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	tc.notFound["kyc-u_anyone"] = true
	startForwarder(t, e.forwarder("a", tc, nil)) // RestartUnknownUsers off: the default
	e.append("USER_KYC_LIGHT", "u_anyone")
	e.waitHandled(1)
	_, _, starts := tc.snapshot()
	assert.Empty(t, starts, "nothing started")
	unrouted := e.entries(webhookstream.UnroutedKey)
	require.Len(t, unrouted, 1)
	assert.Contains(t, unrouted[0]["err"], "BRIDGE_RESTART_UNKNOWN_USERS")
}

// TestDowngradeNeverReopensAClosedOnboarding (real Temporal): a cancelled
// onboarding stays cancelled when a downgrade webhook comes, even with
// restarts of unknown users enabled.
func TestDowngradeNeverReopensAClosedOnboarding(t *testing.T) {
	dev := requireDev(t)
	b := newBridge(dev.rdb, dev.c)
	r := b.InternalRouter()
	userID := createUser(t, dev.mp)
	createOnboarding(t, r, userID, "")
	cancelOnboarding(t, r, userID)
	closedRun := func() string {
		d, err := dev.c.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(userID), "")
		require.NoError(t, err)
		if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return ""
		}
		return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	require.Eventually(t, func() bool { return closedRun() != "" }, waitFor, tick, "the cancelled workflow closes")
	run := closedRun()

	e := newForwarderEnv(t)
	e.rdb = dev.rdb
	f := e.forwarder("a", dev.c, nil)
	f.RestartUnknownUsers = true
	startForwarder(t, f)
	e.append("USER_KYC_LIGHT", userID)
	e.waitHandled(1)
	unrouted := e.entries(webhookstream.UnroutedKey)
	require.Len(t, unrouted, 1)
	assert.Contains(t, unrouted[0]["err"], "closed")
	assert.Equal(t, run, closedRun(), "the onboarding is still the closed one")
	assert.Zero(t, testutil.ToFloat64(e.metrics.Restarted))
}

// TestAccessLogClientIP: the access log names the caller, believing
// X-Forwarded-For only from the trusted proxies.
func TestAccessLogClientIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		want    string
	}{
		{name: "through a trusted proxy", trusted: []string{"10.0.0.0/8"}, want: "client_ip=203.0.113.7"},
		{name: "no trusted proxy: the peer", want: "client_ip=10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncbuf.Buffer{}
			b := newBridge(newRedis(t), nil)
			b.Logger, b.TrustedProxies = newTextLogger(logs), tt.trusted
			req := httptest.NewRequest(http.MethodGet, "/webhooks/mangopay/wrong-token", nil)
			req.RemoteAddr = "10.1.2.3:5555"
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			w := serve(b.PublicRouter(), req)
			require.Equal(t, http.StatusNotFound, w.Code)
			assert.Contains(t, logs.String(), tt.want)
		})
	}
}
