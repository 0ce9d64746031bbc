package platformapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/kycflow/kycflow/workflows"
)

// getTimeline is GET /v1/onboardings/<user>/timeline: the onboarding's
// audit trail (what a compliance officer asks for).
func (a *API) getTimeline(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	t, err := workflows.GetTimeline(c.Request.Context(), a.Temporal, userID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

// callKey is the platform's optional Idempotency-Key of a call, recorded in
// the timeline ("" when absent).
func callKey(c *gin.Context) (string, bool) {
	if c.GetHeader("Idempotency-Key") == "" {
		return "", true
	}
	return idempotencyKey(c)
}
