package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

func TestHooksAPI(t *testing.T) {
	e := newEnv(t, fastSettings())
	create := func(body map[string]any) response { return e.api("POST", "/hooks", body) }

	res := create(map[string]any{"EventType": "IDENTITY_VERIFICATION_VALIDATED", "Url": "https://example.com/hook", "Tag": "kycflow"})
	require.Equal(t, 200, res.status, string(res.body))
	h := res.json()
	assert.Equal(t, "ENABLED", h["Status"])
	assert.Equal(t, "VALID", h["Validity"])
	id := h["Id"].(string)
	assert.Regexp(t, `^hook_m_[0-9A-Z]{26}$`, id)

	for name, body := range map[string]map[string]any{
		"duplicate event type": {"EventType": "IDENTITY_VERIFICATION_VALIDATED", "Url": "https://example.com/other"},
		"missing url":          {"EventType": "KYC_FAILED"},
		"ftp url":              {"EventType": "KYC_FAILED", "Url": "ftp://example.com"},
		"bad event type":       {"EventType": "not an event", "Url": "https://example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			res := create(body)
			require.Equal(t, 400, res.status)
			assert.Equal(t, "param_error", res.json()["Type"])
		})
	}

	assert.Equal(t, id, e.api("GET", "/hooks/"+id, nil).json()["Id"])
	assert.Len(t, e.api("GET", "/hooks", nil).list(), 1)
	upd := e.api("PUT", "/hooks/"+id, map[string]any{"Status": "DISABLED", "Url": "https://example.com/new"})
	require.Equal(t, 200, upd.status)
	assert.Equal(t, "DISABLED", upd.json()["Status"])
	assert.Equal(t, "https://example.com/new", upd.json()["Url"])
	assert.Equal(t, 400, e.api("PUT", "/hooks/"+id, map[string]any{"Validity": "INVALID"}).status)
	assert.Equal(t, 400, e.api("PUT", "/hooks/"+id, map[string]any{"EventType": "KYC_FAILED"}).status)
	echoed := e.api("PUT", "/hooks/"+id, map[string]any{"EventType": "IDENTITY_VERIFICATION_VALIDATED", "Url": "https://example.com/v2", "Status": "ENABLED", "Validity": "VALID"})
	require.Equal(t, 200, echoed.status, "SDKs send the whole hook back: %s", echoed.body)
	assert.Equal(t, "https://example.com/v2", echoed.json()["Url"])
	assert.Equal(t, 404, e.api("GET", "/hooks/hook_m_nope", nil).status)
}

func TestWebhookDelivery(t *testing.T) {
	e := newEnv(t, fastSettings())
	sink := newHookSink(t)
	for _, ev := range []string{"IDENTITY_VERIFICATION_VALIDATED", "USER_KYC_REGULAR"} {
		require.Equal(t, 200, e.api("POST", "/hooks", map[string]any{"EventType": ev, "Url": sink.srv.URL + "/webhooks/mangopay/secret?x=1"}).status)
	}
	userID := e.natural()
	id := e.session(userID)["Id"].(string)
	require.Equal(t, 200, e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "VALIDATED"}).status)

	e.waitDeliveries("", 2)
	got := sink.received()
	require.Len(t, got, 2)
	byType := map[string]map[string]string{}
	for _, g := range got {
		byType[g["EventType"]] = g
		assert.Equal(t, "GET", g["Method"])
		_, err := strconv.ParseInt(g["Date"], 10, 64)
		assert.NoError(t, err)
	}
	assert.Equal(t, id, byType["IDENTITY_VERIFICATION_VALIDATED"]["RessourceId"], "IDV events carry the session id")
	assert.Equal(t, userID, byType["USER_KYC_REGULAR"]["RessourceId"], "USER_ events carry the user id")
	for _, d := range e.sim.Deliveries("", "") {
		assert.Equal(t, sandbox.Delivered, d.Result)
		assert.Contains(t, d.URL, "?x=1&EventType=")
		assert.False(t, d.SentAt.IsZero() || d.SentAt.After(d.At), "sent %s, answered %s", d.SentAt, d.At)
	}
}

func TestWebhookRetrySchedule(t *testing.T) {
	e := newEnv(t, fastSettings())
	sink := newHookSink(t)
	sink.setStatus(http.StatusServiceUnavailable)
	require.Equal(t, 200, e.api("POST", "/hooks", map[string]any{"EventType": "IDENTITY_VERIFICATION_FAILED", "Url": sink.srv.URL}).status)
	id := e.session(e.natural())["Id"].(string)
	require.Equal(t, 200, e.ctl("POST", "/_sim/identity-verifications/"+id+"/outcome", map[string]any{"Outcome": "REFUSED"}).status)
	e.waitDeliveries("IDENTITY_VERIFICATION_FAILED", 1)

	// Six retries ten minutes apart, then nine eight hours apart.
	for i := 1; i <= 6; i++ {
		e.sim.Advance(10 * time.Minute)
		e.waitDeliveries("IDENTITY_VERIFICATION_FAILED", 1+i)
	}
	e.sim.Advance(7 * time.Hour)
	e.sim.Settle()
	require.Len(t, e.sim.Deliveries("IDENTITY_VERIFICATION_FAILED", ""), 7, "no retry before 8 hours")
	sink.setStatus(http.StatusOK)
	e.sim.Advance(time.Hour)
	log := e.waitDeliveries("IDENTITY_VERIFICATION_FAILED", 8)
	last := log[len(log)-1]
	assert.Equal(t, sandbox.Delivered, last.Result)
	assert.Equal(t, 7, last.Attempt)
	for _, d := range log[:7] {
		assert.Equal(t, sandbox.Failed, d.Result)
		assert.Equal(t, 503, d.StatusCode)
	}
}

func TestHookBecomesInvalidAfter100Failures(t *testing.T) {
	e := newEnv(t, fastSettings())
	sink := newHookSink(t)
	sink.setStatus(http.StatusInternalServerError)
	hookID := e.mustID(e.api("POST", "/hooks", map[string]any{"EventType": "IDENTITY_VERIFICATION_PENDING", "Url": sink.srv.URL}))
	userID := e.natural()
	for i := range 100 {
		e.session(userID) // each creation notifies IDENTITY_VERIFICATION_PENDING
		e.waitDeliveries("IDENTITY_VERIFICATION_PENDING", i+1)
	}
	require.Eventually(t, func() bool {
		return e.api("GET", "/hooks/"+hookID, nil).json()["Validity"] == "INVALID"
	}, 5*time.Second, 5*time.Millisecond)
	e.session(userID)
	e.sim.Advance(10 * time.Minute) // and pending retries are not sent either
	e.sim.Settle()
	assert.Len(t, e.sim.Deliveries("IDENTITY_VERIFICATION_PENDING", ""), 100)

	require.Equal(t, 200, e.api("PUT", "/hooks/"+hookID, map[string]any{"Validity": "VALID"}).status)
	sink.setStatus(http.StatusOK)
	e.session(userID)
	e.waitDeliveries("IDENTITY_VERIFICATION_PENDING", 101)
}

func TestWebhookTimeout(t *testing.T) {
	set := fastSettings()
	set.WebhookTimeoutSeconds = 0.05
	e := newEnv(t, set)
	release := make(chan struct{})
	slow := newHookSink(t)
	slow.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) })
	require.Equal(t, 200, e.api("POST", "/hooks", map[string]any{"EventType": "IDENTITY_VERIFICATION_PENDING", "Url": slow.srv.URL}).status)
	e.session(e.natural())
	d := e.waitDeliveries("IDENTITY_VERIFICATION_PENDING", 1)[0]
	assert.Equal(t, sandbox.Failed, d.Result)
	assert.Contains(t, d.Error, "deadline exceeded")
}

func TestWebhookFaults(t *testing.T) {
	tests := []struct {
		name       string
		faults     sandbox.Faults
		wantLog    int
		wantResult string
		wantHits   int
	}{
		{"drop", sandbox.Faults{WebhookDropRate: 1}, 1, sandbox.Dropped, 0},
		{"duplicate", sandbox.Faults{WebhookDuplicateRate: 1}, 2, sandbox.Delivered, 2},
		{"delay", sandbox.Faults{WebhookDelayMs: 20}, 1, sandbox.Delivered, 1},
		{"reorder", sandbox.Faults{WebhookReorder: true, WebhookDelayMs: 30}, 1, sandbox.Delivered, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fastSettings())
			sink := newHookSink(t)
			require.Equal(t, 200, e.api("POST", "/hooks", map[string]any{"EventType": "IDENTITY_VERIFICATION_PENDING", "Url": sink.srv.URL}).status)
			require.Equal(t, 200, e.ctl("PUT", "/_sim/faults", tt.faults).status)
			e.session(e.natural())
			log := e.waitDeliveries("IDENTITY_VERIFICATION_PENDING", tt.wantLog)
			assert.Len(t, log, tt.wantLog)
			for _, d := range log {
				assert.Equal(t, tt.wantResult, d.Result)
			}
			assert.Len(t, sink.received(), tt.wantHits)
		})
	}
}

func TestAPIFaults(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	path := "/users/" + userID + "/identity-verifications"
	body := map[string]any{"ReturnUrl": "https://example.com"}

	t.Run("invalid faults are refused", func(t *testing.T) {
		for _, f := range []map[string]any{{"ApiErrorRate": 2}, {"ApiErrorStatus": 200}, {"ApiLatencyMs": -1}, {"Nope": 1}} {
			assert.Equal(t, 400, e.ctl("PUT", "/_sim/faults", f).status, "%v", f)
		}
	})

	t.Run("error before commit creates nothing", func(t *testing.T) {
		require.Equal(t, 200, e.ctl("PUT", "/_sim/faults", sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 503}).status)
		res := e.api("POST", path, body, "Idempotency-Key", "fault-before-0001")
		require.Equal(t, 503, res.status)
		assert.Equal(t, "other", res.json()["Type"])
		require.Equal(t, 200, e.ctl("PUT", "/_sim/faults", sandbox.Faults{}).status)
		assert.Empty(t, e.api("GET", path, nil).list())
		assert.Equal(t, 200, e.api("POST", path, body, "Idempotency-Key", "fault-before-0001").status, "the key was never seen")
	})

	t.Run("error after commit loses the response, not the resource", func(t *testing.T) {
		require.Equal(t, 200, e.ctl("PUT", "/_sim/faults", sandbox.Faults{APIErrorRate: 1, APIErrorAfterCommit: true}).status)
		res := e.api("POST", path, body, "Idempotency-Key", "fault-after-00001")
		require.Equal(t, 500, res.status)
		assert.Equal(t, "InternalServerError", res.json()["Type"])
		require.Equal(t, 200, e.ctl("PUT", "/_sim/faults", sandbox.Faults{}).status)
		assert.Equal(t, 409, e.api("POST", path, body, "Idempotency-Key", "fault-after-00001").status)
		orig := e.api("GET", "/responses/fault-after-00001", nil).json()
		assert.Equal(t, "200", orig["StatusCode"])
		assert.Len(t, e.api("GET", path, nil).list(), 2)
	})

	t.Run("429 carries Mangopay's rate_limit body", func(t *testing.T) {
		require.Equal(t, 200, e.ctl("PUT", "/_sim/faults", sandbox.Faults{APIErrorRate: 1, APIErrorStatus: 429}).status)
		res := e.api("GET", path, nil)
		require.Equal(t, 429, res.status)
		assert.Equal(t, "rate_limit", res.json()["Type"])
		require.Equal(t, 200, e.ctl("PUT", "/_sim/faults", sandbox.Faults{}).status)
	})
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, fastSettings())
	t.Run("loopback only", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, "/_sim/clock", nil)
		require.NoError(t, err)
		req.RemoteAddr = "192.0.2.10:4242"
		rec := httptest.NewRecorder()
		e.sim.Handler().ServeHTTP(rec, req)
		assert.Equal(t, http.StatusForbidden, rec.Code)
	})
	t.Run("settings round trip and validation", func(t *testing.T) {
		res := e.ctl("PUT", "/_sim/settings", map[string]any{"ReturnUrlMaxLength": 500})
		require.Equal(t, 200, res.status, string(res.body))
		assert.EqualValues(t, 500, e.ctl("GET", "/_sim/settings", nil).json()["ReturnUrlMaxLength"])
		assert.Equal(t, 400, e.ctl("PUT", "/_sim/settings", map[string]any{"ReturnUrlMaxLength": 1}).status)
	})
	t.Run("reset forgets everything", func(t *testing.T) {
		userID := e.natural()
		require.Equal(t, 200, e.ctl("POST", "/_sim/reset", nil).status)
		e.tok = e.token()
		assert.Equal(t, 404, e.api("GET", "/users/"+userID, nil).status)
		assert.Empty(t, e.api("GET", "/events", nil).list())
	})
	t.Run("call counts", func(t *testing.T) {
		before := e.ctl("GET", "/_sim/calls", nil).json()
		count := func(m map[string]any, route string) float64 { n, _ := m[route].(float64); return n }
		userID := e.natural()
		e.api("GET", "/users/"+userID, nil)
		e.api("GET", "/users/"+userID, nil)
		after := e.ctl("GET", "/_sim/calls", nil).json()
		assert.EqualValues(t, 2, count(after, "GET /users/{userId}")-count(before, "GET /users/{userId}"))
		assert.EqualValues(t, 1, count(after, "POST /sca/users/natural")-count(before, "POST /sca/users/natural"))
	})
	t.Run("unknown endpoint and method", func(t *testing.T) {
		assert.Equal(t, 404, e.ctl("GET", "/_sim/nothing", nil).status)
		assert.Equal(t, 405, e.ctl("GET", "/_sim/reset", nil).status)
	})
}
