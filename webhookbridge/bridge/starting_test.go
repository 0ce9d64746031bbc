package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// A signup that Mangopay (or the call budget) keeps waiting past the API's
// deadline is accepted, not failed: 202 STARTING with where to read it.
func TestCreateOnboardingAcceptedWhileStillWorking(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	userID := createUser(t, dev.mp)
	t.Cleanup(func() { endOnboarding(t, r, userID) })

	dev.sim.SetFaults(sandbox.Faults{APILatencyMs: 3000})
	t.Cleanup(func() { dev.sim.SetFaults(sandbox.Faults{}) })
	body := `{"UserId":"` + userID + `","ReturnUrl":"` + platformReturnURL + `"}`
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings", strings.NewReader(body)).WithContext(ctx))

	require.Equal(t, http.StatusAccepted, w.Code, "body %s", w.Body)
	assert.Equal(t, "/v1/onboardings/"+userID, w.Header().Get("Location"))
	var res workflows.EnsureSessionResult
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &res))
	assert.Equal(t, userID, res.UserID)
	assert.Equal(t, workflows.StatusStarting, res.Status)

	// The onboarding carries on: the session shows up where Location says.
	dev.sim.SetFaults(sandbox.Faults{})
	require.Eventually(t, func() bool {
		v, code := stateOf(t, r, userID)
		return code == http.StatusOK && v.Status == workflows.StatusAwaitingUser && v.HostedURL != ""
	}, waitFor, tick, "the session is created once Mangopay answers")
}
