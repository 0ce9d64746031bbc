package tracing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/tracing"
)

func TestEnabled(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr bool
	}{
		{"nothing set: off", nil, false, false},
		{"an endpoint", map[string]string{tracing.EnvEndpoint: "http://collector:4318"}, true, false},
		{"a traces endpoint", map[string]string{tracing.EnvTracesEndpoint: "http://collector:4318/v1/traces"}, true, false},
		{"otlp named", map[string]string{tracing.EnvTracesExporter: "otlp"}, true, false},
		{"none wins over an endpoint", map[string]string{tracing.EnvTracesExporter: "none", tracing.EnvEndpoint: "http://c:4318"}, false, false},
		{"the SDK disabled", map[string]string{tracing.EnvSDKDisabled: "true", tracing.EnvEndpoint: "http://c:4318"}, false, false},
		{"an exporter kycflow does not ship", map[string]string{tracing.EnvTracesExporter: "zipkin"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tracing.Enabled(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
