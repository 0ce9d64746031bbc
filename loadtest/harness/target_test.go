package harness_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/devstack/stack"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/loadtest/harness"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

// targetDB is the Redis database the target tests' stacks use, taken for
// the test (the e2e tests use 10, the bridge's 9, the reconciler's 11).
const targetDB = 12

// devStack starts what `make dev` starts (stack.Start, the same code), on
// free ports, with the given platform notification URL and secret (empty:
// the stand-in platform gets them, as with a plain make dev).
func devStack(t *testing.T, notifyURL, notifySecret string) *stack.Stack {
	t.Helper()
	redisURL := ""
	if raw := redistest.BaseURL(); raw != "" {
		x, err := redistest.LockDB(context.Background(), raw, targetDB, "loadtest-target-tests", 5*time.Minute)
		require.NoError(t, err)
		t.Cleanup(x.Release)
		redisURL = x.URL
	}
	o := stack.DevOptions()
	o.DataDir, o.TemporalHostPort, o.UIPort = "", "", ""
	o.SimAddr, o.BridgePublicAddr, o.BridgeInternalAddr, o.PlatformAddr, o.WorkerHTTPAddr =
		"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.RedisURL, o.PlatformWebhookURL, o.PlatformWebhookSecret = redisURL, notifyURL, notifySecret
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, o)
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	return s
}

// targetOf names the stack as a user names a deployment: its URLs and
// credentials, through the flags' parser.
func targetOf(t *testing.T, s *stack.Stack, notifyListen, notifySecret string) *harness.Target {
	t.Helper()
	tg, err := harness.ParseTarget(harness.TargetFlags{
		Target: s.BridgeInternalURL, APIToken: s.APIToken, MangopayURL: s.SimURL,
		ClientID: sandbox.DefaultClientID, APIKey: sandbox.DefaultAPIKey,
		NotifyListen: notifyListen, NotifySecret: notifySecret,
		TemporalAddr: s.TemporalAddr, BridgeMetrics: s.BridgeInternalURL + "/metrics",
	}, func(string) string { return "" })
	require.NoError(t, err)
	return tg
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func secret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// A deployment started as make dev starts it, whose worker notifies the
// harness: a small profile with a Mangopay fault has no violation, the
// report has the figures a target gives, and the simulator is left with no
// fault on.
func TestTargetWithNotifications(t *testing.T) {
	cfg := profile(t)
	listen, key := freeAddr(t), notify.NewSecret()
	s := devStack(t, "http://"+listen+"/kycflow/events", key)
	cfg.Target = targetOf(t, s, listen, key)
	cfg.Budget = harness.Budget{CallsPerSecond: stack.DevBudget.CallsPerSecond, Burst: stack.DevBudget.Burst}
	const users = 20
	cfg.Users, cfg.Rate, cfg.UserDeadline = users, 4, 2*time.Minute
	cfg.Chaos = harness.Chaos{Kinds: []harness.Fault{harness.Fault5xx, harness.FaultWebhooksDuplicated}, Times: 1, Window: 2 * time.Second}

	r, err := harness.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	logReport(t, r)
	assert.Empty(t, r.Violations)
	assert.Equal(t, users, r.Completed)
	require.NotNil(t, r.Target)
	assert.Equal(t, harness.ObservedByNotifications, r.Target.ObservedBy)
	assert.NotEmpty(t, r.Target.Omitted, "the report says what target mode leaves out")
	assert.Len(t, r.Faults, 2)
	for _, f := range r.Faults {
		assert.Empty(t, f.Error, "fault %s", f.Fault)
	}
	assert.Positive(t, r.Notifications)
	assert.Positive(t, r.Reaction.Count)
	assert.Positive(t, r.MangopayAPI)
	assert.NotEmpty(t, r.BudgetWindows, "the budget is checked against the simulator's call log")
	happy := r.Cost[harness.PathValidated]
	assert.GreaterOrEqual(t, happy.Actions.P50, 5, "actions read from the deployment's Temporal")
	assert.GreaterOrEqual(t, happy.MangopayCalls.P50, 2)
	assert.Positive(t, r.WebhookToSignal.Count)
	assert.Positive(t, r.Intake.Overall.Count, "the bridge's intake, scraped from its /metrics")
	assert.Empty(t, r.Processes, "not the harness's processes")

	// The deployment is left as it was: no fault window open.
	res, err := http.Get(s.SimURL + "/_sim/faults")
	require.NoError(t, err)
	defer res.Body.Close()
	var faults sandbox.Faults
	require.NoError(t, json.NewDecoder(res.Body).Decode(&faults))
	assert.Equal(t, sandbox.Faults{}, faults)
	// The expired path (in the default mix) shortened the session lifetime
	// for the run only.
	require.Positive(t, r.PathCounts[harness.PathExpired])
	res2, err := http.Get(s.SimURL + "/_sim/settings")
	require.NoError(t, err)
	defer res2.Body.Close()
	var set sandbox.Settings
	require.NoError(t, json.NewDecoder(res2.Body).Decode(&set))
	assert.Equal(t, harness.MangopaySessionLifetime.Seconds(), set.SessionLifetimeSeconds)
}

// A plain make dev notifies its own stand-in platform, not the harness:
// the harness polls the platform API, an honest run has no violation, and
// the same deployment with its hooks pointing at a wrong path token has
// every user reported lost.
func TestTargetPollingAndABrokenDeployment(t *testing.T) {
	cfg := profile(t)
	s := devStack(t, "", "")
	cfg.Target = targetOf(t, s, "", "")
	cfg.Budget = harness.Budget{CallsPerSecond: stack.DevBudget.CallsPerSecond, Burst: stack.DevBudget.Burst}
	cfg.Users, cfg.Rate, cfg.UserDeadline = 10, 5, 2*time.Minute

	r, err := harness.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	logReport(t, r)
	assert.Empty(t, r.Violations)
	assert.Equal(t, 10, r.Completed)
	require.NotNil(t, r.Target)
	assert.Equal(t, harness.ObservedByPolling, r.Target.ObservedBy)
	assert.Positive(t, r.Reaction.Count)

	// Break it: the hooks now carry a token the bridge does not serve.
	_, err = bridge.RegisterHooks(context.Background(), s.Mangopay, s.BridgePublicURL+"/webhooks/mangopay/"+secret(t))
	require.NoError(t, err)
	cfg.Users, cfg.Rate, cfg.UserDeadline = 4, 4, 15*time.Second
	cfg.Mix = harness.Mix{harness.PathValidated: 1}
	r, err = harness.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	lost := map[string]bool{}
	for _, v := range r.Violations {
		if v.Kind == harness.ViolationLost {
			lost[v.UserID] = true
		}
	}
	assert.Len(t, lost, 4, "every user lost: %+v", r.Violations)
	assert.Zero(t, r.Completed)
}

// A deployment that is not there, refuses the token, or has no simulator
// is refused before anything is driven, with what cannot be done.
func TestTargetPreflight(t *testing.T) {
	profile(t)
	s := devStack(t, "", "")
	down := "http://" + freeAddr(t)
	for _, tc := range []struct {
		name string
		edit func(*harness.Target)
		err  string
	}{
		{"nothing listening", func(tg *harness.Target) { tg.APIURL = down }, "the platform API does not answer"},
		{"wrong token", func(tg *harness.Target) { tg.APIToken = "wrong-token-0123456789" }, "refuses the token (401)"},
		{"not a simulator", func(tg *harness.Target) { tg.SimURL = s.BridgeInternalURL }, "is not the Mangopay simulator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := targetOf(t, s, "", "")
			tc.edit(tg)
			err := harness.Preflight(context.Background(), tg)
			require.ErrorIs(t, err, harness.ErrTarget)
			assert.ErrorContains(t, err, tc.err)
		})
	}
}
