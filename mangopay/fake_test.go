package mangopay_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

const (
	testClientID = "kycflow-test"
	testAPIKey   = "test-api-key"
)

// recorded is one business request the fake received.
type recorded struct {
	Method  string
	Path    string // escaped path after /v2.01/{ClientId}
	Query   string
	Header  http.Header
	Body    string
	Token   string
	Attempt int
}

// fakeMangopay is a minimal Mangopay API: an OAuth token endpoint plus
// per-test routes. Every business request must carry a token it issued and
// has not revoked, or it answers 401 invalid_credentials.
type fakeMangopay struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	expiresIn  int
	tokenCalls int
	tokenFail  func(w http.ResponseWriter) bool // when it returns true, the token call failed
	issued     map[string]bool
	revoked    map[string]bool
	routes     map[string]http.HandlerFunc
	requests   []recorded
	headers    http.Header // added to every response
}

// newFake starts a fake served over plain HTTP.
func newFake(t *testing.T) *fakeMangopay {
	t.Helper()
	f := &fakeMangopay{
		t:         t,
		expiresIn: 3600,
		issued:    map[string]bool{},
		revoked:   map[string]bool{},
		routes:    map[string]http.HandlerFunc{},
		headers:   http.Header{},
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a mangopay.Client pointed at the fake.
func (f *fakeMangopay) client(t *testing.T) *mangopay.Client {
	t.Helper()
	c, err := mangopay.New(mangopay.Config{BaseURL: f.srv.URL, ClientID: testClientID, APIKey: testAPIKey})
	require.NoError(t, err)
	return c
}

// handle registers h for "METHOD /escaped/path" (after /v2.01/{ClientId}).
func (f *fakeMangopay) handle(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
}

// serve registers a route answering status with a testdata fixture (or no
// body when fixture is empty).
func (f *fakeMangopay) serve(route string, status int, fixture string) {
	f.handle(route, respond(f.t, status, fixture))
}

// respond returns a handler writing status and a testdata fixture.
func respond(t *testing.T, status int, fixture string) http.HandlerFunc {
	var body []byte
	if fixture != "" {
		body = readFixture(t, fixture)
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		if body != nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// readFixture returns testdata/name.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// revoke makes the fake reject tok from now on.
func (f *fakeMangopay) revoke(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[tok] = true
}

// setExpiresIn sets the expires_in of tokens issued from now on.
func (f *fakeMangopay) setExpiresIn(s int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expiresIn = s
}

// tokenCount returns how many times the token endpoint was called.
func (f *fakeMangopay) tokenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls
}

// recordedRequests returns a copy of the business requests received.
func (f *fakeMangopay) recordedRequests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// requestCount returns how many business requests were received.
func (f *fakeMangopay) requestCount() int {
	return len(f.recordedRequests())
}

// ServeHTTP implements http.Handler.
func (f *fakeMangopay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	for k, vs := range f.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	f.mu.Unlock()

	if r.URL.Path == "/v2.01/oauth/token" {
		f.serveToken(w, r)
		return
	}
	prefix := "/v2.01/" + testClientID
	escaped := r.URL.EscapedPath()
	if !strings.HasPrefix(escaped, prefix+"/") {
		http.Error(w, "unexpected path "+escaped, http.StatusTeapot)
		return
	}
	path := strings.TrimPrefix(escaped, prefix)
	body, _ := io.ReadAll(r.Body)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")

	f.mu.Lock()
	f.requests = append(f.requests, recorded{
		Method: r.Method, Path: path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body), Token: tok,
	})
	valid := f.issued[tok] && !f.revoked[tok]
	h := f.routes[r.Method+" "+path]
	f.mu.Unlock()

	if !valid {
		respond(f.t, http.StatusUnauthorized, "error_401_invalid_credentials.json")(w, r)
		return
	}
	if h == nil {
		respond(f.t, http.StatusNotFound, "error_404_not_found.json")(w, r)
		return
	}
	h(w, r)
}

// serveToken implements POST /v2.01/oauth/token.
func (f *fakeMangopay) serveToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.tokenCalls++
	n := f.tokenCalls
	expiresIn := f.expiresIn
	fail := f.tokenFail
	f.mu.Unlock()

	id, key, ok := r.BasicAuth()
	if r.Method != http.MethodPost || !ok || id != testClientID || key != testAPIKey ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		respond(f.t, http.StatusBadRequest, "error_400_oauth_invalid_client.json")(w, r)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	if fail != nil && fail(w) {
		return
	}
	tok := fmt.Sprintf("tok-%d", n)
	f.mu.Lock()
	f.issued[tok] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": expiresIn})
}

// newHTTPServer starts an httptest server closed at the end of the test.
func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
