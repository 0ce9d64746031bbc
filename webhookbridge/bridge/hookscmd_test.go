package bridge_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/workflows"
)

const hooksURL = "https://bridge.platform.example/webhooks/mangopay/" + testPathToken

// TestHooksCommandDryRunByDefault: without --apply the command prints the
// plan and changes nothing at Mangopay.
func TestHooksCommandDryRunByDefault(t *testing.T) {
	h := newHookSim(t)
	var out bytes.Buffer
	require.NoError(t, bridge.HooksCommand(context.Background(), h.mp, "http://127.0.0.1:8090", hooksURL, nil, &out))
	assert.Empty(t, h.hooks(t), "a dry run creates no hook")
	assert.Contains(t, out.String(), "plan (nothing changed")
	assert.Contains(t, out.String(), workflows.HookEventTypes[0])
	assert.Contains(t, out.String(), bridge.HookCreate)
	assert.NotContains(t, out.String(), testPathToken, "the path token stays out of the output")

	out.Reset()
	require.NoError(t, bridge.HooksCommand(context.Background(), h.mp, "http://127.0.0.1:8090", hooksURL, []string{"--apply"}, &out))
	assert.Len(t, h.hooks(t), len(workflows.HookEventTypes))
	assert.Contains(t, out.String(), bridge.HookCreated)

	err := bridge.HooksCommand(context.Background(), h.mp, "http://127.0.0.1:8090", hooksURL, []string{"--aply"}, &out)
	assert.Error(t, err, "a misspelt flag is an error, not a dry run that looks applied")
}

// TestHooksLeavePlatformHooksAlone: a platform's own hook for an event type
// kycflow needs (another URL, not tagged kycflow) is left alone, and
// reported, unless the operator asks to take it over.
func TestHooksLeavePlatformHooksAlone(t *testing.T) {
	ctx := context.Background()
	h := newHookSim(t)
	theirs := workflows.HookEventTypes[0]
	const platformURL = "https://platform.example/their-own-kyc-hook"
	_, err := h.mp.CreateHook(ctx, &mangopay.CreateHookParams{EventType: theirs, URL: platformURL, Tag: "platform"})
	require.NoError(t, err)

	reports, err := bridge.RegisterHooks(ctx, h.mp, hooksURL)
	require.NoError(t, err)
	assert.Equal(t, platformURL, h.hooks(t)[theirs].URL, "the platform's hook was taken over")
	assert.Equal(t, bridge.HookSkipped, actions(reports)[theirs])
	assert.Equal(t, hooksURL, h.hooks(t)[workflows.HookEventTypes[1]].URL, "kycflow's own hooks are created")

	var out bytes.Buffer
	require.NoError(t, bridge.HooksCommand(ctx, h.mp, "http://127.0.0.1:8090", hooksURL, []string{"--apply"}, &out))
	assert.Equal(t, platformURL, h.hooks(t)[theirs].URL)
	assert.Contains(t, out.String(), "--take-over")

	out.Reset()
	require.NoError(t, bridge.HooksCommand(ctx, h.mp, "http://127.0.0.1:8090", hooksURL, []string{"--take-over"}, &out))
	assert.Equal(t, platformURL, h.hooks(t)[theirs].URL, "--take-over alone is still a dry run")
	assert.Contains(t, out.String(), bridge.HookTakeOver)

	require.NoError(t, bridge.HooksCommand(ctx, h.mp, "http://127.0.0.1:8090", hooksURL, []string{"--apply", "--take-over"}, &out))
	got := h.hooks(t)[theirs]
	assert.Equal(t, hooksURL, got.URL)
	assert.Equal(t, bridge.HookTag, got.Tag, "kycflow's from now on")
}

// TestCheckHookTarget: against real Mangopay a loopback URL (Mangopay
// cannot reach it and disables the hooks after 100 failures) or the
// published development token is refused; a simulator takes anything.
func TestCheckHookTarget(t *testing.T) {
	tests := []struct {
		name, mangopay, hook string
		wantErr              bool
	}{
		{"sandbox, public https", mangopay.SandboxURL, hooksURL, false},
		{"production, public https", mangopay.ProductionURL, hooksURL, false},
		{"sandbox, loopback", mangopay.SandboxURL, "http://127.0.0.1:8080/webhooks/mangopay/" + testPathToken, true},
		{"production mTLS, localhost", mangopay.ProductionMTLSURL, "http://localhost:8080/webhooks/mangopay/" + testPathToken, true},
		{"sandbox, IPv6 loopback", mangopay.SandboxURL, "http://[::1]:8080/webhooks/mangopay/" + testPathToken, true},
		{"sandbox, all interfaces", mangopay.SandboxURL, "http://0.0.0.0:8080/webhooks/mangopay/" + testPathToken, true},
		{"sandbox, public http", mangopay.SandboxURL, "http://bridge.platform.example/webhooks/mangopay/" + testPathToken, true},
		{"production, public http", mangopay.ProductionURL, "http://bridge.platform.example/webhooks/mangopay/" + testPathToken, true},
		{"sandbox, development token", mangopay.SandboxURL, "https://bridge.platform.example/webhooks/mangopay/" + bridge.DevPathToken, true},
		{"simulator, loopback", "http://127.0.0.1:8090", "http://127.0.0.1:8080/webhooks/mangopay/" + bridge.DevPathToken, false},
		{"compose simulator", "http://mangopaysim:8090", "http://webhookbridge:8080/webhooks/mangopay/" + testPathToken, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bridge.CheckHookTarget(tt.mangopay, tt.hook)
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, bridge.ErrHookURL)
			assert.NotContains(t, err.Error(), testPathToken)
		})
	}
	t.Run("the command refuses before any call", func(t *testing.T) {
		h := newHookSim(t)
		err := bridge.HooksCommand(context.Background(), h.mp, mangopay.SandboxURL, "http://127.0.0.1:8080/webhooks/mangopay/"+testPathToken, []string{"--apply"}, &bytes.Buffer{})
		require.ErrorIs(t, err, bridge.ErrHookURL)
		assert.Empty(t, h.hooks(t))
	})
}
