package sandbox_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// validatedBusiness creates a user of kind, validates its main session and
// returns the user and session ids.
func (e *simEnv) validatedBusiness(kind string, persons ...sandbox.PscPerson) (userID, sessionID string) {
	e.t.Helper()
	userID = e.legal(kind)
	if len(persons) > 0 {
		res := e.ctl("PUT", "/_sim/users/"+userID+"/pscs", sandbox.PscsRequest{Persons: persons})
		require.Equal(e.t, http.StatusOK, res.status, string(res.body))
	}
	sessionID = e.session(userID)["Id"].(string)
	res := e.ctl("POST", "/_sim/identity-verifications/"+sessionID+"/outcome", map[string]any{"Outcome": "VALIDATED"})
	require.Equal(e.t, http.StatusOK, res.status, string(res.body))
	return userID, sessionID
}

func (e *simEnv) pscs(sessionID string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, p := range e.api("GET", "/identity-verifications/"+sessionID, nil).json()["PSCs"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func (e *simEnv) kycLevel(userID string) string {
	e.t.Helper()
	return e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"].(string)
}

func (e *simEnv) pscOutcome(pscID, outcome string) response {
	e.t.Helper()
	return e.ctl("POST", "/_sim/pscs/"+pscID+"/outcome", map[string]any{"Outcome": outcome})
}

func TestPscSessionsOpenAfterValidation(t *testing.T) {
	for _, kind := range []string{"BUSINESS", "ORGANIZATION"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, fastSettings())
			userID, sid := e.validatedBusiness(kind)

			view := e.api("GET", "/identity-verifications/"+sid, nil).json()
			assert.Equal(t, "VALIDATED", view["Status"])
			pscs := e.pscs(sid)
			require.Len(t, pscs, 1, "the legal representative by default")
			p := pscs[0]
			pscID := p["Id"].(string)
			assert.True(t, strings.HasPrefix(pscID, "psc_x_"), pscID)
			assert.Equal(t, "PENDING_VALIDATION", p["Status"])
			assert.Equal(t, "LEGAL_REPRESENTATIVE", p["PscType"])
			assert.Equal(t, "ALEX", p["FirstName"], "the legal representative as verified on the main session")
			assert.Equal(t, "alex+accept@example.com", p["Email"])
			assert.Nil(t, p["ValidationDate"])
			assert.Equal(t, []any{}, p["Data"])
			assert.True(t, strings.HasPrefix(p["HostedUrl"].(string), e.srv.URL+"/idv/"))
			assert.ElementsMatch(t, []string{"Id", "Tag", "CreationDate", "FirstName", "LastName", "Email", "DateOfBirth", "Country",
				"Nationality", "PscType", "Status", "ValidationDate", "HostedUrl", "Data", "LastUpdate"}, keys(p))
			assert.Equal(t, "LIGHT", e.kycLevel(userID), "not REGULAR while a PSC is pending")
			assert.Equal(t, []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_VALIDATED", "IDENTITY_VERIFICATION_PENDING_PSC_ACTION"}, e.eventTypes(sid))
			assert.Equal(t, []string{"IDENTITY_VERIFICATION_PSC_PENDING"}, e.eventTypes(pscID))

			list := e.api("GET", "/users/"+userID+"/pscs", nil)
			require.Equal(t, http.StatusOK, list.status, string(list.body))
			items := list.list()
			require.Len(t, items, 1)
			assert.Equal(t, pscID, items[0]["Id"])
			assert.Equal(t, sid, items[0]["MainSessionId"])
			assert.True(t, strings.HasPrefix(items[0]["SessionId"].(string), "idnver_"))
			assert.NotEqual(t, sid, items[0]["SessionId"], "a PSC has its own session")
			assert.Equal(t, "1", list.header.Get("X-Number-Of-Items"))

			res := e.pscOutcome(pscID, "VALIDATED")
			require.Equal(t, http.StatusOK, res.status, string(res.body))
			p = e.pscs(sid)[0]
			assert.Equal(t, "VALIDATED", p["Status"])
			assert.NotNil(t, p["ValidationDate"])
			assert.Contains(t, p["Data"], map[string]any{"Type": "FIRST_NAME", "Value": "ALEX"})
			assert.Equal(t, "REGULAR", e.kycLevel(userID))
			assert.Equal(t, []string{"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_VALIDATED"}, e.eventTypes(pscID))
			assert.Equal(t, []string{"USER_KYC_REGULAR"}, e.eventTypes(userID))
		})
	}

	t.Run("none before validation, none for a refused or reviewed session", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		sid := e.session(e.legal("BUSINESS"))["Id"].(string)
		assert.Equal(t, []any{}, e.api("GET", "/identity-verifications/"+sid, nil).json()["PSCs"])
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+sid+"/outcome", map[string]any{"Outcome": "REVIEW"}).status)
		assert.Empty(t, e.pscs(sid))
		other := e.session(e.legal("BUSINESS"))["Id"].(string)
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+other+"/outcome", map[string]any{"Outcome": "REFUSED"}).status)
		assert.Empty(t, e.pscs(other))
	})

	t.Run("natural users and soletraders have none", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		nat, _ := e.verifiedNatural()
		assert.Equal(t, "REGULAR", e.kycLevel(nat))
		sole, sid := e.validatedBusiness("SOLETRADER")
		assert.Empty(t, e.pscs(sid))
		assert.Equal(t, "REGULAR", e.kycLevel(sole))
		assert.Equal(t, []map[string]any{}, e.api("GET", "/users/"+sole+"/pscs", nil).list())
		assert.Equal(t, http.StatusNotFound, e.api("GET", "/users/user_m_nope/pscs", nil).status)
	})
}

func TestPscRejectedRetriedValidated(t *testing.T) {
	e := newEnv(t, fastSettings())
	ubo := sandbox.PscPerson{FirstName: "Uma", LastName: "Bo", PscType: "UBO"}
	rep := sandbox.PscPerson{FirstName: "Alex", LastName: "Smith", PscType: "LEGAL_REPRESENTATIVE"}
	userID, sid := e.validatedBusiness("BUSINESS", ubo, rep)
	pscs := e.pscs(sid)
	require.Len(t, pscs, 2)
	first, second := pscs[0]["Id"].(string), pscs[1]["Id"].(string)
	assert.Equal(t, "Uma", pscs[0]["FirstName"])
	oldURL := pscs[0]["HostedUrl"].(string)

	require.Equal(t, http.StatusOK, e.pscOutcome(first, "REJECTED").status)
	require.Equal(t, http.StatusOK, e.pscOutcome(second, "VALIDATED").status)
	assert.Equal(t, "LIGHT", e.kycLevel(userID), "one PSC is rejected")
	assert.Equal(t, []string{"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_REJECTED"}, e.eventTypes(first))

	res := e.api("PUT", "/identity-verifications/"+sid+"/pscs/"+first+"/retry", map[string]any{"FirstName": "Umaya"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	retried := res.json()
	assert.Equal(t, first, retried["Id"], "the same PSC")
	assert.Equal(t, "PENDING_VALIDATION", retried["Status"])
	assert.Equal(t, "Umaya", retried["FirstName"], "the body corrects the person")
	assert.NotEqual(t, oldURL, retried["HostedUrl"], "a new link after REJECTED")
	status, _ := e.get(oldURL)
	assert.Equal(t, http.StatusNotFound, status, "the old link is dead")

	again := e.api("PUT", "/identity-verifications/"+sid+"/pscs/"+first+"/retry", nil)
	require.Equal(t, http.StatusOK, again.status, string(again.body))
	assert.Equal(t, retried["HostedUrl"], again.json()["HostedUrl"], "the existing link while PENDING_VALIDATION")

	require.Equal(t, http.StatusOK, e.pscOutcome(first, "VALIDATED").status)
	assert.Equal(t, "REGULAR", e.kycLevel(userID), "every PSC is VALIDATED")
	assert.Equal(t, []string{"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_REJECTED",
		"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_VALIDATED"}, e.eventTypes(first))

	validatedAgain := e.api("PUT", "/identity-verifications/"+sid+"/pscs/"+second+"/retry", map[string]any{})
	require.Equal(t, http.StatusOK, validatedAgain.status)
	assert.Equal(t, "PENDING_VALIDATION", validatedAgain.json()["Status"], "a new link after VALIDATED too")
	assert.Equal(t, "REGULAR", e.kycLevel(userID), "retrying a PSC does not downgrade the user")
}

func TestPscRetryRules(t *testing.T) {
	e := newEnv(t, fastSettings())
	_, sid := e.validatedBusiness("BUSINESS", sandbox.PscPerson{FirstName: "A", LastName: "B"}, sandbox.PscPerson{FirstName: "C", LastName: "D"})
	pscs := e.pscs(sid)
	abandoned, pending := pscs[0]["Id"].(string), pscs[1]["Id"].(string)
	require.Equal(t, http.StatusOK, e.pscOutcome(abandoned, "ABANDONED").status)
	assert.Equal(t, []string{"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_ABANDONED"}, e.eventTypes(abandoned))
	_, otherSession := e.validatedBusiness("BUSINESS")

	tests := []struct {
		name, session, psc string
		body               any
		status             int
		errType, errField  string
	}{
		{"abandoned cannot be retried", sid, abandoned, nil, http.StatusBadRequest, "invalid_action", ""},
		{"unknown PSC", sid, "psc_x_nope", nil, http.StatusNotFound, "ressource_not_found", ""},
		{"PSC of another session", otherSession, pending, nil, http.StatusNotFound, "ressource_not_found", ""},
		{"unknown session", "idnver_nope", pending, nil, http.StatusNotFound, "ressource_not_found", ""},
		{"bad email", sid, pending, map[string]any{"Email": "not-an-email"}, http.StatusBadRequest, "param_error", "Email"},
		{"empty first name", sid, pending, map[string]any{"FirstName": ""}, http.StatusBadRequest, "param_error", "FirstName"},
		{"not JSON", sid, pending, "{", http.StatusBadRequest, "param_error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.api("PUT", "/identity-verifications/"+tt.session+"/pscs/"+tt.psc+"/retry", tt.body)
			require.Equal(t, tt.status, res.status, string(res.body))
			assert.Equal(t, tt.errType, res.json()["Type"])
			if tt.errField != "" {
				assert.Contains(t, res.json()["errors"], tt.errField)
			}
		})
	}
	assert.Equal(t, "C", e.pscs(sid)[1]["FirstName"], "a refused retry changes nothing")
}

func TestPscExpiry(t *testing.T) {
	t.Run("7 days after the link", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		_, sid := e.validatedBusiness("BUSINESS")
		pscID := e.pscs(sid)[0]["Id"].(string)
		e.sim.Advance(7*24*time.Hour - time.Second)
		e.tok = e.token()
		assert.Equal(t, "PENDING_VALIDATION", e.pscs(sid)[0]["Status"])
		e.sim.Advance(time.Second)
		assert.Equal(t, "REJECTED", e.pscs(sid)[0]["Status"])
		assert.Equal(t, []string{"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_REJECTED"}, e.eventTypes(pscID))
	})
	t.Run("1 hour after the liveness step starts on the page", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		_, sid := e.validatedBusiness("BUSINESS")
		p := e.pscs(sid)[0]
		status, page := e.get(p["HostedUrl"].(string))
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, `id="start-liveness"`)
		key := strings.Split(strings.Split(p["HostedUrl"].(string), "sessionId=")[1], "&")[0]
		res := e.post("/idv/"+strings.Split(strings.TrimPrefix(p["HostedUrl"].(string), e.srv.URL+"/idv/"), "?")[0]+"/liveness",
			map[string][]string{"sessionId": {key}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		e.sim.Advance(59 * time.Minute)
		e.tok = e.token()
		assert.Equal(t, "PENDING_VALIDATION", e.pscs(sid)[0]["Status"])
		e.sim.Advance(time.Minute)
		assert.Equal(t, "REJECTED", e.pscs(sid)[0]["Status"])
	})
	t.Run("a retried PSC gets a new 7 days", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		_, sid := e.validatedBusiness("BUSINESS")
		pscID := e.pscs(sid)[0]["Id"].(string)
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/pscs/"+pscID+"/liveness", nil).status)
		e.sim.Advance(time.Hour)
		e.tok = e.token()
		require.Equal(t, "REJECTED", e.pscs(sid)[0]["Status"])
		require.Equal(t, http.StatusOK, e.api("PUT", "/identity-verifications/"+sid+"/pscs/"+pscID+"/retry", nil).status)
		e.sim.Advance(6 * 24 * time.Hour)
		e.tok = e.token()
		assert.Equal(t, "PENDING_VALIDATION", e.pscs(sid)[0]["Status"], "the first link's expiry no longer applies")
	})
}

func TestPscHostedPage(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID, sid := e.validatedBusiness("BUSINESS")
	p := e.pscs(sid)[0]
	_, page := e.get(p["HostedUrl"].(string))
	assert.Contains(t, page, `<strong id="psc-name">ALEX SMITH</strong>`)
	f := parseForm(t, page)
	assert.Equal(t, []string{"PSC_LIVENESS"}, f.fields)
	assert.Equal(t, "VALIDATED", f.values.Get("check.PSC_LIVENESS"))
	res := e.post(f.action, f.values)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "https://example.com/back", res.Header.Get("Location"))
	assert.Equal(t, "VALIDATED", e.pscs(sid)[0]["Status"])
	assert.Equal(t, "REGULAR", e.kycLevel(userID))
	_, page = e.get(p["HostedUrl"].(string))
	assert.Contains(t, page, "can no longer be submitted")
	assert.Equal(t, http.StatusConflict, e.post(f.action, f.values).StatusCode)
}

func TestPscControlAPI(t *testing.T) {
	e := newEnv(t, fastSettings())
	_, sid := e.validatedBusiness("BUSINESS")
	pscID := e.pscs(sid)[0]["Id"].(string)
	natural := e.natural()
	business := e.legal("BUSINESS")
	tests := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"unknown outcome", "POST", "/_sim/pscs/" + pscID + "/outcome", map[string]any{"Outcome": "REFUSED"}, http.StatusBadRequest},
		{"unknown field", "POST", "/_sim/pscs/" + pscID + "/outcome", map[string]any{"Result": "VALIDATED"}, http.StatusBadRequest},
		{"unknown PSC", "POST", "/_sim/pscs/psc_x_nope/outcome", map[string]any{"Outcome": "VALIDATED"}, http.StatusNotFound},
		{"declare for a natural user", "PUT", "/_sim/users/" + natural + "/pscs", map[string]any{"Persons": []any{map[string]any{"FirstName": "A", "LastName": "B"}}}, http.StatusConflict},
		{"declare nobody", "PUT", "/_sim/users/" + business + "/pscs", map[string]any{"Persons": []any{}}, http.StatusBadRequest},
		{"declare without a last name", "PUT", "/_sim/users/" + business + "/pscs", map[string]any{"Persons": []any{map[string]any{"FirstName": "A"}}}, http.StatusBadRequest},
		{"declare a bad PscType", "PUT", "/_sim/users/" + business + "/pscs", map[string]any{"Persons": []any{map[string]any{"FirstName": "A", "LastName": "B", "PscType": "CEO"}}}, http.StatusBadRequest},
		{"declare for an unknown user", "PUT", "/_sim/users/user_m_nope/pscs", map[string]any{"Persons": []any{map[string]any{"FirstName": "A", "LastName": "B"}}}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.ctl(tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, res.status, string(res.body))
			assert.NotEmpty(t, res.json()["Error"])
		})
	}
	assert.Equal(t, "PENDING_VALIDATION", e.pscs(sid)[0]["Status"], "refused requests change nothing")
	require.Equal(t, http.StatusOK, e.pscOutcome(pscID, "VALIDATED").status)
	assert.Equal(t, http.StatusConflict, e.pscOutcome(pscID, "REJECTED").status, "an outcome is given once")
}

func TestPscSettings(t *testing.T) {
	t.Run("FAILED instead of REJECTED, session ids as resources", func(t *testing.T) {
		set := fastSettings()
		set.PscRejectedEventType = "IDENTITY_VERIFICATION_PSC_FAILED"
		set.PscEventResource = "SESSION"
		e := newEnv(t, set)
		_, sid := e.validatedBusiness("BUSINESS")
		require.Equal(t, http.StatusOK, e.pscOutcome(e.pscs(sid)[0]["Id"].(string), "REJECTED").status)
		assert.Equal(t, []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_VALIDATED", "IDENTITY_VERIFICATION_PENDING_PSC_ACTION",
			"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_FAILED"}, e.eventTypes(sid))
	})
	t.Run("not activated: a business is REGULAR at validation", func(t *testing.T) {
		set := fastSettings()
		set.PscSessionsActivated = false
		e := newEnv(t, set)
		userID, sid := e.validatedBusiness("BUSINESS")
		assert.Empty(t, e.pscs(sid))
		assert.Equal(t, "REGULAR", e.kycLevel(userID))
	})
	t.Run("bad values", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		assert.Equal(t, http.StatusBadRequest, e.ctl("PUT", "/_sim/settings", map[string]any{"PscRejectedEventType": "IDENTITY_VERIFICATION_FAILED"}).status)
		assert.Equal(t, http.StatusBadRequest, e.ctl("PUT", "/_sim/settings", map[string]any{"PscEventResource": "USER"}).status)
	})
}

func TestPscOutcomeDelay(t *testing.T) {
	set := fastSettings()
	set.OutcomeDelaySeconds = 30
	e := newEnv(t, set)
	userID := e.legal("BUSINESS")
	sid := e.session(userID)["Id"].(string)
	require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+sid+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
	e.sim.Advance(30 * time.Second)
	pscID := e.pscs(sid)[0]["Id"].(string)
	res := e.pscOutcome(pscID, "VALIDATED")
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, true, res.json()["OutcomePending"])
	assert.Equal(t, "PENDING_VALIDATION", e.pscs(sid)[0]["Status"])
	e.sim.Advance(30 * time.Second)
	assert.Equal(t, "VALIDATED", e.pscs(sid)[0]["Status"])
	assert.Equal(t, "REGULAR", e.kycLevel(userID))
}

func TestPscPersonsDeclaredOnThePage(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.legal("ORGANIZATION")
	sess := e.session(userID)
	_, page := e.get(sess["HostedUrl"].(string))
	assert.Contains(t, page, `name="psc.FirstName" value="Alex"`, "the legal representative is declared by default")
	f := parseForm(t, page)
	v := f.values
	v.Del("psc.FirstName")
	v.Del("psc.LastName")
	v.Del("psc.PscType")
	for _, p := range [][3]string{{"Alex", "Smith", "LEGAL_REPRESENTATIVE"}, {"Uma", "Bo", "UBO"}, {"", "", "UBO"}} {
		v.Add("psc.FirstName", p[0])
		v.Add("psc.LastName", p[1])
		v.Add("psc.PscType", p[2])
	}

	t.Run("a bad row is refused and changes nothing", func(t *testing.T) {
		bad := url.Values{}
		for k, vs := range v {
			bad[k] = slices.Clone(vs)
		}
		bad["psc.LastName"][1] = ""
		res := e.post(f.action, bad)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+sess["Id"].(string), nil).json()["Status"])
	})

	require.Equal(t, http.StatusSeeOther, e.post(f.action, v).StatusCode)
	pscs := e.pscs(sess["Id"].(string))
	require.Len(t, pscs, 2, "blank rows are skipped")
	assert.Equal(t, "Alex", pscs[0]["FirstName"], "as declared")
	assert.Equal(t, "alex+accept@example.com", pscs[0]["Email"], "a declared person keeps their email")
	assert.Equal(t, "LEGAL_REPRESENTATIVE", pscs[0]["PscType"])
	assert.Equal(t, "Uma", pscs[1]["FirstName"])
	assert.Equal(t, "UBO", pscs[1]["PscType"])
	assert.Equal(t, "LIGHT", e.kycLevel(userID))
}

func TestSettingsWithoutThe2026Choices(t *testing.T) {
	set := fastSettings()
	set.PscRejectedEventType, set.PscEventResource = "", ""
	e := newEnv(t, set)
	require.NoError(t, e.sim.SetSettings(set), "older callers that do not know the new settings")
	_, sid := e.validatedBusiness("BUSINESS")
	pscID := e.pscs(sid)[0]["Id"].(string)
	require.Equal(t, http.StatusOK, e.pscOutcome(pscID, "REJECTED").status)
	assert.Equal(t, []string{"IDENTITY_VERIFICATION_PSC_PENDING", "IDENTITY_VERIFICATION_PSC_REJECTED"}, e.eventTypes(pscID))
}
