package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookbridge/platformapi"
	"github.com/kycflow/kycflow/workflows"
)

// TestOperatorActionsTakeAnOperatorTokenAndAReason: reopening is an
// operator's action (403 to the platform's token), an operator's reopen or
// cancel says why (400 without a Reason), and the platform's own flow is
// not an operator's to run (403). Every answer comes before Temporal.
func TestOperatorActionsTakeAnOperatorTokenAndAReason(t *testing.T) {
	r := newBridge(redistest.Unreachable(t), strictTemporal(t)).InternalRouter()
	const reopen = "/v1/onboardings/123/reopen"
	session := `"ReturnUrl":"` + platformReturnURL + `"`
	tests := []struct {
		name, method, target, token, body string
		want                              int
		field                             string
	}{
		{"the platform reopens", http.MethodPost, reopen, testAPIToken, `{` + session + `,"Reason":"asked by support"}`, http.StatusForbidden, ""},
		{"an operator reopens without a reason", http.MethodPost, reopen, testOperatorToken, `{` + session + `}`, http.StatusBadRequest, "Reason"},
		{"an operator reopens with a blank reason", http.MethodPost, reopen, testOperatorToken, `{` + session + `,"Reason":"  "}`, http.StatusBadRequest, "Reason"},
		{"an operator's reason on two lines", http.MethodPost, reopen, testOperatorToken, `{` + session + `,"Reason":"a\nb"}`, http.StatusBadRequest, "Reason"},
		{"an operator's reason too long", http.MethodPost, reopen, testOperatorToken,
			`{` + session + `,"Reason":"` + strings.Repeat("x", platformapi.MaxReasonLength+1) + `"}`, http.StatusBadRequest, "Reason"},
		{"an operator cancels without a body", http.MethodPost, "/v1/onboardings/123/cancel", testOperatorToken, "", http.StatusBadRequest, "Reason"},
		{"an operator cancels without a reason", http.MethodPost, "/v1/onboardings/123/cancel", testOperatorToken, `{}`, http.StatusBadRequest, "Reason"},
		{"an operator starts an onboarding", http.MethodPost, "/v1/onboardings", testOperatorToken, `{"UserId":"123",` + session + `}`, http.StatusForbidden, ""},
		{"an operator uploads a document", http.MethodPost, "/v1/onboardings/123/documents", testOperatorToken, "", http.StatusForbidden, ""},
		{"an operator polls an upload", http.MethodGet, "/v1/onboardings/123/documents/k1", testOperatorToken, "", http.StatusForbidden, ""},
		{"an operator retries a PSC", http.MethodPost, "/v1/onboardings/123/pscs/psc_1/retry", testOperatorToken, "", http.StatusForbidden, ""},
		{"an unknown token reopens", http.MethodPost, reopen, "test-operator-token-mallory-0123", `{` + session + `,"Reason":"x"}`, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := apiRequest(tt.method, tt.target, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+tt.token)
			w := serve(r, req)
			require.Equal(t, tt.want, w.Code, "body %s", w.Body)
			assert.Equal(t, tt.field, decodeError(t, w).Field)
		})
	}
}

// TestPlatformAndPathTokensRotate: during a rotation the bridge accepts the
// old platform token and the old webhook path token as well as the new
// ones, and nothing else.
func TestPlatformAndPathTokensRotate(t *testing.T) {
	const newAPI, oldAPI = "test-api-token-new-0123456789", "test-api-token-old-0123456789"
	const newPath, oldPath = "test-path-token-new-0123456789", "test-path-token-old-0123456789"
	cfg := bridge.Config{PathToken: newPath, OldPathTokens: []string{oldPath}, APIToken: newAPI, OldAPITokens: []string{oldAPI}, ConsumerName: "test"}
	b := bridge.New(cfg, bridge.Deps{Redis: redistest.Unreachable(t), Temporal: strictTemporal(t), Codec: testCodec, Logger: quietLogger()})
	b.Forwarder = nil
	internal, public := b.InternalRouter(), b.PublicRouter()
	for _, tt := range []struct {
		token string
		want  int
	}{
		{newAPI, http.StatusBadRequest}, // authenticated, then the bad user id is refused
		{oldAPI, http.StatusBadRequest},
		{newAPI + "," + oldAPI, http.StatusUnauthorized},
		{"test-api-token-other-012345678", http.StatusUnauthorized},
	} {
		req := apiRequest(http.MethodGet, "/v1/onboardings/bad%20id", nil)
		req.Header.Set("Authorization", "Bearer "+tt.token)
		assert.Equal(t, tt.want, serve(internal, req).Code, "platform token %q", tt.token)
	}
	for _, tt := range []struct {
		token string
		want  int
	}{
		{newPath, http.StatusOK}, // a ping: no query, nothing stored
		{oldPath, http.StatusOK},
		{"test-path-token-other-012345678", http.StatusNotFound},
	} {
		w := serve(public, httptest.NewRequest(http.MethodGet, "/webhooks/mangopay/"+tt.token, nil))
		assert.Equal(t, tt.want, w.Code, "path token %q", tt.token)
	}
	assert.True(t, strings.HasSuffix(cfg.WebhookURL(), "/"+newPath), "the new path token is the one registered at Mangopay")
}

// TestOperatorActionsRecordWhoAndWhy: the workflow inputs of an operator's
// cancel and reopen carry the operator (actor "operator:<name>") and the
// reason, and the platform's calls carry "platform", for the audit trail.
func TestOperatorActionsRecordWhoAndWhy(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	userID := createUser(t, dev.mp)
	createOnboarding(t, r, userID, "")
	t.Cleanup(func() { endOnboarding(t, r, userID) })
	assert.Equal(t, platformapi.ActorPlatform, lastUpdate[workflows.EnsureSessionRequest](t, dev, userID, workflows.UpdateEnsureSession).Actor)

	w := serve(r, operatorRequest(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", strings.NewReader(`{"Reason":"compliance asked, case 42"}`)))
	require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
	cancel := lastUpdate[workflows.CancelRequest](t, dev, userID, workflows.UpdateCancel)
	assert.Equal(t, workflows.CancelRequest{Actor: "operator:" + testOperator, Reason: "compliance asked, case 42"}, cancel)

	w = serve(r, operatorRequest(http.MethodPost, "/v1/onboardings/"+userID+"/reopen",
		strings.NewReader(`{"ReturnUrl":"`+platformReturnURL+`","Reason":"  cancelled by mistake "}`)))
	require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
	reopen := lastUpdate[workflows.EnsureSessionRequest](t, dev, userID, workflows.UpdateEnsureSession)
	assert.Equal(t, "operator:"+testOperator, reopen.Actor)
	assert.Equal(t, "cancelled by mistake", reopen.Reason)
}

// lastUpdate decodes the argument of the last update named name accepted
// by the user's latest run.
func lastUpdate[T any](t *testing.T, dev *devEnv, userID, name string) T {
	t.Helper()
	var out T
	found := false
	it := dev.c.GetWorkflowHistory(context.Background(), workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		req := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest()
		if req.GetInput().GetName() != name {
			continue
		}
		args := req.GetInput().GetArgs().GetPayloads()
		require.Len(t, args, 1)
		out = *new(T)
		require.NoError(t, testCodec.DataConverter().FromPayload(args[0], &out))
		found = true
	}
	require.True(t, found, "no %s update in the history of %s", name, userID)
	return out
}
