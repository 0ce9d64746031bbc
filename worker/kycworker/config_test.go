package kycworker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/worker/kycworker"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c kycworker.Config)
	}{
		{name: "defaults", env: nil, check: func(t *testing.T, c kycworker.Config) {
			assert.Equal(t, "127.0.0.1:9091", c.HTTPAddr)
			assert.Equal(t, "redis://127.0.0.1:6379/0", c.RedisURL)
			assert.Empty(t, c.PlatformWebhookURL, "notifications are off until configured")
		}},
		{name: "platform webhook", env: map[string]string{"PLATFORM_WEBHOOK_URL": "https://p.example/kyc", "PLATFORM_WEBHOOK_SECRET": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}},
		{name: "platform webhook, two secrets (a rotation)", env: map[string]string{"PLATFORM_WEBHOOK_URL": "https://p.example/kyc", "PLATFORM_WEBHOOK_SECRET": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= whsec_ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="},
			check: func(t *testing.T, c kycworker.Config) {
				assert.Equal(t, [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")}, c.PlatformWebhookKeys, "both sign")
			}},
		{name: "a raw secret of before Standard Webhooks", env: map[string]string{"PLATFORM_WEBHOOK_URL": "https://p.example/kyc", "PLATFORM_WEBHOOK_SECRET": "0123456789abcdef0123456789abcdef"}, wantErr: "has no whsec_ prefix"},
		{name: "webhook without secret", env: map[string]string{"PLATFORM_WEBHOOK_URL": "https://p.example/kyc"}, wantErr: "PLATFORM_WEBHOOK_SECRET"},
		{name: "short secret", env: map[string]string{"PLATFORM_WEBHOOK_URL": "https://p.example/kyc", "PLATFORM_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, wantErr: "5 bytes"},
		{name: "webhook not a URL", env: map[string]string{"PLATFORM_WEBHOOK_URL": "p.example", "PLATFORM_WEBHOOK_SECRET": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, wantErr: "PLATFORM_WEBHOOK_URL"},
		{name: "bad address", env: map[string]string{"WORKER_HTTP_ADDR": "9091"}, wantErr: "WORKER_HTTP_ADDR"},
		{name: "tuning left to the SDK", env: nil, check: func(t *testing.T, c kycworker.Config) {
			assert.Equal(t, kycworker.Tuning{}, c.Tuning)
		}},
		{name: "tuning", env: map[string]string{"WORKER_STICKY_CACHE_SIZE": " 2000 ", "WORKER_WORKFLOW_POLLERS": "4",
			"WORKER_ACTIVITY_POLLERS": "3"}, check: func(t *testing.T, c kycworker.Config) {
			assert.Equal(t, kycworker.Tuning{StickyCacheSize: 2000, WorkflowPollers: 4, ActivityPollers: 3}, c.Tuning)
		}},
		{name: "cache size not a number", env: map[string]string{"WORKER_STICKY_CACHE_SIZE": "10k"}, wantErr: "WORKER_STICKY_CACHE_SIZE"},
		{name: "cache size zero", env: map[string]string{"WORKER_STICKY_CACHE_SIZE": "0"}, wantErr: "from 1 to 1000000"},
		{name: "cache size too large", env: map[string]string{"WORKER_STICKY_CACHE_SIZE": "1000001"}, wantErr: "WORKER_STICKY_CACHE_SIZE"},
		{name: "negative pollers", env: map[string]string{"WORKER_WORKFLOW_POLLERS": "-2"}, wantErr: "WORKER_WORKFLOW_POLLERS"},
		{name: "activity pollers not a number", env: map[string]string{"WORKER_ACTIVITY_POLLERS": "two"}, wantErr: "WORKER_ACTIVITY_POLLERS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := kycworker.LoadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
