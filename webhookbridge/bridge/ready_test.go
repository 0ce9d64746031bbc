package bridge_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
)

// TestProbes: /livez and its alias /healthz answer on both listeners
// whatever the dependencies; /readyz reports an unreachable Mangopay
// without becoming unready (webhooks are taken meanwhile), and ?verbose
// lists the checks.
func TestProbes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	// Temporal's client answers its health check as the existing readyz
	// test's does (the SDK's mock client).
	tc := &mocks.Client{}
	tc.On("CheckHealth", mock.Anything, mock.Anything).Return(&client.CheckHealthResponse{}, nil)
	b := newBridge(newRedis(t), tc)
	b.MangopayURL = dead
	for _, r := range []http.Handler{b.PublicRouter(), b.InternalRouter()} {
		for _, path := range []string{"/livez", "/healthz"} {
			w := serve(r, httptest.NewRequest(http.MethodGet, path, nil))
			require.Equal(t, http.StatusOK, w.Code, path)
			assert.JSONEq(t, `{"Status":"ok"}`, w.Body.String())
		}
	}
	w := serve(b.InternalRouter(), httptest.NewRequest(http.MethodGet, "/readyz?verbose", nil))
	require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
	var got struct {
		Redis, Temporal, Mangopay string
		Checks                    []struct {
			Name, Status string
			Optional     bool
		}
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Equal(t, "ok", got.Redis)
	assert.Equal(t, "ok", got.Temporal)
	assert.Equal(t, "unavailable", got.Mangopay)
	require.Len(t, got.Checks, 3)
	assert.Equal(t, "Mangopay", got.Checks[2].Name)
	assert.True(t, got.Checks[2].Optional)
}
