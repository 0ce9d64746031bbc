package sandbox_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// The call log has every API call with the user it concerns (from the
// path, or the session's owner), including calls a fault answered; token
// requests are left out.
func TestCallLog(t *testing.T) {
	e := newEnv(t, fastSettings())
	user := e.natural()
	ses := e.session(user)["Id"].(string)
	require.Equal(t, http.StatusOK, e.api("GET", "/identity-verifications/"+ses, nil).status)
	require.Equal(t, http.StatusOK, e.ctl("PUT", "/_sim/faults", sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 503}).status)
	require.Equal(t, http.StatusServiceUnavailable, e.api("GET", "/sca/users/"+user, nil).status)
	require.Equal(t, http.StatusOK, e.ctl("PUT", "/_sim/faults", sandbox.Faults{}).status)
	require.Equal(t, http.StatusNotFound, e.api("GET", "/no/such/route", nil).status)
	e.token()

	res := e.ctl("GET", "/_sim/calls/log", nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	var log sandbox.CallLog
	require.NoError(t, json.Unmarshal(res.body, &log))
	type call struct {
		Route, UserID string
		Status        int
	}
	var got []call
	for _, c := range log.Calls {
		assert.Positive(t, c.At)
		got = append(got, call{c.Route, c.UserID, c.Status})
	}
	assert.Equal(t, []call{
		{"POST /sca/users/natural", "", http.StatusOK},
		{"POST /users/{userId}/identity-verifications", user, http.StatusOK},
		{"GET /identity-verifications/{id}", user, http.StatusOK},
		{"GET /sca/users/{userId}", user, http.StatusServiceUnavailable},
		{"", "", http.StatusNotFound},
	}, got)
	assert.Zero(t, log.Dropped)

	// since leaves out the calls before it.
	last := log.Calls[len(log.Calls)-1].At
	res = e.ctl("GET", "/_sim/calls/log?since="+strconv.FormatInt(last+1, 10), nil)
	require.Equal(t, http.StatusOK, res.status)
	require.NoError(t, json.Unmarshal(res.body, &log))
	assert.Empty(t, log.Calls)
	assert.Equal(t, http.StatusBadRequest, e.ctl("GET", "/_sim/calls/log?since=yesterday", nil).status)
}
