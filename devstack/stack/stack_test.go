package stack

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A notification URL with a secret the worker would refuse is refused
// before anything starts (the worker's own rule: whsec_ secrets of 24 to 64
// bytes).
func TestStartRefusesAShortNotificationSecret(t *testing.T) {
	for _, tc := range []struct{ name, secret string }{
		{"no secret", ""},
		{"23 bytes", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY="},
		{"a raw secret", "0123456789abcdef0123456789abcdef"},
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
			assert.ErrorContains(t, err, "PLATFORM_WEBHOOK_SECRET is required when PLATFORM_WEBHOOK_URL is set, as one or more whsec_ secrets")
		})
	}
}
