package mangopay_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

// windows builds the expected four windows.
func windows(made, remaining [4]int, reset [4]int64) [4]mangopay.RateLimitWindow {
	durations := [4]time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour}
	var out [4]mangopay.RateLimitWindow
	for i := range out {
		out[i] = mangopay.RateLimitWindow{Window: durations[i], Made: made[i], Remaining: remaining[i]}
		if reset[i] != 0 {
			out[i].Reset = time.Unix(reset[i], 0).UTC()
		}
	}
	return out
}

func TestRateLimitHeaders(t *testing.T) {
	docReset := [4]int64{1715241060, 1715241960, 1715243760, 1715326500}
	tests := []struct {
		name         string
		header       http.Header
		wantWindows  [4]mangopay.RateLimitWindow
		wantObserved bool
	}{
		{
			name: "documented example",
			header: http.Header{
				"X-Ratelimit":           {"63015, 121914, 228534, 7103921"},
				"X-Ratelimit-Remaining": {"2237, 4378, 8571, 98496"},
				"X-Ratelimit-Reset":     {"1715241060, 1715241960, 1715243760, 1715326500"},
			},
			wantWindows:  windows([4]int{63015, 121914, 228534, 7103921}, [4]int{2237, 4378, 8571, 98496}, docReset),
			wantObserved: true,
		},
		{
			name: "repeated header lines",
			header: http.Header{
				"X-Ratelimit":           {"1", "2", "3", "4"},
				"X-Ratelimit-Remaining": {"10, 20", "30,40"},
				"X-Ratelimit-Reset":     {"1715241060,1715241960", " 1715243760 , 1715326500 "},
			},
			wantWindows:  windows([4]int{1, 2, 3, 4}, [4]int{10, 20, 30, 40}, docReset),
			wantObserved: true,
		},
		{
			name: "garbage header is ignored, others applied",
			header: http.Header{
				"X-Ratelimit":           {"lots"},
				"X-Ratelimit-Remaining": {"10, 20, 30, 40"},
			},
			wantWindows:  windows([4]int{}, [4]int{10, 20, 30, 40}, [4]int64{}),
			wantObserved: true,
		},
		{
			name: "wrong number of values is ignored",
			header: http.Header{
				"X-Ratelimit":           {"1, 2, 3"},
				"X-Ratelimit-Remaining": {"1, 2, 3, 4, 5"},
				"X-Ratelimit-Reset":     {"1, 2, , 4"},
			},
			wantWindows: windows([4]int{}, [4]int{}, [4]int64{}),
		},
		{
			name:        "no headers",
			header:      http.Header{},
			wantWindows: windows([4]int{}, [4]int{}, [4]int64{}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("GET /hooks/hook_1", func(w http.ResponseWriter, _ *http.Request) {
				for k, vs := range tt.header {
					for _, v := range vs {
						w.Header().Add(k, v)
					}
				}
				_, _ = w.Write(readFixture(t, "hook.json"))
			})
			c := f.client(t)
			assert.True(t, c.RateLimits().ObservedAt.IsZero(), "nothing observed before the first call")

			_, err := c.GetHook(context.Background(), "hook_1")

			require.NoError(t, err)
			got := c.RateLimits()
			assert.Equal(t, tt.wantWindows, got.Windows)
			assert.Equal(t, tt.wantObserved, !got.ObservedAt.IsZero())
		})
	}
}

func TestRateLimits_KeepLatestAndReadOnErrors(t *testing.T) {
	f := newFake(t)
	f.handle("GET /hooks/hook_1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "5, 6, 7, 8")
		_, _ = w.Write(readFixture(t, "hook.json"))
	})
	f.handle("GET /hooks/hook_2", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0, 6, 7, 8")
		respond(t, http.StatusTooManyRequests, "error_429_rate_limit.json")(w, r)
	})
	c := f.client(t)

	_, err := c.GetHook(context.Background(), "hook_1")
	require.NoError(t, err)
	assert.Equal(t, 5, c.RateLimits().Windows[0].Remaining)

	_, err = c.GetHook(context.Background(), "hook_2")
	require.Error(t, err)
	assert.True(t, mangopay.IsRetryable(err))
	limits := c.RateLimits()
	assert.Equal(t, 0, limits.Windows[0].Remaining)
	tightest, ok := limits.Tightest()
	require.True(t, ok)
	assert.Equal(t, 15*time.Minute, tightest.Window)
}

func TestRateLimits_ObservedOnTokenEndpoint(t *testing.T) {
	f := newFake(t)
	f.headers.Set("X-RateLimit-Remaining", "1, 2, 3, 4")
	f.tokenFail = func(w http.ResponseWriter) bool {
		respond(t, http.StatusInternalServerError, "")(w, nil)
		return true
	}
	c := f.client(t)

	_, err := c.GetHook(context.Background(), "hook_1")

	require.Error(t, err)
	assert.Equal(t, 4, c.RateLimits().Windows[3].Remaining)
}

func TestRateLimits_ConcurrentReads(t *testing.T) {
	f := newFake(t)
	f.headers.Set("X-RateLimit", "1, 2, 3, 4")
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	c := f.client(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			_ = c.RateLimits()
		}
	}()

	for _, err := range getHooks(c, concurrentCallers) {
		require.NoError(t, err)
	}
	<-done

	assert.Equal(t, 4, c.RateLimits().Windows[3].Made)
}
