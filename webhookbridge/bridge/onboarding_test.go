package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// Waits on observable state. They bound a wait; they assert nothing about
// speed.
const (
	waitFor = time.Minute
	tick    = 50 * time.Millisecond
)

const platformReturnURL = "https://platform.example/kyc/done"

// decodeJSON reads a 200 answer's body into v.
func decodeJSON(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), v), "body %s", w.Body)
}

// stateOf is GET /v1/onboardings/<user> through r.
func stateOf(t testing.TB, r http.Handler, userID string) (workflows.StateView, int) {
	t.Helper()
	w := serve(r, apiRequest(http.MethodGet, "/v1/onboardings/"+userID, nil))
	var v workflows.StateView
	if w.Code == http.StatusOK {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	}
	return v, w.Code
}

// cancelOnboarding ends a test's workflow, so that it leaves nothing
// running on the shared dev server.
func cancelOnboarding(t testing.TB, r http.Handler, userID string) workflows.StateView {
	t.Helper()
	w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", strings.NewReader(`{"Reason":"test over"}`)))
	var v workflows.StateView
	decodeJSON(t, w, &v)
	return v
}

// endOnboarding cancels a test's workflow when it still runs.
func endOnboarding(t testing.TB, r http.Handler, userID string) {
	t.Helper()
	w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", nil))
	if w.Code != http.StatusOK && w.Code != http.StatusNotFound {
		t.Errorf("cancel the onboarding of %s: %d %s", userID, w.Code, w.Body)
	}
}

func createOnboarding(t testing.TB, r http.Handler, userID, tag string) workflows.EnsureSessionResult {
	t.Helper()
	body, err := json.Marshal(map[string]string{"UserId": userID, "ReturnUrl": platformReturnURL, "Tag": tag})
	require.NoError(t, err)
	w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings", strings.NewReader(string(body))))
	var res workflows.EnsureSessionResult
	decodeJSON(t, w, &res)
	return res
}

func TestOnboardingAPI(t *testing.T) {
	dev := requireDev(t)
	b := newBridge(dev.rdb, dev.c)
	r := b.InternalRouter()
	userID := createUser(t, dev.mp)

	first := createOnboarding(t, r, userID, "signup-1")
	require.Equal(t, workflows.StatusAwaitingUser, first.Status, "%+v", first)
	assert.Equal(t, userID, first.UserID)
	assert.Equal(t, 1, first.Attempt)
	require.NotEmpty(t, first.IdvSessionID)
	require.True(t, strings.HasPrefix(first.HostedURL, dev.simURL), "HostedUrl %q should be the simulator's hosted page", first.HostedURL)
	_, err := time.Parse(time.RFC3339, first.ExpiresAt)
	require.NoError(t, err, "ExpiresAt is RFC 3339")
	t.Cleanup(func() { endOnboarding(t, r, userID) })

	t.Run("idempotent per user", func(t *testing.T) {
		again := createOnboarding(t, r, userID, "signup-2")
		assert.Equal(t, first.IdvSessionID, again.IdvSessionID, "the same session, not a second one")
		assert.Equal(t, first.HostedURL, again.HostedURL)
		sessions, _, err := dev.mp.ListIdentityVerifications(context.Background(), userID, nil)
		require.NoError(t, err)
		assert.Len(t, sessions, 1, "one session at Mangopay")
	})

	t.Run("state", func(t *testing.T) {
		v, code := stateOf(t, r, userID)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, userID, v.UserID)
		assert.Equal(t, workflows.StatusAwaitingUser, v.Status)
		assert.Equal(t, first.IdvSessionID, v.IdvSessionID)
		assert.Equal(t, first.HostedURL, v.HostedURL)
	})

	t.Run("document", func(t *testing.T) {
		body, ct := multipartBody(t, map[string]string{"Type": "IDENTITY_PROOF", "Tag": "passport"}, pdfPage(40<<10), pdfPage(33<<10))
		w := serve(r, documentRequest(body, ct, userID))
		var res workflows.SubmitDocumentResult
		decodeJSON(t, w, &res)
		require.NotEmpty(t, res.KycDocumentID)
		assert.Equal(t, "VALIDATION_ASKED", res.Status)

		doc, err := dev.mp.GetKYCDocument(context.Background(), res.KycDocumentID)
		require.NoError(t, err)
		assert.Equal(t, userID, doc.UserID)
		v, _ := stateOf(t, r, userID)
		require.Len(t, v.Documents, 1)
		assert.Equal(t, res.KycDocumentID, v.Documents[0].KycDocumentID)
		require.Eventually(t, func() bool { return pageKeys(t, dev.rdb) == 0 }, waitFor, tick,
			"the pages leave Redis once uploaded")
	})

	t.Run("readyz", func(t *testing.T) {
		w := serve(r, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
		assert.JSONEq(t, `{"Redis":"ok","Temporal":"ok"}`, w.Body.String())
	})

	t.Run("cancel", func(t *testing.T) {
		v := cancelOnboarding(t, r, userID)
		assert.Equal(t, workflows.StatusCancelled, v.Status)
		got, code := stateOf(t, r, userID)
		require.Equal(t, http.StatusOK, code, "a closed onboarding can still be read")
		assert.Equal(t, workflows.StatusCancelled, got.Status)

		// The workflow completes just after answering the update; once it
		// has, there is nothing left to cancel.
		require.Eventually(t, func() bool {
			d, err := dev.c.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(userID), "")
			return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}, waitFor, tick, "the workflow should complete")
		w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", nil))
		assert.Equal(t, http.StatusNotFound, w.Code, "nothing left to cancel; body %s", w.Body)
	})
}

func TestOnboardingAPIUnknownUser(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	const unknown = "no-such-user-42"
	body, ct := multipartBody(t, map[string]string{"Type": "IDENTITY_PROOF"}, pdfPage(40<<10))
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"state", apiRequest(http.MethodGet, "/v1/onboardings/"+unknown, nil)},
		{"document", documentRequest(body, ct, unknown)},
		{"cancel", apiRequest(http.MethodPost, "/v1/onboardings/"+unknown+"/cancel", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(r, tt.req)
			require.Equal(t, http.StatusNotFound, w.Code, "body %s", w.Body)
			assert.Equal(t, "no onboarding for this user", decodeError(t, w).Error)
		})
	}
	assert.Zero(t, pageKeys(t, dev.rdb), "pages of a refused upload are deleted")
}

// TestEndToEndWebhookToVerified runs the whole path: the simulator delivers
// Mangopay's webhook over HTTP to the public router, which stores it; the
// forwarder reads the stream, routes the session through the index the
// activities wrote, and signals the real workflow, which re-reads the
// session and moves to VERIFIED.
func TestEndToEndWebhookToVerified(t *testing.T) {
	dev := requireDev(t)
	ctx := context.Background()
	b := newBridge(dev.rdb, dev.c)
	public := httptest.NewServer(b.PublicRouter())
	t.Cleanup(public.Close)
	internal := b.InternalRouter()

	hookURL := public.URL + "/webhooks/mangopay/" + testPathToken
	reports, err := bridge.RegisterHooks(ctx, dev.mp, hookURL)
	require.NoError(t, err)
	require.Len(t, reports, len(workflows.HookEventTypes))
	t.Cleanup(func() { disableHooks(t, dev.mp) })

	startForwarder(t, &bridge.Forwarder{
		RDB: dev.rdb, Temporal: dev.c, Resolver: &bridge.Resolver{Index: dev.index, Mangopay: dev.mp},
		Metrics: b.Metrics, Logger: quietLogger(), Consumer: "e2e",
	})

	userID := createUser(t, dev.mp)
	res := createOnboarding(t, internal, userID, "")
	require.Equal(t, workflows.StatusAwaitingUser, res.Status)
	t.Cleanup(func() { endOnboarding(t, internal, userID) })

	require.NoError(t, dev.sim.SubmitOutcome(res.IdvSessionID, map[string]sandbox.Choice{}))

	require.Eventually(t, func() bool {
		v, _ := stateOf(t, internal, userID)
		return v.Status == workflows.StatusVerified
	}, waitFor, tick, "the onboarding should reach VERIFIED through the webhook")

	deliveries := dev.sim.Deliveries("IDENTITY_VERIFICATION_VALIDATED", res.IdvSessionID)
	require.NotEmpty(t, deliveries, "the simulator delivered the webhook")
	assert.Equal(t, sandbox.Delivered, deliveries[0].Result, "%+v", deliveries[0])
	assert.Equal(t, http.StatusOK, deliveries[0].StatusCode)
	assert.GreaterOrEqual(t, testutil.ToFloat64(b.Metrics.Received.WithLabelValues("stored")), 1.0)
	assert.GreaterOrEqual(t, testutil.ToFloat64(b.Metrics.Forwarded), 1.0)
	assert.Equal(t, 0.0, testutil.ToFloat64(b.Metrics.DeadLettered))
	// The entry went through the stream and left it once acknowledged.
	require.Eventually(t, func() bool {
		return !slices.ContainsFunc(streamEntries(t, dev.rdb, webhookstream.StreamKey), func(m redis.XMessage) bool {
			return m.Values["t"] == "IDENTITY_VERIFICATION_VALIDATED" && m.Values["r"] == res.IdvSessionID
		})
	}, waitFor, tick, "the forwarded entry is deleted from the stream")
}

// disableHooks turns the shared simulator's hooks off, so that later tests
// do not have webhooks delivered to a closed test server.
func disableHooks(t testing.TB, mp *mangopay.Client) {
	t.Helper()
	hooks, _, err := mp.ListHooks(context.Background(), &mangopay.ListOptions{PerPage: 100})
	require.NoError(t, err)
	for _, h := range hooks {
		_, err := mp.UpdateHook(context.Background(), h.ID, &mangopay.UpdateHookParams{Status: mangopay.HookDisabled})
		require.NoError(t, err)
	}
}

// startForwarder runs f until the test ends.
func startForwarder(t testing.TB, f *bridge.Forwarder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.Done = make(chan struct{})
	go func() { _ = f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-f.Done:
		case <-time.After(30 * time.Second):
			t.Errorf("forwarder %s did not stop within 30 s of its context ending", f.Consumer)
		}
	})
}

func TestOnboardingAPIClosedReopenAndPSC(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	payer, err := dev.mp.CreateNaturalUserSCA(context.Background(), simtest.NaturalPayer())
	require.NoError(t, err)

	t.Run("bad SessionLanguage", func(t *testing.T) {
		w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings",
			strings.NewReader(`{"UserId":"`+payer.ID+`","ReturnUrl":"`+platformReturnURL+`","SessionLanguage":"xx-XX"}`)))
		require.Equal(t, http.StatusBadRequest, w.Code, "body %s", w.Body)
		assert.Contains(t, w.Body.String(), `"Field":"SessionLanguage"`)
	})
	t.Run("NOT_ELIGIBLE reads the user again on the next signup", func(t *testing.T) {
		first := createOnboarding(t, r, payer.ID, "")
		require.Equal(t, workflows.StatusNotEligible, first.Status)
		require.Eventually(t, func() bool {
			d, err := dev.c.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(payer.ID), "")
			return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		}, waitFor, tick, "the workflow should complete")
		runOf := func() string {
			d, err := dev.c.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(payer.ID), "")
			require.NoError(t, err)
			return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		}
		closed := runOf()
		again := createOnboarding(t, r, payer.ID, "")
		assert.Equal(t, workflows.StatusNotEligible, again.Status, "still a payer")
		assert.NotEmpty(t, again.Reason)
		assert.NotEqual(t, closed, runOf(), "a signup reads the user again: the platform may have fixed its category")
		closed = runOf()
		require.Eventually(t, func() bool {
			d, err := dev.c.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(payer.ID), "")
			return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		}, waitFor, tick, "the second onboarding should complete")

		w := serve(r, operatorRequest(http.MethodPost, "/v1/onboardings/"+payer.ID+"/reopen",
			strings.NewReader(`{"ReturnUrl":"`+platformReturnURL+`","Reason":"the user sent proof of a new status"}`)))
		var reopened workflows.EnsureSessionResult
		decodeJSON(t, w, &reopened)
		assert.Equal(t, workflows.StatusNotEligible, reopened.Status, "still a payer")
		assert.NotEqual(t, closed, runOf(), "the operator's reopen starts a new onboarding")
	})
	t.Run("retry of an unknown PSC", func(t *testing.T) {
		userID := createUser(t, dev.mp)
		createOnboarding(t, r, userID, "")
		t.Cleanup(func() { endOnboarding(t, r, userID) })
		w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/pscs/psc_m_unknown/retry", nil))
		assert.Equal(t, http.StatusUnprocessableEntity, w.Code, "body %s", w.Body)
		w = serve(r, apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/pscs/bad%20id/retry", nil))
		assert.Equal(t, http.StatusBadRequest, w.Code, "body %s", w.Body)
	})
}
