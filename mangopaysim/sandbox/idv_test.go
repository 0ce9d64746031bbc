package sandbox_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

func TestCreateSessionRules(t *testing.T) {
	e := newEnv(t, fastSettings())
	owner := e.natural()
	payer := e.mustID(e.api("POST", "/sca/users/natural", map[string]any{
		"FirstName": "P", "LastName": "Ayer", "Email": "p@example.com", "UserCategory": "PAYER", "TermsAndConditionsAccepted": false,
	}))
	partnership := e.legal("PARTNERSHIP")
	organization := e.legal("ORGANIZATION")

	tests := []struct {
		name     string
		user     string
		body     map[string]any
		status   int
		errType  string
		errField string
		message  string
	}{
		{name: "natural owner", user: owner, body: map[string]any{"ReturnUrl": "https://example.com", "Tag": "t"}, status: 200},
		{name: "organization is supported since 2026", user: organization, body: map[string]any{"ReturnUrl": "https://example.com"}, status: 200},
		{name: "unknown user", user: "user_m_01JTG7NDTE52MZCCF50QHJ870A", body: map[string]any{"ReturnUrl": "https://example.com"}, status: 400, errType: "param_error", errField: "UserId", message: "Missing or incorrect required parameter"},
		{name: "payer", user: payer, body: map[string]any{"ReturnUrl": "https://example.com"}, status: 400, errType: "invalid_action", message: "This feature is only available for users categorised as Owner."},
		{name: "partnership", user: partnership, body: map[string]any{"ReturnUrl": "https://example.com"}, status: 400, errType: "invalid_action", message: "The LegalUserType PARTNERSHIP is not currently supported"},
		{name: "ReturnUrl missing", user: owner, body: map[string]any{"Tag": "x"}, status: 400, errType: "param_error", errField: "ReturnUrl"},
		{name: "ReturnUrl over 500 characters", user: owner, body: map[string]any{"ReturnUrl": "https://example.com/" + strings.Repeat("a", 481)}, status: 400, errType: "param_error", errField: "ReturnUrl"},
		{name: "ReturnUrl of exactly 500 characters", user: owner, body: map[string]any{"ReturnUrl": "https://example.com/" + strings.Repeat("a", 480)}, status: 200},
		{name: "ReturnUrl not a URL", user: owner, body: map[string]any{"ReturnUrl": "javascript:alert(1)"}, status: 400, errType: "param_error", errField: "ReturnUrl"},
		{name: "SessionLanguage fr-FR", user: owner, body: map[string]any{"ReturnUrl": "https://example.com", "SessionLanguage": "fr-FR"}, status: 200},
		{name: "SessionLanguage zh-Hans-CN", user: owner, body: map[string]any{"ReturnUrl": "https://example.com", "SessionLanguage": "zh-Hans-CN"}, status: 200},
		{name: "SessionLanguage not one of the eight", user: owner, body: map[string]any{"ReturnUrl": "https://example.com", "SessionLanguage": "fr"}, status: 400, errType: "param_error", errField: "SessionLanguage"},
		{name: "SessionLanguage is case-sensitive", user: owner, body: map[string]any{"ReturnUrl": "https://example.com", "SessionLanguage": "FR-fr"}, status: 400, errType: "param_error", errField: "SessionLanguage"},
		{name: "SessionLanguage empty", user: owner, body: map[string]any{"ReturnUrl": "https://example.com", "SessionLanguage": ""}, status: 400, errType: "param_error", errField: "SessionLanguage"},
		{name: "Tag too long", user: owner, body: map[string]any{"ReturnUrl": "https://example.com", "Tag": strings.Repeat("t", 256)}, status: 400, errType: "param_error", errField: "Tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.api("POST", "/users/"+tt.user+"/identity-verifications", tt.body)
			require.Equal(t, tt.status, res.status, string(res.body))
			body := res.json()
			if tt.status == 200 {
				assert.Equal(t, "PENDING", body["Status"])
				assert.True(t, strings.HasPrefix(body["Id"].(string), "idnver_"))
				assert.Contains(t, body["HostedUrl"], "sessionId=")
				assert.Contains(t, body["HostedUrl"], "redirectURL=https%3A%2F%2Fexample.com")
				assert.ElementsMatch(t, []string{"Id", "Tag", "CreationDate", "HostedUrl", "Status", "ReturnUrl"}, keys(body),
					"the create response has no UserId, LastUpdate or Checks, and does not echo SessionLanguage")
				if lng, given := tt.body["SessionLanguage"]; given {
					assert.True(t, strings.HasSuffix(body["HostedUrl"].(string), "&lng="+lng.(string)), body["HostedUrl"])
				} else {
					assert.NotContains(t, body["HostedUrl"], "lng=")
				}
				assert.NotContains(t, e.api("GET", "/identity-verifications/"+body["Id"].(string), nil).json(), "SessionLanguage")
				return
			}
			assert.Equal(t, tt.errType, body["Type"])
			if tt.errField != "" {
				assert.Contains(t, body["errors"], tt.errField)
			}
			if tt.message != "" {
				assert.Contains(t, body["Message"], tt.message)
			}
		})
	}

	t.Run("feature not activated answers RFC 7807", func(t *testing.T) {
		set := fastSettings()
		set.IdvActivated = false
		require.NoError(t, e.sim.SetSettings(set))
		defer func() { require.NoError(t, e.sim.SetSettings(fastSettings())) }()
		res := e.api("POST", "/users/"+owner+"/identity-verifications", map[string]any{"ReturnUrl": "https://example.com"})
		require.Equal(t, http.StatusForbidden, res.status)
		assert.Contains(t, res.header.Get("Content-Type"), "application/problem+json")
		body := res.json()
		assert.Equal(t, "Forbidden", body["title"])
		assert.EqualValues(t, 403, body["status"])
		assert.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, body["traceId"])
	})

	t.Run("ReturnUrl limit is a setting", func(t *testing.T) {
		set := fastSettings()
		set.ReturnURLMaxLength = 50 // a stricter Mangopay
		require.NoError(t, e.sim.SetSettings(set))
		defer func() { require.NoError(t, e.sim.SetSettings(fastSettings())) }()
		res := e.api("POST", "/users/"+owner+"/identity-verifications", map[string]any{"ReturnUrl": "https://example.com/" + strings.Repeat("a", 31)})
		assert.Equal(t, http.StatusBadRequest, res.status)
	})
}

// checkStatuses maps each check type in a session view to its CheckStatus.
func checkStatuses(view map[string]any) map[string]string {
	out := map[string]string{}
	for _, c := range view["Checks"].([]any) {
		m := c.(map[string]any)
		out[m["Type"].(string)] = m["CheckStatus"].(string)
	}
	return out
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		kind       string // NATURAL or a LegalPersonType
		outcome    map[string]any
		wantStatus string
		wantChecks map[string]string
		wantEvents []string
		wantLevel  string
		ctlStatus  int
	}{
		{
			name: "natural validated", kind: "NATURAL", outcome: map[string]any{"Outcome": "VALIDATED"},
			wantStatus: "VALIDATED",
			wantChecks: map[string]string{"IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "VALIDATED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_VALIDATED", "USER_KYC_REGULAR"}, wantLevel: "REGULAR",
		},
		{
			name: "natural refused: name and age checks are not performed", kind: "NATURAL",
			outcome:    map[string]any{"Outcome": "REFUSED", "Reason": "FACE_MATCH_FAIL"},
			wantStatus: "REFUSED", wantChecks: map[string]string{"IDENTITY_DOCUMENT_VERIFICATION": "REFUSED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_FAILED"}, wantLevel: "LIGHT",
		},
		{
			name: "natural refused by the age check", kind: "NATURAL",
			outcome:    map[string]any{"Checks": map[string]string{"IDV_AGE_CHECK": "REFUSED"}},
			wantStatus: "REFUSED",
			wantChecks: map[string]string{"IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "REFUSED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_FAILED"}, wantLevel: "LIGHT",
		},
		{name: "natural users never go to review", kind: "NATURAL", outcome: map[string]any{"Outcome": "REVIEW"}, ctlStatus: 400},
		{name: "a business check does not apply to a natural user", kind: "NATURAL", outcome: map[string]any{"Checks": map[string]string{"BUSINESS_VERIFICATION": "REFUSED"}}, ctlStatus: 400},
		{name: "unknown outcome", kind: "NATURAL", outcome: map[string]any{"Outcome": "MAYBE"}, ctlStatus: 400},
		{name: "reason not valid for the check", kind: "NATURAL", outcome: map[string]any{"Outcome": "REFUSED", "Reason": "PSC_NAME_FAIL"}, ctlStatus: 400},
		{name: "both Outcome and Checks", kind: "NATURAL", outcome: map[string]any{"Outcome": "VALIDATED", "Checks": map[string]string{"IDV_AGE_CHECK": "VALIDATED"}}, ctlStatus: 400},
		{name: "unknown field", kind: "NATURAL", outcome: map[string]any{"Outcom": "VALIDATED"}, ctlStatus: 400},
		{
			name: "soletrader with a failed business check goes to review", kind: "SOLETRADER",
			outcome:    map[string]any{"Checks": map[string]string{"BUSINESS_VERIFICATION": "REFUSED"}},
			wantStatus: "REVIEW",
			wantChecks: map[string]string{"BUSINESS_VERIFICATION": "REFUSED", "IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "VALIDATED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_INCONCLUSIVE"}, wantLevel: "LIGHT",
		},
		{
			name: "business with failed insights goes to review", kind: "BUSINESS",
			outcome:    map[string]any{"Checks": map[string]string{"BUSINESS_INSIGHTS_MATCH": "REFUSED"}},
			wantStatus: "REVIEW",
			wantChecks: map[string]string{"BUSINESS_VERIFICATION": "VALIDATED", "BUSINESS_INSIGHTS_MATCH": "REFUSED", "PSC_ROLE_CHECK": "VALIDATED", "PSC_CONSISTENCY_CHECK": "VALIDATED", "IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "VALIDATED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_INCONCLUSIVE"}, wantLevel: "LIGHT",
		},
		{
			name: "legal one-word review", kind: "BUSINESS", outcome: map[string]any{"Outcome": "REVIEW"},
			wantStatus: "REVIEW",
			wantChecks: map[string]string{"BUSINESS_VERIFICATION": "REFUSED", "PSC_ROLE_CHECK": "VALIDATED", "PSC_CONSISTENCY_CHECK": "VALIDATED", "IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "VALIDATED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_INCONCLUSIVE"}, wantLevel: "LIGHT",
		},
		{
			name: "legal refused on ID despite a failed business check", kind: "BUSINESS",
			outcome:    map[string]any{"Checks": map[string]string{"BUSINESS_VERIFICATION": "REFUSED", "IDENTITY_DOCUMENT_VERIFICATION": "REFUSED"}},
			wantStatus: "REFUSED",
			wantChecks: map[string]string{"BUSINESS_VERIFICATION": "REFUSED", "PSC_ROLE_CHECK": "VALIDATED", "PSC_CONSISTENCY_CHECK": "VALIDATED", "IDENTITY_DOCUMENT_VERIFICATION": "REFUSED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_FAILED"}, wantLevel: "LIGHT",
		},
		{
			name: "organization validated: its PSC sessions open, the user stays LIGHT", kind: "ORGANIZATION", outcome: map[string]any{"Outcome": "VALIDATED"},
			wantStatus: "VALIDATED",
			wantChecks: map[string]string{"BUSINESS_VERIFICATION": "VALIDATED", "PSC_ROLE_CHECK": "VALIDATED", "PSC_CONSISTENCY_CHECK": "VALIDATED", "IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "VALIDATED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_VALIDATED", "IDENTITY_VERIFICATION_PENDING_PSC_ACTION", "IDENTITY_VERIFICATION_PSC_PENDING"}, wantLevel: "LIGHT",
		},
		{
			name: "soletrader validated: no PSC sessions", kind: "SOLETRADER", outcome: map[string]any{"Outcome": "VALIDATED"},
			wantStatus: "VALIDATED",
			wantChecks: map[string]string{"BUSINESS_VERIFICATION": "VALIDATED", "BUSINESS_NAME_MATCH": "VALIDATED", "IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "VALIDATED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_VALIDATED", "USER_KYC_REGULAR"}, wantLevel: "REGULAR",
		},
		{
			name: "business refused on a PSC check goes to review", kind: "BUSINESS",
			outcome:    map[string]any{"Checks": map[string]string{"PSC_ROLE_CHECK": "REFUSED"}},
			wantStatus: "REVIEW",
			wantChecks: map[string]string{"BUSINESS_VERIFICATION": "VALIDATED", "BUSINESS_INSIGHTS_MATCH": "VALIDATED", "PSC_ROLE_CHECK": "REFUSED", "PSC_CONSISTENCY_CHECK": "VALIDATED", "IDENTITY_DOCUMENT_VERIFICATION": "VALIDATED", "IDV_NAME_MATCH_CHECK": "VALIDATED", "IDV_AGE_CHECK": "VALIDATED"},
			wantEvents: []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_INCONCLUSIVE"}, wantLevel: "LIGHT",
		},
		{name: "PSC checks do not apply to a soletrader", kind: "SOLETRADER", outcome: map[string]any{"Checks": map[string]string{"PSC_ROLE_CHECK": "REFUSED"}}, ctlStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fastSettings())
			var userID string
			if tt.kind == "NATURAL" {
				userID = e.natural()
			} else {
				userID = e.legal(tt.kind)
			}
			sess := e.session(userID)
			id := sess["Id"].(string)
			res := e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", tt.outcome)
			if tt.ctlStatus != 0 {
				require.Equal(t, tt.ctlStatus, res.status, string(res.body))
				assert.NotEmpty(t, res.json()["Error"])
				assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+id, nil).json()["Status"], "a rejected outcome changes nothing")
				return
			}
			require.Equal(t, http.StatusOK, res.status, string(res.body))
			view := e.api("GET", "/identity-verifications/"+id, nil).json()
			assert.Equal(t, tt.wantStatus, view["Status"])
			assert.Equal(t, userID, view["UserId"])
			assert.Equal(t, tt.wantChecks, checkStatuses(view))
			var events []string
			for _, ev := range e.api("GET", "/events?per_page=100", nil).list() {
				events = append(events, ev["EventType"].(string))
				assert.Contains(t, ev, "ResourceId", "Events API spells ResourceId with one s")
			}
			assert.Equal(t, tt.wantEvents, events)
			u := e.api("GET", "/sca/users/"+userID, nil).json()
			assert.Equal(t, tt.wantLevel, u["KYCLevel"])
			again := e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "VALIDATED"})
			assert.Equal(t, http.StatusConflict, again.status, "an outcome is given once")
		})
	}
}

func TestValidationOverwritesVerifiedData(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	id := e.session(userID)["Id"].(string)
	require.Equal(t, 200, e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
	view := e.api("GET", "/identity-verifications/"+id, nil).json()
	doc := view["Checks"].([]any)[0].(map[string]any)
	require.Equal(t, "IDENTITY_DOCUMENT_VERIFICATION", doc["Type"])
	assert.Equal(t, []any{
		map[string]any{"Type": "FIRST_NAME", "Value": "ALEX"},
		map[string]any{"Type": "LAST_NAME", "Value": "SMITH"},
		map[string]any{"Type": "BIRTHDATE", "Value": "652117514"},
	}, doc["Data"], "dates are strings in Data.Value")
	u := e.api("GET", "/sca/users/"+userID, nil).json()
	assert.Equal(t, "ALEX", u["FirstName"])
	assert.Equal(t, "SMITH", u["LastName"])
}

func TestReview(t *testing.T) {
	for _, decision := range []string{"VALIDATED", "REFUSED"} {
		t.Run(decision, func(t *testing.T) {
			e := newEnv(t, fastSettings())
			userID := e.legal("BUSINESS")
			id := e.session(userID)["Id"].(string)

			early := e.ctl("POST", "/_sim/identity-verifications/"+id+"/review", map[string]any{"Decision": decision})
			require.Equal(t, http.StatusConflict, early.status, "no review before REVIEW")

			require.Equal(t, 200, e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome",
				map[string]any{"Checks": map[string]string{"BUSINESS_VERIFICATION": "REFUSED"}, "Reasons": map[string]string{"BUSINESS_VERIFICATION": "DOCUMENT_UNREADABLE"}}).status)
			res := e.ctl("POST", "/_sim/identity-verifications/"+id+"/review", map[string]any{"Decision": decision, "Comment": "Registry extract is blurred"})
			require.Equal(t, http.StatusOK, res.status, string(res.body))

			view := e.api("GET", "/identity-verifications/"+id, nil).json()
			assert.Equal(t, decision, view["Status"])
			bv := view["Checks"].([]any)[0].(map[string]any)
			require.Equal(t, "BUSINESS_VERIFICATION", bv["Type"])
			assert.Equal(t, "REFUSED", bv["CheckStatus"], "checks are not updated when review validates")
			reason := bv["Reasons"].([]any)[0].(map[string]any)
			assert.Equal(t, "DOCUMENT_UNREADABLE", reason["Type"])
			u := e.api("GET", "/sca/users/"+userID, nil).json()
			if decision == "VALIDATED" {
				assert.Equal(t, "LIGHT", u["KYCLevel"], "a business is REGULAR once its PSCs are validated")
				assert.Len(t, view["PSCs"], 1, "validation after review opens the PSC sessions")
				assert.NotEqual(t, "Registry extract is blurred", reason["Value"])
			} else {
				assert.Equal(t, "LIGHT", u["KYCLevel"])
				assert.Equal(t, "Registry extract is blurred", reason["Value"], "the reviewer's comment replaces the preset text")
			}
		})
	}
	t.Run("bad decision", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		id := e.session(e.legal("BUSINESS"))["Id"].(string)
		assert.Equal(t, http.StatusBadRequest, e.ctl("POST", "/_sim/identity-verifications/"+id+"/review", map[string]any{"Decision": "MAYBE"}).status)
		assert.Equal(t, http.StatusNotFound, e.ctl("POST", "/_sim/identity-verifications/idnver_nope/review", map[string]any{"Decision": "VALIDATED"}).status)
	})
}

func TestOutcomeLandsAfterDelay(t *testing.T) {
	set := fastSettings()
	set.OutcomeDelaySeconds = 120
	e := newEnv(t, set)
	id := e.session(e.natural())["Id"].(string)
	res := e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "VALIDATED"})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, true, res.json()["OutcomePending"])
	assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+id, nil).json()["Status"], "the outcome is not known at once")
	e.sim.Advance(2 * time.Minute)
	assert.Equal(t, "VALIDATED", e.api("GET", "/identity-verifications/"+id, nil).json()["Status"])
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, fastSettings())
	sink := newHookSink(t)
	require.Equal(t, 200, e.api("POST", "/hooks", map[string]any{"EventType": "IDENTITY_VERIFICATION_EXPIRED", "Url": sink.srv.URL}).status)
	userID := e.natural()
	id := e.session(userID)["Id"].(string)
	submitted := e.session(userID)["Id"].(string)
	set := fastSettings()
	set.OutcomeDelaySeconds = 8 * 24 * 3600
	require.NoError(t, e.sim.SetSettings(set))
	require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+submitted+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)

	e.sim.Advance(7*24*time.Hour - time.Second)
	e.tok = e.token()
	assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+id, nil).json()["Status"])

	res := e.ctl("POST", "/_sim/clock/advance", map[string]any{"Seconds": 1})
	require.Equal(t, http.StatusOK, res.status)
	view := e.api("GET", "/identity-verifications/"+id, nil).json()
	assert.Equal(t, "EXPIRED", view["Status"])
	assert.NotEqual(t, view["CreationDate"], view["LastUpdate"])
	assert.Equal(t, http.StatusConflict, e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
	// Since 2026-08 Mangopay notifies the expiry.
	got := e.waitDeliveries("IDENTITY_VERIFICATION_EXPIRED", 1)
	require.Len(t, got, 1)
	assert.Equal(t, id, got[0].ResourceID)
	assert.Equal(t, sandbox.Delivered, got[0].Result)
	assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+submitted, nil).json()["Status"],
		"a submitted session waiting for its outcome does not expire")
	assert.Equal(t, []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_EXPIRED"}, e.eventTypes(id))

	t.Run("clock only moves forward", func(t *testing.T) {
		assert.Equal(t, http.StatusBadRequest, e.ctl("POST", "/_sim/clock/advance", map[string]any{"Seconds": -5}).status)
		assert.Equal(t, http.StatusBadRequest, e.ctl("POST", "/_sim/clock/advance", map[string]any{"Secs": 5}).status)
	})
}

// One session's lifetime ends now (the load harness's expired path): it
// expires as at the end of Mangopay's 7 days, the others keep theirs, and
// a session decided or submitted, or unknown, cannot be expired.
func TestExpireOneSession(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	id := e.session(userID)["Id"].(string)
	other := e.session(userID)["Id"].(string)
	decided := e.session(userID)["Id"].(string)
	require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+decided+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)

	res := e.ctl("POST", "/_sim/identity-verifications/"+id+"/expire", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "EXPIRED", res.json()["Status"])
	view := e.api("GET", "/identity-verifications/"+id, nil).json()
	assert.Equal(t, "EXPIRED", view["Status"])
	assert.Equal(t, []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_EXPIRED"}, e.eventTypes(id))
	assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+other, nil).json()["Status"], "the others keep their lifetime")

	assert.Equal(t, http.StatusConflict, e.ctl("POST", "/_sim/identity-verifications/"+id+"/expire", nil).status, "already expired")
	assert.Equal(t, http.StatusConflict, e.ctl("POST", "/_sim/identity-verifications/"+decided+"/expire", nil).status, "decided")
	assert.Equal(t, http.StatusNotFound, e.ctl("POST", "/_sim/identity-verifications/idnver_nope/expire", nil).status)
	assert.Equal(t, http.StatusConflict, e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status,
		"an expired session gets no outcome")
}

// A load profile shortens the session lifetime for the sessions created
// after the change; those already open keep theirs.
func TestShortSessionLifetime(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	before := e.session(userID)["Id"].(string)
	for _, bad := range []any{0, -1, 7*24*3600 + 1, "30"} {
		assert.Equal(t, http.StatusBadRequest, e.ctl("PUT", "/_sim/settings", map[string]any{"SessionLifetimeSeconds": bad}).status, "%v", bad)
	}
	assert.EqualValues(t, 7*24*3600, e.ctl("GET", "/_sim/settings", nil).json()["SessionLifetimeSeconds"], "the default is Mangopay's")
	require.Equal(t, http.StatusOK, e.ctl("PUT", "/_sim/settings", map[string]any{"SessionLifetimeSeconds": 30}).status)
	short := e.session(userID)["Id"].(string)

	e.sim.Advance(29 * time.Second)
	assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+short, nil).json()["Status"])
	e.sim.Advance(time.Second)
	assert.Equal(t, "EXPIRED", e.api("GET", "/identity-verifications/"+short, nil).json()["Status"])
	assert.Equal(t, []string{"IDENTITY_VERIFICATION_PENDING", "IDENTITY_VERIFICATION_EXPIRED"}, e.eventTypes(short))
	assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+before, nil).json()["Status"],
		"a session created before the change keeps Mangopay's 7 days")
}

func TestDowngrade(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	assert.Equal(t, http.StatusConflict, e.ctl("POST", "/_sim/users/"+userID+"/downgrade", nil).status, "a LIGHT user cannot be downgraded")
	id := e.session(userID)["Id"].(string)
	require.Equal(t, 200, e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)

	res := e.ctl("POST", "/_sim/users/"+userID+"/downgrade", nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, "LIGHT", res.json()["KYCLevel"])
	assert.Equal(t, "OUT_OF_DATE", e.api("GET", "/identity-verifications/"+id, nil).json()["Status"])
	events := e.api("GET", "/events?EventType=IDENTITY_VERIFICATION_OUTDATED,USER_KYC_LIGHT", nil).list()
	require.Len(t, events, 2)
	assert.Equal(t, id, events[0]["ResourceId"])
	assert.Equal(t, userID, events[1]["ResourceId"])
	assert.Equal(t, http.StatusNotFound, e.ctl("POST", "/_sim/users/user_m_nope/downgrade", nil).status)
}

func TestEventsAPIWindow(t *testing.T) {
	e := newEnv(t, fastSettings())
	e.session(e.natural())
	require.Len(t, e.api("GET", "/events", nil).list(), 1)
	e.sim.Advance(45*24*time.Hour + time.Minute)
	e.tok = e.token()
	for _, ev := range e.api("GET", "/events", nil).list() {
		assert.NotEqual(t, "IDENTITY_VERIFICATION_PENDING", ev["EventType"], "the Events API reaches back 45 days")
	}
}
