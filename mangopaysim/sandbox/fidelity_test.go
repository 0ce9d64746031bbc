package sandbox_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHooksAcceptOnlyKnownEventTypes(t *testing.T) {
	e := newEnv(t, fastSettings())
	tests := []struct {
		eventType string
		want      int
	}{
		{"IDENTITY_VERIFICATION_VALIDATED", http.StatusOK},
		{"IDENTITY_VERIFICATION_EXPIRED", http.StatusOK},
		{"IDENTITY_VERIFICATION_PENDING_PSC_ACTION", http.StatusOK},
		{"IDENTITY_VERIFICATION_PSC_PENDING", http.StatusOK},
		{"IDENTITY_VERIFICATION_PSC_VALIDATED", http.StatusOK},
		{"IDENTITY_VERIFICATION_PSC_REJECTED", http.StatusOK},
		{"IDENTITY_VERIFICATION_PSC_FAILED", http.StatusOK},
		{"IDENTITY_VERIFICATION_PSC_ABANDONED", http.StatusOK},
		{"USER_KYC_RENEWAL_REQUIRED", http.StatusOK},
		{"USER_KYC_RENEWED", http.StatusOK},
		{"PAYIN_NORMAL_SUCCEEDED", http.StatusOK},
		{"KYC_SUCCEEDED", http.StatusOK},
		{"IDENTITY_VERIFICATION_VALIDATE", http.StatusBadRequest},
		{"USER_KYC_RENEWAL", http.StatusBadRequest},
		{"NOT_AN_EVENT_TYPE", http.StatusBadRequest},
		{"identity_verification_validated", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			res := e.api("POST", "/hooks", map[string]any{"EventType": tt.eventType, "Url": "https://example.com/hook"})
			require.Equal(t, tt.want, res.status, string(res.body))
			if tt.want == http.StatusBadRequest {
				assert.Equal(t, "param_error", res.json()["Type"])
				assert.Contains(t, res.json()["errors"], "EventType")
			}
		})
	}
}

func TestEventsAPIWindowIsEnforced(t *testing.T) {
	e := newEnv(t, fastSettings())
	e.session(e.natural())
	now := e.sim.Now()
	tests := []struct {
		name  string
		query string
		want  int
	}{
		{"no window", "", http.StatusOK},
		{"AfterDate 44 days ago", "AfterDate=" + unix(now.Add(-44*24*time.Hour)), http.StatusOK},
		{"AfterDate 46 days ago", "AfterDate=" + unix(now.Add(-46*24*time.Hour)), http.StatusBadRequest},
		{"BeforeDate 46 days ago", "BeforeDate=" + unix(now.Add(-46*24*time.Hour)), http.StatusBadRequest},
		{"AfterDate not a number", "AfterDate=yesterday", http.StatusBadRequest},
		{"AfterDate after BeforeDate", "AfterDate=" + unix(now) + "&BeforeDate=" + unix(now.Add(-time.Hour)), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.api("GET", "/events?"+tt.query, nil)
			require.Equal(t, tt.want, res.status, string(res.body))
			if tt.want == http.StatusBadRequest {
				assert.Equal(t, "param_error", res.json()["Type"])
			}
		})
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestEventsAPIFiltersSortsAndPages(t *testing.T) {
	e := newEnv(t, fastSettings())
	var users []string
	for range 3 {
		users = append(users, e.natural())
		e.sim.Advance(time.Minute)
	}
	e.tok = e.token()
	var sessions []string
	for _, u := range users {
		sessions = append(sessions, e.session(u)["Id"].(string))
		e.sim.Advance(time.Minute)
	}
	e.tok = e.token()
	require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+sessions[1]+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)
	start := e.sim.Now()

	ids := func(list []map[string]any) []string {
		var out []string
		for _, ev := range list {
			out = append(out, ev["EventType"].(string)+" "+ev["ResourceId"].(string))
		}
		return out
	}
	pending := func(i int) string { return "IDENTITY_VERIFICATION_PENDING " + sessions[i] }

	t.Run("EventType filter, ascending by default", func(t *testing.T) {
		res := e.api("GET", "/events?EventType=IDENTITY_VERIFICATION_PENDING", nil)
		assert.Equal(t, []string{pending(0), pending(1), pending(2)}, ids(res.list()))
	})
	t.Run("several types", func(t *testing.T) {
		res := e.api("GET", "/events?EventType=USER_KYC_REGULAR,IDENTITY_VERIFICATION_VALIDATED", nil)
		assert.Equal(t, []string{"IDENTITY_VERIFICATION_VALIDATED " + sessions[1], "USER_KYC_REGULAR " + users[1]}, ids(res.list()))
	})
	t.Run("sorted by Date descending", func(t *testing.T) {
		res := e.api("GET", "/events?EventType=IDENTITY_VERIFICATION_PENDING&Sort=Date:DESC", nil)
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		assert.Equal(t, []string{pending(2), pending(1), pending(0)}, ids(res.list()))
		asc := e.api("GET", "/events?EventType=IDENTITY_VERIFICATION_PENDING&Sort=Date:ASC", nil)
		assert.Equal(t, []string{pending(0), pending(1), pending(2)}, ids(asc.list()))
	})
	t.Run("unknown sort field", func(t *testing.T) {
		res := e.api("GET", "/events?Sort=Name:DESC", nil)
		assert.Equal(t, http.StatusBadRequest, res.status, string(res.body))
		assert.Equal(t, http.StatusBadRequest, e.api("GET", "/events?Sort=Date:SIDEWAYS", nil).status)
	})
	t.Run("AfterDate and BeforeDate are exclusive", func(t *testing.T) {
		after := start.Add(-3 * time.Minute).Unix() // the first session's event
		before := start.Add(-time.Minute).Unix()    // the third's
		res := e.api("GET", "/events?EventType=IDENTITY_VERIFICATION_PENDING&AfterDate="+strconv.FormatInt(after, 10)+"&BeforeDate="+strconv.FormatInt(before, 10), nil)
		assert.Equal(t, []string{pending(1)}, ids(res.list()))
	})
	t.Run("paging headers and Link", func(t *testing.T) {
		res := e.api("GET", "/events?EventType=IDENTITY_VERIFICATION_PENDING&per_page=1&page=2", nil)
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, []string{pending(1)}, ids(res.list()))
		assert.Equal(t, "3", res.header.Get("X-Number-Of-Pages"))
		assert.Equal(t, "3", res.header.Get("X-Number-Of-Items"))
		links := parseLinks(t, res.header.Get("Link"))
		assert.ElementsMatch(t, []string{"first", "prev", "next", "last"}, keysOf(links))
		for rel, page := range map[string]string{"first": "1", "prev": "1", "next": "3", "last": "3"} {
			u, err := url.Parse(links[rel])
			require.NoError(t, err)
			assert.Equal(t, "/v2.01/kycflow-dev/events", u.Path, rel)
			assert.Equal(t, page, u.Query().Get("page"), rel)
			assert.Equal(t, "1", u.Query().Get("per_page"), rel)
			assert.Equal(t, "IDENTITY_VERIFICATION_PENDING", u.Query().Get("EventType"), "%s keeps the filters", rel)
		}
		first := parseLinks(t, e.api("GET", "/events?EventType=IDENTITY_VERIFICATION_PENDING&per_page=1", nil).header.Get("Link"))
		assert.ElementsMatch(t, []string{"first", "next", "last"}, keysOf(first), "no prev on the first page")
	})
	t.Run("Link on other lists too", func(t *testing.T) {
		res := e.api("GET", "/users/"+users[0]+"/identity-verifications", nil)
		assert.NotEmpty(t, res.header.Get("Link"))
	})
}

// parseLinks reads an RFC 8288 Link header into rel -> URL.
func parseLinks(t *testing.T, header string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		target, params, found := strings.Cut(part, ";")
		require.True(t, found, "link %q has no rel", part)
		rel := strings.Trim(strings.TrimPrefix(strings.TrimSpace(params), "rel="), `"`)
		out[rel] = strings.Trim(strings.TrimSpace(target), "<>")
	}
	return out
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestVerifiedDataCanDiffer(t *testing.T) {
	t.Run("natural: the ID says otherwise", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		userID := e.natural()
		sid := e.session(userID)["Id"].(string)
		res := e.ctl("POST", "/_sim/identity-verifications/"+sid+"/outcome", map[string]any{
			"Outcome": "VALIDATED", "Data": map[string]string{"FIRST_NAME": "ALEXANDRA", "BIRTHDATE": "652200000"},
		})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		u := e.api("GET", "/sca/users/"+userID, nil).json()
		assert.Equal(t, "ALEXANDRA", u["FirstName"], "VALIDATED overwrites the user with the verified data")
		assert.Equal(t, "SMITH", u["LastName"])
		assert.EqualValues(t, 652200000, u["Birthday"])
	})
	t.Run("business: company data entered on the page", func(t *testing.T) {
		set := fastSettings()
		set.PscSessionsActivated = false
		e := newEnv(t, set)
		userID := e.legal("BUSINESS")
		sess := e.session(userID)
		_, page := e.get(sess["HostedUrl"].(string))
		f := parseForm(t, page)
		assert.Equal(t, "Alex Smith Services", f.values.Get("data.COMPANY_NAME"), "the page offers the declared data")
		f.values.Set("data.COMPANY_NAME", "Smith & Partners SAS")
		f.values.Set("data.COMPANY_NUMBER", "987654321")
		f.values.Set("data.LEGAL_REPRESENTATIVE_LAST_NAME", "SMYTHE")
		require.Equal(t, http.StatusSeeOther, e.post(f.action, f.values).StatusCode)
		u := e.api("GET", "/sca/users/"+userID, nil).json()
		assert.Equal(t, "Smith & Partners SAS", u["Name"])
		assert.Equal(t, "987654321", u["CompanyNumber"])
		assert.Equal(t, "SMYTHE", u["LegalRepresentative"].(map[string]any)["LastName"])
	})
	t.Run("not overwritten unless VALIDATED", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		userID := e.legal("BUSINESS")
		sid := e.session(userID)["Id"].(string)
		res := e.ctl("POST", "/_sim/identity-verifications/"+sid+"/outcome", map[string]any{
			"Outcome": "REVIEW", "Data": map[string]string{"COMPANY_NAME": "Other Name"},
		})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		assert.Equal(t, "Alex Smith Services", e.api("GET", "/sca/users/"+userID, nil).json()["Name"])
		view := e.api("GET", "/identity-verifications/"+sid, nil).json()
		assert.Contains(t, view["Checks"].([]any)[0].(map[string]any)["Data"], map[string]any{"Type": "COMPANY_NAME", "Value": "Other Name"})
		require.Equal(t, http.StatusOK, e.ctl("POST", "/_sim/identity-verifications/"+sid+"/review", map[string]any{"Decision": "VALIDATED"}).status)
		assert.Equal(t, "Other Name", e.api("GET", "/sca/users/"+userID, nil).json()["Name"], "validated after review: overwritten")
	})
	t.Run("bad data", func(t *testing.T) {
		e := newEnv(t, fastSettings())
		nat := e.session(e.natural())["Id"].(string)
		for name, data := range map[string]map[string]string{
			"company data for a natural user": {"COMPANY_NAME": "X"},
			"unknown type":                    {"NICKNAME": "Al"},
			"birthdate not a Unix time":       {"BIRTHDATE": "1990-01-01"},
			"empty name":                      {"FIRST_NAME": ""},
		} {
			t.Run(name, func(t *testing.T) {
				res := e.ctl("POST", "/_sim/identity-verifications/"+nat+"/outcome", map[string]any{"Outcome": "VALIDATED", "Data": data})
				assert.Equal(t, http.StatusBadRequest, res.status, string(res.body))
			})
		}
		assert.Equal(t, "PENDING", e.api("GET", "/identity-verifications/"+nat, nil).json()["Status"])
	})
}

func TestAddressProofForLegalUsersIsASetting(t *testing.T) {
	set := fastSettings()
	set.AddressProofForLegalUsers = true
	e := newEnv(t, set)
	res := e.api("POST", "/users/"+e.legal("ORGANIZATION")+"/kyc/documents", map[string]any{"Type": "ADDRESS_PROOF"})
	assert.Equal(t, http.StatusOK, res.status, string(res.body))
}

func TestAddressProofRefusedForLegalUsers(t *testing.T) {
	e := newEnv(t, fastSettings())
	for _, kind := range []string{"BUSINESS", "PARTNERSHIP", "ORGANIZATION", "SOLETRADER"} {
		t.Run(kind, func(t *testing.T) {
			res := e.api("POST", "/users/"+e.legal(kind)+"/kyc/documents", map[string]any{"Type": "ADDRESS_PROOF"})
			require.Equal(t, http.StatusBadRequest, res.status, string(res.body))
			assert.Equal(t, map[string]any{"Type": "ADDRESS_PROOF cannot be submitted for " + kind + " user"}, res.json()["errors"])
		})
	}
}
