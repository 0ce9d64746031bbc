package stack

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A notification URL with a secret the worker would refuse is refused
// before anything starts (the worker's own rule: 16 characters or more).
func TestStartRefusesAShortNotificationSecret(t *testing.T) {
	for _, tc := range []struct{ name, secret string }{
		{"no secret", ""},
		{"15 characters", "0123456789abcde"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Free ports: a regression must not take a running make dev's.
			o := Options{TemporalHostPort: "", SimAddr: "127.0.0.1:0", BridgePublicAddr: "127.0.0.1:0", BridgeInternalAddr: "127.0.0.1:0",
				PlatformAddr: "127.0.0.1:0", WorkerHTTPAddr: "127.0.0.1:0", PathToken: "path-token-0123456789", APIToken: "api-token-0123456789"}
			o.PlatformWebhookURL, o.PlatformWebhookSecret = "http://127.0.0.1:8096/kycflow/events", tc.secret
			s, err := Start(context.Background(), o)
			if s != nil {
				s.Stop()
			}
			assert.Nil(t, s)
			assert.ErrorContains(t, err, "PLATFORM_WEBHOOK_SECRET must be at least 16 characters")
		})
	}
}
