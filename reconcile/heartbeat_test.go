package reconcile_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/workflows"
)

// A page can wait longer than the feed's heartbeat timeout (a slow
// Mangopay, the call budget's rate-limit pause): the feed must still say it
// is alive meanwhile, or Temporal times the attempt out, starts it again,
// and skips every scheduled run until then — the dropped webhooks wait. A
// load run lost users to that (the heartbeat came only after each page).
func TestFeedHeartbeatsWhileAPageWaits(t *testing.T) {
	w := newWorld(t)
	w.feed.EventTypes = []mangopay.EventType{workflows.HookEventTypes[0]} // one page
	// Each call takes 3 s; the feed heartbeats every 20 ms.
	w.sim.SetFaults(sandbox.Faults{APILatencyMs: 3000})
	acts := &reconcile.Activities{Feeder: w.feed, Redis: w.rdb, Config: reconcile.DefaultConfig(), HeartbeatEvery: 20 * time.Millisecond}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts.FeedEventsSinceCursor, activity.RegisterOptions{Name: reconcile.ActivityFeed})
	var mu sync.Mutex
	var beats, beforeAPage int
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		beats++
		if !details.HasValues() {
			beforeAPage++
		}
	})
	v, err := env.ExecuteActivity(reconcile.ActivityFeed, reconcile.FeedInput{})
	require.NoError(t, err)
	var res reconcile.FeedResult
	require.NoError(t, v.Get(&res))
	assert.Equal(t, 1, res.Calls)

	mu.Lock()
	defer mu.Unlock()
	assert.Positive(t, beforeAPage, "no heartbeat while the only page waited (%d heartbeats in all)", beats)
}
