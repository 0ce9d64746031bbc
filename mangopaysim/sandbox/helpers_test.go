package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// simEnv is a Sandbox served over real HTTP on loopback, with a token.
type simEnv struct {
	t   testing.TB
	sim *sandbox.Sandbox
	srv *httptest.Server
	tok string
}

// fastSettings makes outcomes and KYC processing land as soon as the
// scheduler runs, so tests drive time with Advance instead of sleeping.
func fastSettings() sandbox.Settings {
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds = 0
	set.KycProcessingDelaySeconds = 0
	set.RateLimitEnforced = false
	return set
}

func newEnv(t testing.TB, set sandbox.Settings) *simEnv {
	t.Helper()
	e := &simEnv{t: t}
	// The handler is wrapped so the Sandbox can learn its own URL for HostedUrl links.
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	e.sim = sandbox.New(sandbox.Config{PublicURL: e.srv.URL, Settings: set, Seed: 42})
	h = e.sim.Handler()
	t.Cleanup(func() { e.srv.Close(); e.sim.Close() })
	e.tok = e.token()
	return e
}

func (e *simEnv) token() string {
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v2.01/oauth/token", strings.NewReader("grant_type=client_credentials"))
	require.NoError(e.t, err)
	req.SetBasicAuth(sandbox.DefaultClientID, sandbox.DefaultAPIKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res := e.send(req)
	require.Equal(e.t, http.StatusOK, res.status, string(res.body))
	return res.json()["access_token"].(string)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		panic("not a JSON object: " + string(r.body))
	}
	return m
}

func (r response) list() []map[string]any {
	var l []map[string]any
	if err := json.Unmarshal(r.body, &l); err != nil {
		panic("not a JSON array: " + string(r.body))
	}
	return l
}

func (e *simEnv) send(req *http.Request) response {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// api calls /v2.01/{ClientId}{path} with the bearer token.
func (e *simEnv) api(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/v2.01/"+sandbox.DefaultClientID+path, rd)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+e.tok)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.send(req)
}

// ctl calls the control API.
func (e *simEnv) ctl(method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		require.NoError(e.t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	return e.send(req)
}

func (e *simEnv) mustID(res response) string {
	e.t.Helper()
	require.Equal(e.t, http.StatusOK, res.status, string(res.body))
	return res.json()["Id"].(string)
}

// Users of each kind, owners with the SCA bypass unless said otherwise.
func naturalOwner() map[string]any {
	return map[string]any{
		"FirstName": "Alex", "LastName": "Smith", "Email": "alex+accept@example.com", "UserCategory": "OWNER",
		"TermsAndConditionsAccepted": true, "Birthday": 652117514, "Nationality": "FR", "CountryOfResidence": "FR",
	}
}

func legalOwner(kind string) map[string]any {
	return map[string]any{
		"Name": "Alex Smith Services", "LegalPersonType": kind, "Email": "contact@example.com", "UserCategory": "OWNER",
		"TermsAndConditionsAccepted": true, "CompanyNumber": "123456789",
		"LegalRepresentative": map[string]any{
			"FirstName": "Alex", "LastName": "Smith", "Birthday": 652117514, "Nationality": "FR",
			"CountryOfResidence": "FR", "Email": "alex+accept@example.com",
		},
		"HeadquartersAddress": map[string]any{"AddressLine1": "3 rue de la Cité", "City": "Paris", "PostalCode": "75004", "Country": "FR"},
	}
}

func (e *simEnv) natural() string {
	return e.mustID(e.api("POST", "/sca/users/natural", naturalOwner()))
}

func (e *simEnv) legal(kind string) string {
	return e.mustID(e.api("POST", "/sca/users/legal", legalOwner(kind)))
}

func (e *simEnv) session(userID string) map[string]any {
	e.t.Helper()
	res := e.api("POST", "/users/"+userID+"/identity-verifications", map[string]any{"ReturnUrl": "https://example.com/back"})
	require.Equal(e.t, http.StatusOK, res.status, string(res.body))
	return res.json()
}

// hookSink records webhook notifications and answers with a settable status.
type hookSink struct {
	mu     sync.Mutex
	got    []map[string]string
	status int
	srv    *httptest.Server
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{status: http.StatusOK}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		h.mu.Lock()
		h.got = append(h.got, map[string]string{"Method": r.Method, "EventType": q.Get("EventType"), "RessourceId": q.Get("RessourceId"), "Date": q.Get("Date")})
		status := h.status
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) setStatus(code int) {
	h.mu.Lock()
	h.status = code
	h.mu.Unlock()
}

func (h *hookSink) received() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]string(nil), h.got...)
}

// waitDeliveries waits until the delivery log has n entries for the filter.
// Deliveries are real HTTP calls made in the background.
func (e *simEnv) waitDeliveries(eventType string, n int) []sandbox.Delivery {
	e.t.Helper()
	var got []sandbox.Delivery
	require.Eventually(e.t, func() bool {
		got = e.sim.Deliveries(eventType, "")
		return len(got) >= n
	}, 10*time.Second, 5*time.Millisecond, "waiting for %d deliveries of %s", n, eventType)
	return got
}
