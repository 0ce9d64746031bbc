package platformapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/kycflow/kycflow/internal/apicontract"
	"github.com/kycflow/kycflow/internal/httpapi"
	"github.com/kycflow/kycflow/webhookbridge/platformapi"
)

// The API's bearer token in these tests.
const testAPIToken = "test-api-token-0123456789abcdef"

// contract is docs/openapi.yaml: every exchange of these tests is checked
// against it, and TestMain fails the run on any disagreement. (Whether every
// operation is exercised is checked by the bridge's tests, which run the
// whole internal listener against a real workflow.)
var contract, contractErr = apicontract.LoadRepo()

func TestMain(m *testing.M) {
	code := m.Run()
	switch {
	case contractErr != nil:
		fmt.Fprintf(os.Stderr, "API contract: %v\n", contractErr)
		code = 1
	case len(contract.Violations()) > 0:
		fmt.Fprintf(os.Stderr, "API contract: exchanges disagree with the document:\n  %v\n", contract.Violations())
		code = 1
	}
	os.Exit(code)
}

// newRouter serves the API on tc as the bridge's internal listener does
// (the shared engine, the API under /v1), each exchange checked against
// the contract.
func newRouter(t *testing.T, tc client.Client) http.Handler {
	t.Helper()
	require.NoError(t, contractErr)
	r := httpapi.Engine(slog.New(slog.DiscardHandler), nil)
	api := &platformapi.API{Temporal: tc, Logger: slog.New(slog.DiscardHandler), Token: testAPIToken}
	api.Register(r, contract.Middleware())
	return r
}

// apiRequest builds a platform API request with the test bearer token.
func apiRequest(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Header.Set("Authorization", "Bearer "+testAPIToken)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// serve runs one request through h and returns the recorder.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeError reads the API's JSON error body.
func decodeError(t testing.TB, w *httptest.ResponseRecorder) httpapi.Error {
	t.Helper()
	require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"), "body %s", w.Body)
	var body httpapi.Error
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), "JSON error body: %s", w.Body)
	return body
}

// strictTemporal is a Temporal client that fails the test on any call: the
// requests under test must be answered before reaching Temporal.
func strictTemporal(t *testing.T) *mocks.Client {
	c := &mocks.Client{}
	t.Cleanup(func() { c.AssertExpectations(t) })
	return c
}
