package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// timelineOf is GET /v1/onboardings/<user>/timeline through r.
func timelineOf(t testing.TB, r http.Handler, userID string) workflows.TimelineView {
	t.Helper()
	w := serve(r, apiRequest(http.MethodGet, "/v1/onboardings/"+userID+"/timeline", nil))
	var tl workflows.TimelineView
	decodeJSON(t, w, &tl)
	return tl
}

// TestTimelineAcrossContinueAsNew runs an onboarding on a real Temporal
// server with a small MaxHistoryEvents, so that it continues as new several
// times while the user is refused and comes back again and again. The
// timeline endpoint still lists every transition, in order, each caused by
// what caused it: the refusal's webhook, the platform's call with its
// Idempotency-Key.
func TestTimelineAcrossContinueAsNew(t *testing.T) {
	dev := requireDev(t)
	ctx := context.Background()
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	userID := createUser(t, dev.mp)
	_, err := dev.c.ExecuteWorkflow(ctx, workflows.StartOptions(userID), workflows.WorkflowType, workflows.Input{
		UserID: userID, ReturnURL: platformReturnURL,
		Config: workflows.Config{MaxHistoryEvents: 40, MaxAttempts: 100, RetryBackoff: time.Hour},
	})
	require.NoError(t, err)
	t.Cleanup(func() { endOnboarding(t, r, userID) })

	const cycles = 6
	refusal := map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "FACE_MATCH_FAIL"}}
	var sessions []string
	for i := 1; i <= cycles+1; i++ {
		req := apiRequest(http.MethodPost, "/v1/onboardings",
			strings.NewReader(fmt.Sprintf(`{"UserId":%q,"ReturnUrl":%q}`, userID, platformReturnURL)))
		req.Header.Set("Idempotency-Key", fmt.Sprintf("signup-%d", i))
		var res workflows.EnsureSessionResult
		decodeJSON(t, serve(r, req), &res)
		require.Equal(t, workflows.StatusAwaitingUser, res.Status, "attempt %d: %+v", i, res)
		require.Equal(t, i, res.Attempt)
		sessions = append(sessions, res.IdvSessionID)
		if i > cycles {
			break
		}
		require.NoError(t, dev.sim.SubmitOutcome(res.IdvSessionID, refusal))
		require.NoError(t, dev.c.SignalWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.SignalMangopayEvent,
			webhookstream.MangopayEvent{EventType: "IDENTITY_VERIFICATION_FAILED", ResourceID: res.IdvSessionID, Date: int64(i)}))
		require.Eventually(t, func() bool {
			v, _ := stateOf(t, r, userID)
			return v.Status == workflows.StatusRefused && v.Attempt == i
		}, waitFor, tick, "attempt %d refused", i)
	}
	cancel := apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", strings.NewReader(`{"Reason":"compliance review over"}`))
	decodeJSON(t, serve(r, cancel), new(workflows.StateView))

	runs := 0
	require.Eventually(t, func() bool {
		resp, err := dev.c.ListWorkflow(ctx, listRuns(userID))
		runs = len(resp.GetExecutions())
		return err == nil && runs >= 3
	}, waitFor, tick, "the onboarding continued as new at least twice")
	t.Logf("%d runs", runs)

	// The Web UI's details list the latest status changes with their causes.
	md, err := dev.c.QueryWorkflow(ctx, workflows.WorkflowID(userID), "", "__temporal_workflow_metadata")
	require.NoError(t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(t, md.Get(&meta))
	assert.Contains(t, meta.GetCurrentDetails(), "AWAITING_USER → CANCELLED · platform cancel (compliance review over)")
	assert.Contains(t, meta.GetCurrentDetails(), "REFUSED → AWAITING_USER · platform ensure-session")

	tl := timelineOf(t, r, userID)
	assert.Equal(t, userID, tl.UserID)
	assert.Equal(t, workflows.StatusCancelled, tl.Status)
	transitions := audit.Transitions(tl.Entries)
	require.Len(t, transitions, 2*cycles+2, "STARTING→AWAITING_USER, then refused and back %d times, then cancelled", cycles)
	prev := string(workflows.StatusStarting)
	for i, e := range transitions {
		assert.Equal(t, prev, e.OldStatus, "transition %d follows the one before", i)
		prev = e.NewStatus
		if i > 0 {
			assert.Greater(t, e.Seq, transitions[i-1].Seq)
			assert.False(t, e.At.Before(transitions[i-1].At), "in time order")
		}
		switch {
		case i == len(transitions)-1:
			assert.Equal(t, string(workflows.StatusCancelled), e.NewStatus)
			assert.Equal(t, audit.Cause{Kind: audit.CausePlatform, Action: workflows.UpdateCancel, Actor: audit.ActorPlatform, Reason: "compliance review over"}, e.Cause)
		case i%2 == 1: // refused, by the webhook of attempt (i+1)/2
			attempt := (i + 1) / 2
			assert.Equal(t, string(workflows.StatusRefused), e.NewStatus)
			assert.Equal(t, audit.Cause{Kind: audit.CauseMangopayEvent, EventType: "IDENTITY_VERIFICATION_FAILED", ResourceID: sessions[attempt-1]}, e.Cause)
			assert.Equal(t, attempt, e.Attempt)
			assert.Equal(t, "refused: FACE_MATCH_FAIL", e.Reason)
		case i > 0: // back: the platform's call opened attempt i/2+1
			assert.Equal(t, string(workflows.StatusAwaitingUser), e.NewStatus)
			assert.Equal(t, fmt.Sprintf("signup-%d", i/2+1), e.Cause.IdempotencyKey)
			assert.Equal(t, sessions[i/2], e.IdvSessionID)
		}
	}
}

// listRuns lists every run of the user's onboarding.
func listRuns(userID string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = %q", workflows.WorkflowID(userID))}
}

func TestTimelineOfAnUnknownUser(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	w := serve(r, apiRequest(http.MethodGet, "/v1/onboardings/user_m_nobody/timeline", nil))
	assert.Equal(t, http.StatusNotFound, w.Code, "body %s", w.Body)
	w = serve(r, apiRequest(http.MethodGet, "/v1/onboardings/not%20an%20id/timeline", nil))
	assert.Equal(t, http.StatusBadRequest, w.Code, "body %s", w.Body)
	var e map[string]string
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
	assert.Equal(t, "UserId", e["Field"])
}

// TestTimelineGoesOnAfterACancel: after a cancel, the next signup starts a
// new onboarding whose timeline goes on from the closed one's.
func TestTimelineGoesOnAfterACancel(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	userID := createUser(t, dev.mp)
	first := createOnboarding(t, r, userID, "")
	require.Equal(t, workflows.StatusAwaitingUser, first.Status)
	cancelOnboarding(t, r, userID)
	require.Eventually(t, func() bool {
		return createOnboarding(t, r, userID, "").Status == workflows.StatusAwaitingUser
	}, waitFor, tick, "a new onboarding once the cancelled one completed")
	t.Cleanup(func() { endOnboarding(t, r, userID) })

	var got []string
	for _, e := range audit.Transitions(timelineOf(t, r, userID).Entries) {
		got = append(got, e.OldStatus+"→"+e.NewStatus)
	}
	assert.Equal(t, []string{"STARTING→AWAITING_USER", "AWAITING_USER→CANCELLED", "CANCELLED→AWAITING_USER"}, got)
}

// TestPlatformCancelReasonCannotForgeTheTrail: the platform's cancel Reason
// reaches the timeline and the Web UI's details (Markdown). A reason that
// would forge a transition line is refused (400, the onboarding goes on);
// one with Markdown is shown as plain text, never as a link.
func TestPlatformCancelReasonCannotForgeTheTrail(t *testing.T) {
	dev := requireDev(t)
	ctx := context.Background()
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	userID := createUser(t, dev.mp)
	createOnboarding(t, r, userID, "")
	t.Cleanup(func() { endOnboarding(t, r, userID) })
	cancel := func(reason string) *httptest.ResponseRecorder {
		body, err := json.Marshal(map[string]string{"Reason": reason})
		require.NoError(t, err)
		return serve(r, apiRequest(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", bytes.NewReader(body)))
	}

	w := cancel("x\n- 2026-01-01T00:00:00Z FAILED → VERIFIED · operator:alice reopen (approved)")
	require.Equal(t, http.StatusBadRequest, w.Code, "body %s", w.Body)
	assert.Equal(t, "Reason", decodeError(t, w).Field)
	v, _ := stateOf(t, r, userID)
	assert.Equal(t, workflows.StatusAwaitingUser, v.Status, "the refused cancel changed nothing")

	w = cancel("see [the ticket](https://evil.example/) **now**")
	require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
	md, err := dev.c.QueryWorkflow(ctx, workflows.WorkflowID(userID), "", "__temporal_workflow_metadata")
	require.NoError(t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(t, md.Get(&meta))
	details := meta.GetCurrentDetails()
	assert.Contains(t, details, `platform cancel (see \[the ticket\](https://evil.example/) \*\*now\*\*)`)
	assert.NotContains(t, details, "[the ticket](")
	tl := timelineOf(t, r, userID)
	last := tl.Entries[len(tl.Entries)-1]
	assert.Equal(t, "see [the ticket](https://evil.example/) **now**", last.Cause.Reason, "the timeline keeps the platform's words")
}
