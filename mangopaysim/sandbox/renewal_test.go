package sandbox_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifiedNatural returns a natural OWNER whose session was validated.
func (e *simEnv) verifiedNatural() (userID, sessionID string) {
	e.t.Helper()
	userID = e.natural()
	sessionID = e.session(userID)["Id"].(string)
	require.Equal(e.t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+sessionID+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
	return userID, sessionID
}

// eventTypes lists the types of every event emitted for a resource, oldest
// first (the Events API only reaches back 45 days).
func (e *simEnv) eventTypes(resourceID string) []string {
	e.t.Helper()
	var out []string
	for _, ev := range e.sim.EventLog() {
		if resourceID == "" || ev.ResourceID == resourceID {
			out = append(out, ev.EventType)
		}
	}
	return out
}

func TestRegulatoryStatus(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()

	res := e.api("GET", "/users/"+userID+"/regulatory", nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.JSONEq(t, `{"Id":"`+userID+`","ActionCode":null,"ScopeBlocked":{"Inflows":false,"Outflows":false},
		"KycInformation":{"LastKycDate":null,"KycRenewalDeadline":null}}`, string(res.body))

	sid := e.session(userID)["Id"].(string)
	require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+sid+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
	info := e.api("GET", "/users/"+userID+"/Regulatory", nil).json()["KycInformation"].(map[string]any)
	assert.Equal(t, e.sim.Now().Format("2006-01-02"), info["LastKycDate"], "the day of the last successful verification")
	assert.Equal(t, e.sim.Now().AddDate(0, 0, 365).Format("2006-01-02"), info["KycRenewalDeadline"], "every OWNER has a deadline")

	assert.Equal(t, http.StatusNotFound, e.api("GET", "/users/user_m_nope/regulatory", nil).status)
}

func TestRenewal(t *testing.T) {
	t.Run("renewed before the deadline", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		userID, _ := e.verifiedNatural()

		res := e.ctl("POST", "/_sim/users/"+userID+"/renewal", map[string]any{"DeadlineInDays": 90})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		want := e.sim.Now().AddDate(0, 0, 90).Format("2006-01-02")
		assert.Equal(t, want, res.json()["KycInformation"].(map[string]any)["KycRenewalDeadline"])
		assert.Equal(t, want, e.api("GET", "/users/"+userID+"/regulatory", nil).json()["KycInformation"].(map[string]any)["KycRenewalDeadline"])
		assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED"}, e.eventTypes(userID))

		e.sim.Advance(60 * 24 * time.Hour)
		e.tok = e.token()
		renewal := e.session(userID)["Id"].(string)
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+renewal+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
		assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED", "USER_KYC_RENEWED"}, e.eventTypes(userID))
		info := e.api("GET", "/users/"+userID+"/regulatory", nil).json()["KycInformation"].(map[string]any)
		assert.Equal(t, e.sim.Now().AddDate(0, 0, 365).Format("2006-01-02"), info["KycRenewalDeadline"], "renewed: the next deadline")
		assert.Equal(t, e.sim.Now().Format("2006-01-02"), info["LastKycDate"])

		e.sim.Advance(40 * 24 * time.Hour)
		e.tok = e.token()
		assert.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "the old deadline no longer downgrades")
	})

	t.Run("deadline missed", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		userID, sid := e.verifiedNatural()
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/users/"+userID+"/renewal", map[string]any{"DeadlineInDays": 10}).status)

		e.sim.Advance(10 * 24 * time.Hour)
		e.tok = e.token()
		assert.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "still verified on the deadline day")

		e.sim.Advance(24 * time.Hour)
		e.tok = e.token()
		assert.Equal(t, "LIGHT", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"])
		assert.Equal(t, "OUT_OF_DATE", e.api("GET", "/identity-verifications/"+sid, nil).json()["Status"])
		assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED", "USER_KYC_LIGHT"}, e.eventTypes(userID))
		assert.Equal(t, []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_VALIDATED", "IDENTITY_VERIFICATION_OUTDATED"}, e.eventTypes(sid))

		// Verified again after the downgrade: REGULAR, not a renewal.
		again := e.session(userID)["Id"].(string)
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+again+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
		assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED", "USER_KYC_LIGHT", "USER_KYC_REGULAR"}, e.eventTypes(userID))
	})

	t.Run("moving the deadline", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		userID, _ := e.verifiedNatural()
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/users/"+userID+"/renewal", map[string]any{"DeadlineInDays": 5}).status)
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/users/"+userID+"/renewal", map[string]any{"DeadlineInDays": 30}).status)
		e.sim.Advance(7 * 24 * time.Hour)
		e.tok = e.token()
		assert.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "the first deadline was replaced")
	})

	t.Run("bad requests", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		light := e.natural()
		verified, _ := e.verifiedNatural()
		tests := []struct {
			name, user string
			body       any
			want       int
		}{
			{"unknown user", "user_m_nope", map[string]any{"DeadlineInDays": 90}, http.StatusNotFound},
			{"a LIGHT user has nothing to renew", light, map[string]any{"DeadlineInDays": 90}, http.StatusConflict},
			{"zero days", verified, map[string]any{"DeadlineInDays": 0}, http.StatusBadRequest},
			{"negative days", verified, map[string]any{"DeadlineInDays": -3}, http.StatusBadRequest},
			{"unknown field", verified, map[string]any{"Days": 90}, http.StatusBadRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.ctl("POST", "/_sim/users/"+tt.user+"/renewal", tt.body)
				assert.Equal(t, tt.want, res.status, string(res.body))
				assert.NotEmpty(t, res.json()["Error"])
			})
		}
		assert.Empty(t, e.api("GET", "/events?EventType=USER_KYC_RENEWAL_REQUIRED", nil).list(), "a refused request sends nothing")
	})
}

// A business renews once its new session and that session's PSCs are all
// validated, and stays REGULAR meanwhile.
func TestRenewalOfABusinessGoesThroughItsPSCs(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID, first := e.validatedBusiness("BUSINESS")
	require.Equal(t, http.StatusOK, e.pscOutcome(e.pscs(first)[0]["Id"].(string), "VALIDATED").status)
	require.Equal(t, "REGULAR", e.kycLevel(userID))
	require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/users/"+userID+"/renewal", map[string]any{"DeadlineInDays": 30}).status)

	renewal := e.session(userID)["Id"].(string)
	require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+renewal+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
	assert.Equal(t, "REGULAR", e.kycLevel(userID), "still verified while the renewal's PSCs are pending")
	assert.NotContains(t, e.eventTypes(userID), "USER_KYC_RENEWED", "not renewed before the PSCs")
	pscs := e.pscs(renewal)
	require.Len(t, pscs, 1, "the renewal session has its own PSC sessions")
	require.Equal(t, http.StatusOK, e.pscOutcome(pscs[0]["Id"].(string), "VALIDATED").status)
	assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED", "USER_KYC_RENEWED"}, e.eventTypes(userID))
	assert.Equal(t, e.sim.Now().AddDate(0, 0, 365).Format("2006-01-02"),
		e.api("GET", "/users/"+userID+"/regulatory", nil).json()["KycInformation"].(map[string]any)["KycRenewalDeadline"], "the next deadline")
}

func TestBlocks(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	scope := func() map[string]any {
		t.Helper()
		res := e.api("GET", "/users/"+userID+"/Regulatory", nil)
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		return res.json()
	}

	steps := []struct {
		name       string
		body       map[string]any
		wantScope  map[string]any
		wantAction any
		wantEvents []string // emitted by this step
	}{
		{"block outflows", map[string]any{"Outflows": true}, map[string]any{"Inflows": false, "Outflows": true}, "008715",
			[]string{"USER_OUTFLOWS_BLOCKED"}},
		{"block both, with a code", map[string]any{"Inflows": true, "Outflows": true, "ActionCode": "008701"},
			map[string]any{"Inflows": true, "Outflows": true}, "008701", []string{"USER_INFLOWS_BLOCKED"}},
		{"the same again notifies nothing", map[string]any{"Inflows": true, "Outflows": true},
			map[string]any{"Inflows": true, "Outflows": true}, "008701", nil},
		{"unblock both", map[string]any{}, map[string]any{"Inflows": false, "Outflows": false}, nil,
			[]string{"USER_INFLOWS_UNBLOCKED", "USER_OUTFLOWS_UNBLOCKED"}},
	}
	for _, st := range steps {
		before := len(e.eventTypes(userID))
		res := e.ctl("POST", "/_sim/users/"+userID+"/blocks", st.body)
		require.Equal(t, http.StatusOK, res.status, "%s: %s", st.name, res.body)
		assert.Equal(t, st.wantScope, res.json()["ScopeBlocked"], st.name)
		got := scope()
		assert.Equal(t, st.wantScope, got["ScopeBlocked"], st.name)
		assert.Equal(t, st.wantAction, got["ActionCode"], st.name)
		if emitted := e.eventTypes(userID)[before:]; len(st.wantEvents) == 0 {
			assert.Empty(t, emitted, st.name)
		} else {
			assert.Equal(t, st.wantEvents, emitted, st.name)
		}
	}
	assert.Equal(t, http.StatusNotFound, e.ctl("POST", "/_sim/users/user_m_nope/blocks", map[string]any{"Inflows": true}).status)
}

// A deadline already past while the user is still REGULAR: Mangopay
// downgrades later (its first grouped downgrades ran on 2026-12-01).
func TestOverdueRenewal(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID, _ := e.verifiedNatural()

	deadline, err := e.sim.RequireOverdueRenewal(userID, 3, 48*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, e.sim.Now().AddDate(0, 0, -3).Format("2006-01-02"), deadline.Format("2006-01-02"))
	info := e.api("GET", "/users/"+userID+"/Regulatory", nil).json()["KycInformation"].(map[string]any)
	assert.Equal(t, deadline.Format("2006-01-02"), info["KycRenewalDeadline"])
	assert.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "not downgraded yet")

	e.sim.Advance(47 * time.Hour)
	e.tok = e.token()
	assert.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"])
	e.sim.Advance(2 * time.Hour)
	e.tok = e.token()
	assert.Equal(t, "LIGHT", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "downgraded once Mangopay ran it")
	assert.Contains(t, e.eventTypes(userID), "USER_KYC_LIGHT")

	_, err = e.sim.RequireOverdueRenewal(userID, 3, time.Hour)
	assert.Error(t, err, "only a REGULAR user has a deadline")
}

func TestLiftRenewal(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID, _ := e.verifiedNatural()
	require.Error(t, e.sim.LiftRenewal(userID), "no renewal due")
	_, err := e.sim.RequireRenewal(userID, 30)
	require.NoError(t, err)
	require.NoError(t, e.sim.LiftRenewal(userID))
	info := e.api("GET", "/users/"+userID+"/Regulatory", nil).json()["KycInformation"].(map[string]any)
	assert.Equal(t, e.sim.Now().AddDate(0, 0, 365).Format("2006-01-02"), info["KycRenewalDeadline"], "the next deadline")
	assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED", "USER_KYC_RENEWED"}, e.eventTypes(userID))
	e.sim.Advance(31 * 24 * time.Hour)
	e.tok = e.token()
	assert.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "the lifted deadline no longer downgrades")
}

// Every OWNER has a KycRenewalDeadline; Mangopay asks for the renewal
// (USER_KYC_RENEWAL_REQUIRED) 90 days before it, not when it is set.
func TestRenewalNoticeComesNinetyDaysBeforeTheDeadline(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("a deadline further than 90 days", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		userID, _ := e.verifiedNatural()
		res := e.ctl("POST", "/_sim/users/"+userID+"/renewal", map[string]any{"DeadlineInDays": 120})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		assert.Equal(t, []string{"USER_KYC_REGULAR"}, e.eventTypes(userID), "no notice before the 90 days")
		e.sim.Advance(29 * day)
		assert.Equal(t, []string{"USER_KYC_REGULAR"}, e.eventTypes(userID))
		e.sim.Advance(day)
		assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED"}, e.eventTypes(userID), "90 days before the deadline")
	})
	t.Run("the deadline set by a verification", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		userID, _ := e.verifiedNatural()
		e.sim.Advance(274 * day)
		assert.Equal(t, []string{"USER_KYC_REGULAR"}, e.eventTypes(userID))
		e.sim.Advance(day)
		assert.Equal(t, []string{"USER_KYC_REGULAR", "USER_KYC_RENEWAL_REQUIRED"}, e.eventTypes(userID))
		e.sim.Advance(91 * day)
		e.tok = e.token()
		assert.Equal(t, "LIGHT", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "not renewed: downgraded after the deadline day")
	})
	t.Run("a period of 90 days or less is refused", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		set := fastSettings()
		set.KycRenewalPeriodDays = 90
		require.Error(t, e.sim.SetSettings(set), "the notice would come before the period starts")
	})
}
