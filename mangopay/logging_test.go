package mangopay_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/mangopay"
)

func TestLogging_DebugRecordWithoutBodies(t *testing.T) {
	f := newFake(t)
	f.serve("POST /users/user_m_1/identity-verifications", 200, "idv_create.json")
	var out syncbuf.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := mangopay.New(mangopay.Config{BaseURL: f.srv.URL, ClientID: testClientID, APIKey: testAPIKey, Logger: logger})
	require.NoError(t, err)

	_, err = c.CreateIdentityVerification(context.Background(), "user_m_1", &mangopay.CreateIdentityVerificationParams{
		ReturnURL: "https://secret.example.com/return", Tag: "private-tag",
	})
	require.NoError(t, err)

	logs := out.String()
	assert.NotContains(t, logs, "secret.example.com", "request body not logged")
	assert.NotContains(t, logs, "user-verification.sandbox", "response body not logged")
	assert.NotContains(t, logs, testAPIKey)
	assert.NotContains(t, logs, "tok-1")

	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["msg"] != "mangopay request" {
			continue
		}
		found = true
		assert.Equal(t, "DEBUG", rec["level"])
		assert.Equal(t, "POST", rec["method"])
		assert.Equal(t, "/users/{UserId}/identity-verifications", rec["path"])
		assert.EqualValues(t, 200, rec["status"])
		assert.Contains(t, rec, "duration")
	}
	assert.True(t, found, "request record written: %s", logs)
}
