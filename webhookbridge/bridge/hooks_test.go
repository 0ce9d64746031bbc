package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/workflows"
)

// hookSim is a simulator behind a shim that can report chosen hooks as
// INVALID in hook listings (Mangopay marks a hook INVALID after 100 failed
// deliveries in a row, far too slow to provoke) and records hook updates.
type hookSim struct {
	sim *sandbox.Sandbox
	mp  *mangopay.Client

	mu      sync.Mutex
	invalid map[mangopay.EventType]bool // event types listed as INVALID until updated
	puts    []map[string]any
}

func newHookSim(t *testing.T) *hookSim {
	t.Helper()
	h := &hookSim{invalid: map[mangopay.EventType]bool{}}
	h.sim = sandbox.New(sandbox.Config{Seed: 1, Logger: quietLogger()})
	inner := h.sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/hooks"):
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if rec.Code == http.StatusOK {
				body = h.markInvalid(t, body)
			}
			for k, vs := range rec.Header() {
				if k != "Content-Length" {
					w.Header()[k] = vs
				}
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
			return
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/hooks/"):
			raw, _ := io.ReadAll(r.Body)
			var put map[string]any
			_ = json.Unmarshal(raw, &put)
			h.mu.Lock()
			h.puts = append(h.puts, put)
			h.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(raw))
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); h.sim.Close() })
	mp, err := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: h.sim.ClientID(), APIKey: sandbox.DefaultAPIKey, Logger: quietLogger()})
	require.NoError(t, err)
	h.mp = mp
	return h
}

func (h *hookSim) markInvalid(t *testing.T, body []byte) []byte {
	var hooks []map[string]any
	require.NoError(t, json.Unmarshal(body, &hooks))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hk := range hooks {
		if h.invalid[mangopay.EventType(hk["EventType"].(string))] {
			hk["Validity"] = "INVALID"
		}
	}
	out, err := json.Marshal(hooks)
	require.NoError(t, err)
	return out
}

func (h *hookSim) hooks(t *testing.T) map[mangopay.EventType]mangopay.Hook {
	t.Helper()
	out := map[mangopay.EventType]mangopay.Hook{}
	for page := 1; ; page++ {
		list, pg, err := h.mp.ListHooks(context.Background(), &mangopay.ListOptions{Page: page, PerPage: 100})
		require.NoError(t, err)
		for _, hk := range list {
			out[hk.EventType] = hk
		}
		if pg == nil || !pg.HasNext() {
			return out
		}
	}
}

// actions maps each report's event type to its action.
func actions(reports []bridge.HookReport) map[mangopay.EventType]string {
	out := map[mangopay.EventType]string{}
	for _, r := range reports {
		out[r.EventType] = r.Action
	}
	return out
}

func allAs(action string) map[mangopay.EventType]string {
	out := map[mangopay.EventType]string{}
	for _, et := range workflows.HookEventTypes {
		out[et] = action
	}
	return out
}

func TestRegisterHooks(t *testing.T) {
	ctx := context.Background()
	h := newHookSim(t)
	const url = "https://bridge.platform.example/webhooks/mangopay/" + testPathToken

	first, err := bridge.RegisterHooks(ctx, h.mp, url)
	require.NoError(t, err)
	require.Len(t, first, len(workflows.HookEventTypes))
	assert.Equal(t, allAs("created"), actions(first))
	ids := map[mangopay.EventType]string{}
	for i, r := range first {
		assert.Equal(t, workflows.HookEventTypes[i], r.EventType, "reported in HookEventTypes order")
		assert.NotEmpty(t, r.HookID)
		assert.Equal(t, "ENABLED", r.Status)
		assert.Equal(t, "VALID", r.Validity)
		ids[r.EventType] = r.HookID
	}
	at := h.hooks(t)
	for _, et := range workflows.HookEventTypes {
		require.Contains(t, at, et)
		assert.Equal(t, url, at[et].URL, "hook %s", et)
	}

	t.Run("second run changes nothing", func(t *testing.T) {
		again, err := bridge.RegisterHooks(ctx, h.mp, url)
		require.NoError(t, err)
		assert.Equal(t, allAs("unchanged"), actions(again))
		for _, r := range again {
			assert.Equal(t, ids[r.EventType], r.HookID, "the same hook")
		}
	})

	t.Run("broken hooks are repaired", func(t *testing.T) {
		at := h.hooks(t)
		elsewhere, disabled, both, invalid := workflows.HookEventTypes[0], workflows.HookEventTypes[1], workflows.HookEventTypes[5], workflows.HookEventTypes[6]
		_, err := h.mp.UpdateHook(ctx, at[elsewhere].ID, &mangopay.UpdateHookParams{URL: "https://old-bridge.example/hooks"})
		require.NoError(t, err)
		_, err = h.mp.UpdateHook(ctx, at[disabled].ID, &mangopay.UpdateHookParams{Status: mangopay.HookDisabled})
		require.NoError(t, err)
		_, err = h.mp.UpdateHook(ctx, at[both].ID, &mangopay.UpdateHookParams{URL: "https://old-bridge.example/hooks", Status: mangopay.HookDisabled})
		require.NoError(t, err)
		h.mu.Lock()
		h.invalid[invalid] = true
		h.puts = nil
		h.mu.Unlock()

		reports, err := bridge.RegisterHooks(ctx, h.mp, url)
		require.NoError(t, err)
		want := allAs("unchanged")
		for _, et := range []mangopay.EventType{elsewhere, disabled, both, invalid} {
			want[et] = "repaired"
		}
		assert.Equal(t, want, actions(reports))
		for _, r := range reports {
			assert.Equal(t, ids[r.EventType], r.HookID, "repaired in place, not recreated")
			assert.Equal(t, "ENABLED", r.Status, "%s", r.EventType)
		}
		h.mu.Lock()
		puts := h.puts
		h.invalid = map[mangopay.EventType]bool{}
		h.mu.Unlock()
		require.Len(t, puts, 4)
		validityAsked := 0
		for _, p := range puts {
			assert.Equal(t, url, p["Url"])
			assert.Equal(t, "ENABLED", p["Status"])
			if p["Validity"] == "VALID" {
				validityAsked++
			}
		}
		assert.Equal(t, 1, validityAsked, "only the INVALID hook is asked to be VALID again")
		at = h.hooks(t)
		for _, et := range workflows.HookEventTypes {
			assert.Equal(t, url, at[et].URL, "%s", et)
			assert.Equal(t, mangopay.HookEnabled, at[et].Status, "%s", et)
		}

		again, err := bridge.RegisterHooks(ctx, h.mp, url)
		require.NoError(t, err)
		assert.Equal(t, allAs("unchanged"), actions(again), "repaired for good")
	})
}

func TestRegisterHooksLeavesOtherHooksAloneAndPages(t *testing.T) {
	ctx := context.Background()
	h := newHookSim(t)
	const url = "https://bridge.platform.example/webhooks/mangopay/" + testPathToken
	// More hooks than one page holds, the platform's own first (of event
	// types kycflow does not use: the simulator accepts only real ones),
	// then one of kycflow's on the second page.
	var platform []string
	for _, et := range sandbox.KnownEventTypes() {
		if !slices.Contains(workflows.HookEventTypes, mangopay.EventType(et)) && len(platform) < 110 {
			platform = append(platform, et)
		}
	}
	// Past one page of 100 whatever kycflow subscribes to next (it took
	// 5 more event types since this was 120).
	require.Len(t, platform, 110)
	for _, et := range platform {
		_, err := h.mp.CreateHook(ctx, &mangopay.CreateHookParams{EventType: mangopay.EventType(et), URL: "https://platform.example/own-hooks"})
		require.NoError(t, err)
	}
	last := workflows.HookEventTypes[len(workflows.HookEventTypes)-1]
	_, err := h.mp.CreateHook(ctx, &mangopay.CreateHookParams{EventType: last, URL: url})
	require.NoError(t, err)

	reports, err := bridge.RegisterHooks(ctx, h.mp, url)
	require.NoError(t, err, "a hook on the second page must be found, not created twice")
	want := allAs("created")
	want[last] = "unchanged"
	assert.Equal(t, want, actions(reports))
	at := h.hooks(t)
	assert.Len(t, at, len(platform)+len(workflows.HookEventTypes))
	for _, et := range platform {
		assert.Equal(t, "https://platform.example/own-hooks", at[mangopay.EventType(et)].URL, "not kycflow's hook")
	}
}

func TestRegisterHooksMangopayDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"Message":"down"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	mp, err := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: "client", APIKey: "key", Logger: quietLogger()})
	require.NoError(t, err)
	_, err = bridge.RegisterHooks(context.Background(), mp, "https://bridge.example/webhooks/mangopay/x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "list hooks")
}

// The bridge registers hooks for Mangopay's blocks of a user's money flows:
// the onboarding's state and notifications carry them.
func TestHookEventTypesIncludeScopeBlocks(t *testing.T) {
	for _, et := range []mangopay.EventType{"USER_INFLOWS_BLOCKED", "USER_INFLOWS_UNBLOCKED", "USER_OUTFLOWS_BLOCKED", "USER_OUTFLOWS_UNBLOCKED"} {
		assert.Contains(t, workflows.HookEventTypes, et)
	}
}
