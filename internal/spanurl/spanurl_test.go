package spanurl_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kycflow/kycflow/internal/spanurl"
)

// answer is a transport that answers 200 to anything: the test is about
// the span, not the call.
type answer struct{}

func (answer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// TestClientSpanURLHasNoIDsNorQuery: the url.full of a client span keeps
// the route, not the user IDs of the path nor a token of the query string.
func TestClientSpanURLHasNoIDsNorQuery(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://api.mangopay.example/v2.01/kycflow-sandbox/users/user_m_01M97C0J6X84ZGMYJZGPBC7FBR/kyc/documents?page=1",
			"https://api.mangopay.example/v2.01/kycflow-sandbox/users/{id}/kyc/documents"},
		{"https://platform.example/hooks/kyc?token=s3cr3t-t0ken", "https://platform.example/hooks/kyc"},
		{"https://bob:pw@platform.example/idv/idv_01M97C0J6X84", "https://platform.example/idv/{id}"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			hc := http.Client{Transport: otelhttp.NewTransport(spanurl.Transport(answer{}), otelhttp.WithTracerProvider(tp))}
			res, err := hc.Get(tc.url)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			spans := rec.Ended()
			require.Len(t, spans, 1)
			attrs := map[string]string{}
			for _, kv := range spans[0].Attributes() {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			assert.Equal(t, tc.want, attrs["url.full"])
		})
	}
}
