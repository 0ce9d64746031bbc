package workflows_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

// TestNotificationRetriedForMoreThanThreeDays: a platform down for three
// days and a bit still gets the event once it is back, the delivery having
// been retried with growing, jittered delays (Standard Webhooks: a retry
// schedule spanning days). The test environment's cap of 10 attempts on an
// unlimited policy is lifted as the server has none (modelRetries).
func TestNotificationRetriedForMoreThanThreeDays(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&modelRetries{}}})
	var down atomic.Bool
	down.Store(true)
	h.platform.setRefuse(func(notify.Event) bool { return down.Load() })
	var attempts []time.Duration
	h.onActivity = func(name string) {
		if name == "NotifyPlatform" {
			attempts = append(attempts, h.env.Now().Sub(h.start))
		}
	}
	h.ensure(0, workflows.EnsureSessionRequest{})
	// Back more than three days later, yet early enough that an attempt is
	// due before the delivery window closes: the longest delay between two
	// attempts is NotifyRetryMax plus its 20% jitter. (At 72 h 30 min, some
	// events' jitter put the next attempt past the window: the test failed
	// now and then.)
	backAt := activities.NotifyDeliveryWindow - activities.NotifyRetryMax*6/5 - 5*time.Minute
	h.at(backAt, func() { down.Store(false) })
	h.cancel(80 * time.Hour)
	h.run(workflows.Config{})

	events := h.platform.events()
	require.NotEmpty(t, events)
	assert.Equal(t, "onboarding.awaiting_user", events[0], "the first event reached the platform after three days of retries")
	require.Greater(t, len(attempts), 10)
	var before []time.Duration // the attempts while the platform was down
	for _, a := range attempts {
		if a < backAt {
			before = append(before, a)
		}
	}
	require.Greater(t, len(before), 3)
	gaps := make([]time.Duration, 0, len(before)-1)
	for i := 1; i < len(before); i++ {
		gaps = append(gaps, before[i]-before[i-1])
	}
	assert.Less(t, gaps[0], gaps[3], "the delays grow: %v", gaps[:4])
	assert.NotEqual(t, gaps[len(gaps)-1], gaps[len(gaps)-2], "the capped delays are jittered")
	t.Logf("%d attempts while the platform was down, the last %s after the first", len(before), before[len(before)-1]-before[0])
}
