package apicontract_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/apicontract"
)

func loadRepo(t *testing.T) *apicontract.Contract {
	t.Helper()
	c, err := apicontract.LoadRepo()
	require.NoError(t, err)
	return c
}

func request(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer t0ken")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json; charset=utf-8"}}
}

// TestTheDocumentLoads: the published document is valid OpenAPI 3.1 and has
// what the platform relies on.
func TestTheDocumentLoads(t *testing.T) {
	c := loadRepo(t)
	assert.Contains(t, c.Operations(), "createOnboarding")
	assert.Contains(t, c.Webhooks(), "onboarding.verified")
}

// TestCheck shows what the checker accepts and what it reports, on
// exchanges written by hand.
func TestCheck(t *testing.T) {
	const create = `{"UserId":"user_1","ReturnUrl":"https://platform.example/done"}`
	const answer = `{"UserId":"user_1","Status":"AWAITING_USER","IdvSessionId":"idnver_1","HostedUrl":"https://idv.example/x","ExpiresAt":"2026-12-14T10:00:00Z","Attempt":1}`
	tests := map[string]struct {
		req     *http.Request
		status  int
		header  http.Header
		body    string
		wantErr string
	}{
		"a documented exchange": {
			req: request("POST", "/v1/onboardings", create), status: 200, header: jsonHeader(), body: answer,
		},
		"the 202 STARTING answer": {
			req: request("POST", "/v1/onboardings", create), status: 202,
			header: http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Location": {"/v1/onboardings/user_1"}},
			body:   `{"UserId":"user_1","Status":"STARTING","Attempt":0}`,
		},
		"a bad request answered 400": {
			req: request("POST", "/v1/onboardings", `{"userid":"x"}`), status: 400, header: jsonHeader(),
			body: `{"Error":"unknown field","Field":"UserId"}`,
		},
		"no token answered 401": {
			req: func() *http.Request {
				r := request("GET", "/v1/onboardings/user_1", "")
				r.Header.Del("Authorization")
				return r
			}(),
			status: 401, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Www-Authenticate": {"Bearer"}},
			body: `{"Error":"a valid bearer token is required"}`,
		},
		"a bad request answered 200": {
			req: request("POST", "/v1/onboardings", `{"userid":"x"}`), status: 200, header: jsonHeader(), body: answer,
			wantErr: "the document refuses the request",
		},
		"an undocumented field in the answer": {
			req: request("POST", "/v1/onboardings", create), status: 200, header: jsonHeader(),
			body:    strings.Replace(answer, `"Attempt":1`, `"Attempt":1,"Extra":true`, 1),
			wantErr: "disagrees",
		},
		"a status the document does not list": {
			req: request("POST", "/v1/onboardings", create), status: 418, header: jsonHeader(), body: `{"Error":"teapot"}`,
			wantErr: "status is not supported",
		},
		"an error body of another shape": {
			req: request("GET", "/v1/onboardings/user_1", ""), status: 404, header: jsonHeader(), body: `{"error":"no onboarding"}`,
			wantErr: "disagrees",
		},
		"a path outside the document answered 200": {
			req: request("GET", "/v1/secret", ""), status: 200, header: jsonHeader(), body: `{}`,
			wantErr: "not in docs/openapi.yaml",
		},
		"a path outside the document answered 404": {
			req: request("GET", "/v1/secret", ""), status: 404, header: http.Header{"Content-Type": {"text/plain"}}, body: `404 page not found`,
		},
		"a 202 UPLOADING without its Location": {
			req: request("GET", "/v1/onboardings/user_1/documents/key-1", ""), status: 202, header: jsonHeader(),
			body:    `{"Status":"UPLOADING","IdempotencyKey":"key-1"}`,
			wantErr: "missing",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := loadRepo(t)
			err := c.Check(tt.req, readAll(t, tt.req), tt.status, tt.header, []byte(tt.body))
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Empty(t, c.Violations())
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Len(t, c.Violations(), 1)
		})
	}
}

func readAll(t *testing.T, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return b
}

// TestUnexercised: an operation no exchange reached is reported.
func TestUnexercised(t *testing.T) {
	c := loadRepo(t)
	require.Equal(t, c.Operations(), c.Unexercised())
	r := request("GET", "/healthz", "")
	require.NoError(t, c.Check(r, nil, 200, jsonHeader(), []byte(`{"Status":"ok"}`)))
	assert.NotContains(t, c.Unexercised(), "healthz")
	assert.Len(t, c.Unexercised(), len(c.Operations())-1)
}

// TestAWrongDocumentIsRefused: a document that is not valid OpenAPI 3.1 does
// not load.
func TestAWrongDocumentIsRefused(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", apicontract.DocPath))
	require.NoError(t, err)
	for name, doc := range map[string]string{
		"OpenAPI 3.0":          strings.Replace(string(src), "openapi: 3.1.0", "openapi: 3.0.3", 1),
		"a dangling $ref":      strings.Replace(string(src), "#/components/schemas/State'", "#/components/schemas/Nothing'", 1),
		"a response no schema": strings.Replace(string(src), "'200':\n          description: The onboarding's state.", "'200':\n          descriptio: The onboarding's state.", 1),
	} {
		t.Run(name, func(t *testing.T) {
			require.NotEqual(t, string(src), doc, "the test's edit did not apply")
			path := filepath.Join(t.TempDir(), "openapi.yaml")
			require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
			_, err := apicontract.Load(path)
			assert.Error(t, err)
		})
	}
}
