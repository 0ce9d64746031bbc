package sandbox_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()

	tests := []struct {
		name       string
		authz      string
		wantStatus int
	}{
		{"bearer", "Bearer " + e.tok, http.StatusOK},
		{"lowercase bearer as the Node SDK sends it", "bearer " + e.tok, http.StatusOK},
		{"missing", "", http.StatusUnauthorized},
		{"unknown token", "Bearer nope", http.StatusUnauthorized},
		{"basic instead of bearer", "Basic " + e.tok, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v2.01/kycflow-dev/sca/users/"+userID, nil)
			require.NoError(t, err)
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			res := e.send(req)
			require.Equal(t, tt.wantStatus, res.status, string(res.body))
			if tt.wantStatus == http.StatusUnauthorized {
				body := res.json()
				assert.Equal(t, "invalid_credentials", body["Type"])
				assert.NotContains(t, body, "Id", "Mangopay's 401 body has no Id")
				assert.NotContains(t, body, "errors")
			}
		})
	}

	t.Run("token endpoint rejects bad credentials with an OAuth body", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v2.01/oauth/token", strings.NewReader("grant_type=client_credentials"))
		require.NoError(t, err)
		req.SetBasicAuth("kycflow-dev", "wrong")
		res := e.send(req)
		require.Equal(t, http.StatusUnauthorized, res.status)
		assert.Equal(t, "invalid_client", res.json()["error"])
	})

	t.Run("token endpoint wants client_credentials", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v2.01/oauth/token", strings.NewReader("grant_type=password"))
		require.NoError(t, err)
		req.SetBasicAuth("kycflow-dev", "kycflow-dev-api-key")
		res := e.send(req)
		require.Equal(t, http.StatusBadRequest, res.status)
		assert.Equal(t, "unsupported_grant_type", res.json()["error"])
	})

	t.Run("token expires on the simulated clock", func(t *testing.T) {
		e.sim.Advance(1201 * time.Second)
		res := e.api("GET", "/sca/users/"+userID, nil)
		require.Equal(t, http.StatusUnauthorized, res.status)
		e.tok = e.token()
		require.Equal(t, http.StatusOK, e.api("GET", "/sca/users/"+userID, nil).status)
	})

	t.Run("another ClientId in the path", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v2.01/other-client/sca/users/"+userID, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.tok)
		assert.Equal(t, http.StatusUnauthorized, e.send(req).status)
	})
}

func TestRouting(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	docID := e.mustID(e.api("POST", "/users/"+userID+"/kyc/documents", map[string]any{"Type": "IDENTITY_PROOF"}))

	tests := []struct {
		name, method, path string
		want               int
	}{
		{"docs spelling", "GET", "/kyc/documents/" + docID, http.StatusOK},
		{"SDK upper-case KYC", "GET", "/KYC/documents/" + docID, http.StatusOK},
		{"trailing slash", "GET", "/users/" + userID + "/KYC/documents/", http.StatusOK},
		{"IDs are case-sensitive", "GET", "/kyc/documents/" + strings.ToLower(docID), http.StatusNotFound},
		{"unknown path", "GET", "/nothing/here", http.StatusNotFound},
		{"wrong method", "DELETE", "/kyc/documents/" + docID, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.api(tt.method, tt.path, nil)
			assert.Equal(t, tt.want, res.status, string(res.body))
			// Every API answer carries the four rate-limit windows.
			assert.Len(t, strings.Split(res.header.Get("X-RateLimit"), ","), 4)
			assert.Len(t, strings.Split(res.header.Get("X-RateLimit-Remaining"), ","), 4)
			assert.Len(t, strings.Split(res.header.Get("X-RateLimit-Reset"), ","), 4)
		})
	}
}

func TestRateLimitEnforced(t *testing.T) {
	set := fastSettings()
	set.RateLimitEnforced = true
	set.RateLimits = [4]int{3, 100, 100, 100}
	e := newEnv(t, set) // the token call is the first of the window
	userID := e.natural()
	res := e.api("GET", "/sca/users/"+userID, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "0, 97, 97, 97", res.header.Get("X-RateLimit-Remaining"))
	res = e.api("GET", "/sca/users/"+userID, nil)
	require.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Equal(t, "rate_limit", res.json()["Type"])

	e.sim.Advance(15 * time.Minute)
	assert.Equal(t, http.StatusOK, e.api("GET", "/sca/users/"+userID, nil).status, "a new window opens")
}

func TestUserCreation(t *testing.T) {
	e := newEnv(t, fastSettings())
	without := func(m map[string]any, key string) map[string]any { delete(m, key); return m }
	with := func(m map[string]any, key string, v any) map[string]any { m[key] = v; return m }

	tests := []struct {
		name     string
		path     string
		body     any
		status   int
		errType  string
		errField string
		check    func(t *testing.T, u map[string]any)
	}{
		{name: "natural owner with SCA bypass", path: "/sca/users/natural", body: naturalOwner(), status: 200, check: func(t *testing.T, u map[string]any) {
			assert.Equal(t, "ACTIVE", u["UserStatus"])
			assert.Nil(t, u["PendingUserAction"])
			assert.Equal(t, "LIGHT", u["KYCLevel"])
			assert.True(t, strings.HasPrefix(u["Id"].(string), "user_m_"))
		}},
		{name: "natural owner must enrol in SCA", path: "/sca/users/natural", body: with(naturalOwner(), "Email", "alex@example.com"), status: 200, check: func(t *testing.T, u map[string]any) {
			assert.Equal(t, "PENDING_USER_ACTION", u["UserStatus"])
			assert.Contains(t, u["PendingUserAction"].(map[string]any)["RedirectUrl"], "/sca?token=")
		}},
		{name: "legacy natural has no PendingUserAction", path: "/users/natural", body: naturalOwner(), status: 200, check: func(t *testing.T, u map[string]any) {
			assert.NotContains(t, u, "PendingUserAction")
		}},
		{name: "missing FirstName", path: "/sca/users/natural", body: without(naturalOwner(), "FirstName"), status: 400, errType: "param_error", errField: "FirstName"},
		{name: "owner without Birthday", path: "/sca/users/natural", body: without(naturalOwner(), "Birthday"), status: 400, errType: "param_error", errField: "Birthday"},
		{name: "bad email", path: "/sca/users/natural", body: with(naturalOwner(), "Email", "nope"), status: 400, errType: "param_error", errField: "Email"},
		{name: "owner must accept terms", path: "/sca/users/natural", body: with(naturalOwner(), "TermsAndConditionsAccepted", false), status: 403, errType: "user_hasnt_accepted_terms_and_conditions"},
		{name: "payer needs no birthday", path: "/sca/users/natural", body: map[string]any{"FirstName": "A", "LastName": "B", "Email": "a@example.com", "UserCategory": "PAYER", "TermsAndConditionsAccepted": false}, status: 200},
		{name: "not JSON", path: "/sca/users/natural", body: "{", status: 400, errType: "param_error"},
		{name: "legal SCA nested representative", path: "/sca/users/legal", body: legalOwner("BUSINESS"), status: 200, check: func(t *testing.T, u map[string]any) {
			assert.Equal(t, "Alex", u["LegalRepresentative"].(map[string]any)["FirstName"])
			assert.Equal(t, "LEGAL", u["PersonType"])
		}},
		{name: "legal owner representative email required", path: "/sca/users/legal", body: func() map[string]any {
			b := legalOwner("BUSINESS")
			delete(b["LegalRepresentative"].(map[string]any), "Email")
			return b
		}(), status: 400, errType: "param_error", errField: "LegalRepresentative.Email"},
		{name: "business owner needs CompanyNumber", path: "/sca/users/legal", body: without(legalOwner("BUSINESS"), "CompanyNumber"), status: 400, errType: "param_error", errField: "CompanyNumber"},
		{name: "legacy legal is flat", path: "/users/legal", body: map[string]any{
			"Name": "Shop", "LegalPersonType": "SOLETRADER", "Email": "shop@example.com", "UserCategory": "PAYER", "TermsAndConditionsAccepted": false,
			"LegalRepresentativeFirstName": "Alex", "LegalRepresentativeLastName": "Smith",
		}, status: 200, check: func(t *testing.T, u map[string]any) {
			assert.Equal(t, "Alex", u["LegalRepresentativeFirstName"])
			assert.NotContains(t, u, "LegalRepresentative")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.api("POST", tt.path, tt.body)
			require.Equal(t, tt.status, res.status, string(res.body))
			body := res.json()
			if tt.errType != "" {
				assert.Equal(t, tt.errType, body["Type"])
				assert.NotEmpty(t, body["Id"])
			}
			if tt.errField != "" {
				assert.Contains(t, body["errors"], tt.errField)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}

	t.Run("views", func(t *testing.T) {
		id := e.legal("SOLETRADER")
		sca := e.api("GET", "/sca/users/"+id, nil).json()
		assert.Contains(t, sca, "LegalRepresentative")
		assert.Nil(t, sca["PendingUserAction"], "the view never returns the SCA link")
		legacy := e.api("GET", "/users/"+id, nil).json()
		assert.Equal(t, "Alex", legacy["LegalRepresentativeFirstName"])
		for path, want := range map[string]int{
			"/sca/users/legal/" + id: 200, "/users/legal/" + id: 200, "/sca/users/natural/" + id: 404, "/users/natural/" + id: 404,
		} {
			assert.Equal(t, want, e.api("GET", path, nil).status, "typed getter %s", path)
		}
		res := e.api("GET", "/users/user_m_unknown", nil)
		assert.Equal(t, http.StatusNotFound, res.status)
		assert.Equal(t, "ressource_not_found", res.json()["Type"])
	})
}

func TestSCALinkActivatesUser(t *testing.T) {
	e := newEnv(t, fastSettings())
	body := naturalOwner()
	body["Email"] = "alex@example.com"
	u := e.api("POST", "/sca/users/natural", body).json()
	link := u["PendingUserAction"].(map[string]any)["RedirectUrl"].(string)
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, e.send(req).status)
	assert.Equal(t, "ACTIVE", e.api("GET", "/sca/users/"+u["Id"].(string), nil).json()["UserStatus"])
	assert.Equal(t, http.StatusNotFound, e.send(req).status, "a link works once")
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	path := "/users/" + userID + "/identity-verifications"
	body := map[string]any{"ReturnUrl": "https://example.com/back"}

	t.Run("reuse is blocked and the first response is kept", func(t *testing.T) {
		key := "kyc-test-key-000001"
		first := e.api("POST", path, body, "Idempotency-Key", key)
		require.Equal(t, http.StatusOK, first.status)
		again := e.api("POST", path, body, "Idempotency-Key", key)
		require.Equal(t, http.StatusConflict, again.status)
		assert.Equal(t, "idempotent_creation_conflict", again.json()["Type"])

		env := e.api("GET", "/responses/"+key, nil)
		require.Equal(t, http.StatusOK, env.status)
		got := env.json()
		assert.Equal(t, "200", got["StatusCode"], "StatusCode is a string on the wire")
		assert.IsType(t, "", got["ContentLength"])
		_, err := time.Parse(http.TimeFormat, got["Date"].(string))
		assert.NoError(t, err, "Date is RFC 1123")
		assert.Equal(t, first.json()["Id"], got["Resource"].(map[string]any)["Id"])
		assert.Len(t, e.api("GET", path, nil).list(), 1, "one session only")
	})

	t.Run("a key used on a failed call stays blocked and keeps the error", func(t *testing.T) {
		key := "kyc-test-key-000002"
		first := e.api("POST", path, map[string]any{}, "Idempotency-Key", key)
		require.Equal(t, http.StatusBadRequest, first.status)
		require.Equal(t, http.StatusConflict, e.api("POST", path, body, "Idempotency-Key", key).status)
		got := e.api("GET", "/responses/"+key, nil).json()
		assert.Equal(t, "400", got["StatusCode"])
		assert.Equal(t, "param_error", got["Resource"].(map[string]any)["Type"])
	})

	t.Run("keys expire after 24 hours", func(t *testing.T) {
		key := "kyc-test-key-000003"
		require.Equal(t, http.StatusOK, e.api("POST", path, body, "Idempotency-Key", key).status)
		e.sim.Advance(24*time.Hour + time.Second)
		e.tok = e.token()
		assert.Equal(t, http.StatusNotFound, e.api("GET", "/responses/"+key, nil).status)
		assert.Equal(t, http.StatusOK, e.api("POST", path, body, "Idempotency-Key", key).status)
	})

	for _, key := range []string{"short", "has spaces in it......", strings.Repeat("a", 37), "ünïcode-ünïcode-ünïcode"} {
		t.Run("bad key "+key, func(t *testing.T) {
			res := e.api("POST", path, body, "Idempotency-Key", key)
			require.Equal(t, http.StatusBadRequest, res.status)
			assert.Contains(t, res.json()["errors"], "Idempotency-Key")
		})
	}

	t.Run("unknown key", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, e.api("GET", "/responses/never-used-key-0001", nil).status)
	})
}

func TestPagination(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	for range 12 {
		e.session(userID)
	}
	path := "/users/" + userID + "/identity-verifications"
	tests := []struct {
		query     string
		status    int
		wantItems int
	}{
		{"", 200, 10},
		{"?page=2", 200, 2},
		{"?page=3", 200, 0},
		{"?page=1&per_page=5", 200, 5},
		{"?per_page=100", 200, 12},
		{"?Page=2&Per_Page=5", 200, 5}, // the Node SDK's spelling
		{"?per_page=101", 400, 0},
		{"?page=0", 400, 0},
		{"?page=x", 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := e.api("GET", path+tt.query, nil)
			require.Equal(t, tt.status, res.status, string(res.body))
			if tt.status != 200 {
				return
			}
			assert.Len(t, res.list(), tt.wantItems)
			assert.Equal(t, "12", res.header.Get("X-Number-Of-Items"))
		})
	}
	t.Run("list items have the reduced shape", func(t *testing.T) {
		item := e.api("GET", path+"?per_page=1", nil).list()[0]
		assert.ElementsMatch(t, []string{"Id", "Status", "CreationDate", "LastUpdate"}, keys(item))
		assert.Nil(t, item["LastUpdate"], "never updated")
	})
	t.Run("sort descending", func(t *testing.T) {
		asc := e.api("GET", path+"?per_page=100", nil).list()
		desc := e.api("GET", path+"?per_page=100&Sort=CreationDate:DESC", nil).list()
		assert.Equal(t, asc[0]["Id"], desc[len(desc)-1]["Id"])
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
