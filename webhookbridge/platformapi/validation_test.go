package platformapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"
)

func TestInternalAPIAuthentication(t *testing.T) {
	r := newRouter(t, strictTemporal(t))
	routes := []struct{ method, target string }{
		{http.MethodPost, "/v1/onboardings"},
		{http.MethodGet, "/v1/onboardings/123"},
		{http.MethodPost, "/v1/onboardings/123/documents"},
		{http.MethodPost, "/v1/onboardings/123/cancel"},
	}
	auths := []struct{ name, header string }{
		{"no Authorization", ""},
		{"wrong token", "Bearer " + testAPIToken + "x"},
		{"token prefix", "Bearer " + testAPIToken[:10]},
		{"empty bearer", "Bearer "},
		{"basic scheme", "Basic " + testAPIToken},
		{"token without scheme", testAPIToken},
	}
	for _, rt := range routes {
		for _, a := range auths {
			t.Run(rt.method+" "+rt.target+" "+a.name, func(t *testing.T) {
				req := httptest.NewRequest(rt.method, rt.target, strings.NewReader(`{}`))
				if a.header != "" {
					req.Header.Set("Authorization", a.header)
				}
				w := serve(r, req)
				require.Equal(t, http.StatusUnauthorized, w.Code)
				assert.Equal(t, `Bearer realm="kycflow"`, w.Header().Get("WWW-Authenticate"))
				assert.NotEmpty(t, decodeError(t, w).Error)
			})
		}
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/v1/onboardings/bad.id", nil)
		req.Header.Set("Authorization", "bearer "+testAPIToken)
		assert.Equal(t, http.StatusBadRequest, serve(r, req).Code, "authenticated, then refused for the user id")
	})
}

func TestCreateOnboardingValidation(t *testing.T) {
	r := newRouter(t, strictTemporal(t))
	okURL := `"ReturnUrl":"https://platform.example/kyc/done"`
	tests := []struct {
		name      string
		body      string
		wantField string // the Field of the error; empty for body-level errors
		wantMsg   string
	}{
		{"UserId missing", `{` + okURL + `}`, "UserId", "UserId"},
		{"UserId empty", `{"UserId":"",` + okURL + `}`, "UserId", "UserId"},
		{"UserId with a slash", `{"UserId":"../12",` + okURL + `}`, "UserId", "UserId"},
		{"UserId with a space", `{"UserId":"1 2",` + okURL + `}`, "UserId", "UserId"},
		{"UserId too long", `{"UserId":"` + strings.Repeat("1", 129) + `",` + okURL + `}`, "UserId", "UserId"},
		{"UserId a number", `{"UserId":123,` + okURL + `}`, "UserId", "UserId"},
		{"ReturnUrl missing", `{"UserId":"123"}`, "ReturnUrl", "ReturnUrl"},
		{"ReturnUrl relative", `{"UserId":"123","ReturnUrl":"/kyc/done"}`, "ReturnUrl", "ReturnUrl"},
		{"ReturnUrl javascript", `{"UserId":"123","ReturnUrl":"javascript:alert(1)"}`, "ReturnUrl", "ReturnUrl"},
		{"ReturnUrl ftp", `{"UserId":"123","ReturnUrl":"ftp://platform.example/"}`, "ReturnUrl", "ReturnUrl"},
		{"ReturnUrl too long", `{"UserId":"123","ReturnUrl":"https://platform.example/` + strings.Repeat("a", 3000) + `"}`, "ReturnUrl", "ReturnUrl"},
		{"Tag too long", `{"UserId":"123",` + okURL + `,"Tag":"` + strings.Repeat("t", 256) + `"}`, "Tag", "Tag"},
		{"unknown field", `{"UserId":"123",` + okURL + `,"Tags":"a"}`, "Tags", "Tags"},
		{"misspelt ReturnUrl", `{"UserId":"123","ReturnUri":"https://platform.example/"}`, "ReturnUri", "ReturnUri"},
		// encoding/json's leniencies, which would reach Temporal.
		{"trailing garbage", `{"UserId":"123",` + okURL + `}garbage`, "", "after the JSON object"},
		{"a second object", `{"UserId":"123",` + okURL + `}{"UserId":"456"}`, "", "after the JSON object"},
		{"key in lower case", `{"userid":"123",` + okURL + `}`, "UserId", "case-sensitive"},
		{"key in upper case", `{"UserId":"123","RETURNURL":"https://platform.example/kyc/done"}`, "ReturnUrl", "case-sensitive"},
		{"duplicate key", `{"UserId":"123","UserId":"456",` + okURL + `}`, "UserId", "more than once"},
		{"duplicate key, other case", `{"UserId":"123","userId":"456",` + okURL + `}`, "UserId", "case-sensitive"},
		{"not JSON", `UserId=123`, "", "invalid JSON"},
		{"empty body", ``, "", "invalid JSON"},
		{"JSON array", `[]`, "", "JSON object"},
		{"body too large", `{"UserId":"123",` + okURL + `,"Tag":"` + strings.Repeat("t", 70<<10) + `"}`, "", "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings", strings.NewReader(tt.body)))
			want := http.StatusBadRequest
			if tt.name == "body too large" {
				want = http.StatusRequestEntityTooLarge
			}
			require.Equal(t, want, w.Code, "body %s", w.Body)
			got := decodeError(t, w)
			assert.Equal(t, tt.wantField, got.Field)
			assert.Contains(t, got.Error, tt.wantMsg, "the error should name the field")
		})
	}
	t.Run("Tag of 255 passes validation", func(t *testing.T) {
		tc := &mocks.Client{}
		tc.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil)
		tc.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(nil, serviceerror.NewUnavailable("test: Temporal is away"))
		body := `{"UserId":"123",` + okURL + `,"Tag":"` + strings.Repeat("t", 255) + `"}`
		w := serve(newRouter(t, tc), apiRequest(http.MethodPost, "/v1/onboardings", strings.NewReader(body)))
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "valid, then Temporal is away; body %s", w.Body)
		tc.AssertExpectations(t)
	})
}

func TestPathUserValidation(t *testing.T) {
	r := newRouter(t, strictTemporal(t))
	for _, target := range []string{
		"/v1/onboardings/a.b",
		"/v1/onboardings/a%20b",
		"/v1/onboardings/" + strings.Repeat("9", 129),
		"/v1/onboardings/a%3Bb/cancel",
		"/v1/onboardings/%3Cscript%3E/documents",
	} {
		t.Run(target, func(t *testing.T) {
			method := http.MethodPost
			if !strings.HasSuffix(target, "/cancel") && !strings.HasSuffix(target, "/documents") {
				method = http.MethodGet
			}
			w := serve(r, apiRequest(method, target, nil))
			require.Equal(t, http.StatusBadRequest, w.Code, "body %s", w.Body)
			assert.Equal(t, "UserId", decodeError(t, w).Field)
		})
	}
	t.Run("cancel with an unknown field", func(t *testing.T) {
		w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/123/cancel", strings.NewReader(`{"Reson":"typo"}`)))
		require.Equal(t, http.StatusBadRequest, w.Code)
		assert.Contains(t, decodeError(t, w).Error, "Reson")
	})
}

// TestCancelBodyIsStrict: the cancel body is held to the same strict JSON
// as onboarding creation, before Temporal is called.
func TestCancelBodyIsStrict(t *testing.T) {
	r := newRouter(t, strictTemporal(t))
	for name, tt := range map[string]struct{ body, field, msg string }{
		"key in lower case": {`{"reason":"closed"}`, "Reason", "case-sensitive"},
		"duplicate key":     {`{"Reason":"a","Reason":"b"}`, "Reason", "more than once"},
		"trailing garbage":  {`{"Reason":"a"} x`, "", "after the JSON object"},
		"unknown field":     {`{"Reason":"a","Force":true}`, "Force", "unknown field"},
		"Reason a number":   {`{"Reason":1}`, "Reason", "Reason"},
	} {
		t.Run(name, func(t *testing.T) {
			w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/123/cancel", strings.NewReader(tt.body)))
			require.Equal(t, http.StatusBadRequest, w.Code, "body %s", w.Body)
			got := decodeError(t, w)
			assert.Equal(t, tt.field, got.Field)
			assert.Contains(t, got.Error, tt.msg)
		})
	}
}

// TestPlatformCancelReasonIsValidated: the platform's cancel Reason goes into
// the timeline and the Web UI like an operator's, so it is checked the same
// way; a bad one never reaches the workflow.
func TestPlatformCancelReasonIsValidated(t *testing.T) {
	r := newRouter(t, strictTemporal(t))
	for name, reason := range map[string]string{
		"a line forging a transition": "x\n- 2026-01-01T00:00:00Z FAILED → VERIFIED · operator:alice reopen (approved)",
		"terminal escapes and a NUL":  "\u001b[2J\u001b[31mcancelled by operator:alice\u0000",
		"too long":                    strings.Repeat("é", 501),
	} {
		t.Run(name, func(t *testing.T) {
			body, err := json.Marshal(map[string]string{"Reason": reason})
			require.NoError(t, err)
			w := serve(r, apiRequest(http.MethodPost, "/v1/onboardings/u1/cancel", bytes.NewReader(body)))
			assert.Equal(t, http.StatusBadRequest, w.Code, "body %s", w.Body)
			assert.Contains(t, w.Body.String(), `"Field":"Reason"`)
		})
	}
}

// TestUnclassifiedErrorsAreNotEchoed: an error the API cannot classify may
// name what is inside (a payload key's ID): the caller gets a generic
// answer with the request ID, the log gets the detail.
func TestUnclassifiedErrorsAreNotEchoed(t *testing.T) {
	tc := &mocks.Client{}
	tc.On("QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, errors.New("payload codec: no key with id 3f2a9c for this payload"))
	tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, mock.Anything).
		Return(nil, errors.New("payload codec: no key with id 3f2a9c for this payload")).Maybe()
	req := apiRequest(http.MethodGet, "/v1/onboardings/123", nil)
	req.Header.Set("X-Request-Id", "req-42")
	w := serve(newRouter(t, tc), req)
	assert.Equal(t, http.StatusBadGateway, w.Code, "body %s", w.Body)
	assert.NotContains(t, w.Body.String(), "3f2a9c")
	assert.NotContains(t, w.Body.String(), "payload codec")
	assert.Contains(t, w.Body.String(), "req-42")
}
