package activities_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/mangopay"
)

func TestPriorityOf(t *testing.T) {
	tests := []struct {
		activity string
		key      int
		want     mangopay.Priority
	}{
		{"CreateSession", 0, mangopay.PriorityInteractive},
		{"ReadUser", 0, mangopay.PriorityInteractive},
		{"SubmitDocument", 0, mangopay.PriorityInteractive},
		{"GetSession", 0, mangopay.PriorityWebhook},
		{"GetDocument", 0, mangopay.PriorityWebhook},
		{"ReconcileEvents", 0, mangopay.PriorityBackground},
		{"GetSession", 5, mangopay.PriorityBackground},
		{"GetSession", 1, mangopay.PriorityInteractive},
		{"CreateSession", 3, mangopay.PriorityWebhook},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, activities.PriorityOf(tt.activity, tt.key), "%s key %d", tt.activity, tt.key)
	}
}

// recordingLimiter admits every call and records its priority.
type recordingLimiter struct {
	mu    sync.Mutex
	calls []mangopay.Call
}

func (r *recordingLimiter) Wait(_ context.Context, c mangopay.Call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	return nil
}

func (r *recordingLimiter) Done(mangopay.Call, int, mangopay.RateLimits) {}

func TestPriorityInterceptorTagsCalls(t *testing.T) {
	h := newHarness(t)
	owner := h.naturalUser(t, mangopay.UserCategoryOwner)
	lim := &recordingLimiter{}
	mp, err := mangopay.New(mangopay.Config{BaseURL: h.url, ClientID: h.sim.ClientID(), APIKey: mangopay.DevAPIKey, Limiter: lim})
	require.NoError(t, err)
	acts := *h.acts
	acts.Mangopay = mp
	env := h.env()
	env.RegisterActivity(&acts)
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&activities.PriorityInterceptor{}}})

	_, err = env.ExecuteActivity(acts.ReadUser, activities.ReadUserInput{UserID: owner})
	require.NoError(t, err)
	require.NotEmpty(t, lim.calls)
	for _, c := range lim.calls {
		assert.Equal(t, mangopay.PriorityInteractive, c.Priority, "%s %s", c.Method, c.Route)
	}
}
