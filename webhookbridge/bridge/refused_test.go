package bridge_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/workflows"
)

// A platform's mistake is answered to its call as a 4xx naming the field,
// and a corrected call then succeeds with no operator.
func TestSignupMistakesAreThePlatformsToCorrect(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	signup := func(userID, returnURL string) *httpResult {
		w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings",
			strings.NewReader(`{"UserId":"`+userID+`","ReturnUrl":"`+returnURL+`"}`)))
		return &httpResult{code: w.Code, body: w.Body.String()}
	}

	t.Run("a user Mangopay does not know", func(t *testing.T) {
		res := signup("user_m_typo0000000000000000", platformReturnURL)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, "body %s", res.body)
		assert.Contains(t, res.body, `"Field":"UserId"`)
		assert.Contains(t, res.body, "does not exist")

		// Reading it later gives the same refusal, not STARTING.
		w := serve(r, apiRequest(http.MethodGet, "/v1/onboardings/user_m_typo0000000000000000", nil))
		require.Equal(t, http.StatusUnprocessableEntity, w.Code, "body %s", w.Body.String())
		assert.Contains(t, w.Body.String(), `"Field":"UserId"`)
	})
	t.Run("a ReturnUrl over kycflow's limit is refused up front", func(t *testing.T) {
		userID := createUser(t, dev.mp)
		res := signup(userID, "https://platform.example/"+strings.Repeat("a", workflows.MaxReturnURL))
		require.Equal(t, http.StatusBadRequest, res.code, "body %s", res.body)
		assert.Contains(t, res.body, `"Field":"ReturnUrl"`)
	})
	t.Run("a ReturnUrl longer than a stricter Mangopay takes, then a short one", func(t *testing.T) {
		before := dev.sim.Settings()
		set := before
		set.ReturnURLMaxLength = 50 // what Mangopay's newest page says
		require.NoError(t, dev.sim.SetSettings(set))
		t.Cleanup(func() { require.NoError(t, dev.sim.SetSettings(before)) })
		userID := createUser(t, dev.mp)
		long := "https://platform.example/kyc/done?from=signup&step=12" // 53 characters
		require.Greater(t, len(long), 50)
		res := signup(userID, long)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, "body %s", res.body)
		assert.Contains(t, res.body, `"Field":"ReturnUrl"`)

		res = signup(userID, platformReturnURL)
		require.Equal(t, http.StatusOK, res.code, "body %s", res.body)
		assert.Contains(t, res.body, `"Status":"`+string(workflows.StatusAwaitingUser)+`"`)
		assert.Contains(t, res.body, `"HostedUrl":"`)
		t.Cleanup(func() { endOnboarding(t, r, userID) })
	})
}

type httpResult struct {
	code int
	body string
}
