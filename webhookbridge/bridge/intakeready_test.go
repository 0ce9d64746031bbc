package bridge_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
)

// TestPublicReadinessNeedsOnlyRedis: the public listener's /readyz is the
// intake's readiness: a webhook is stored in Redis and forwarded later, so
// a Temporal outage keeps the bridge in the public Service (Mangopay marks
// a hook INVALID after 100 failed deliveries), while the internal /readyz
// still reports it. It says ok or unavailable, nothing more.
func TestPublicReadinessNeedsOnlyRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadRedis := ln.Addr().String()
	require.NoError(t, ln.Close())

	down := &mocks.Client{}
	down.On("CheckHealth", mock.Anything, mock.Anything).Return(nil, errors.New("temporal is down"))
	up := &mocks.Client{}
	up.On("CheckHealth", mock.Anything, mock.Anything).Return(&client.CheckHealthResponse{}, nil)
	tests := []struct {
		name         string
		rdb          redis.UniversalClient
		temporal     client.Client
		public, full int
		body         string
	}{
		{name: "Temporal down: the intake stays ready", rdb: newRedis(t), temporal: down,
			public: http.StatusOK, full: http.StatusServiceUnavailable, body: `{"Status":"ok"}`},
		{name: "Redis down: the intake is not ready", rdb: redis.NewClient(&redis.Options{Addr: deadRedis, MaxRetries: -1}), temporal: up,
			public: http.StatusServiceUnavailable, full: http.StatusServiceUnavailable, body: `{"Status":"unavailable"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBridge(tt.rdb, tt.temporal)
			w := serve(b.PublicRouter(), httptest.NewRequest(http.MethodGet, "/readyz?verbose", nil))
			assert.Equal(t, tt.public, w.Code)
			assert.JSONEq(t, tt.body, w.Body.String(), "no detail on the public listener")
			w = serve(b.InternalRouter(), httptest.NewRequest(http.MethodGet, "/readyz", nil))
			assert.Equal(t, tt.full, w.Code)
		})
	}
}
