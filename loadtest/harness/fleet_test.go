package harness_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/loadtest/harness"
)

// The open-onboardings profile, small: every signup reaches AWAITING_USER
// on one worker, its memory is sampled along the way, and with a sticky
// cache smaller than the open onboardings (80: 40 samples fit in half of
// it) the evicted ones are replayed (cache misses) where the cached ones
// are not.
func TestOpenProfile(t *testing.T) {
	sys := profile(t)
	sys.Users = 200
	sys.WorkerEnv = []string{"WORKER_STICKY_CACHE_SIZE=80"}
	cfg := harness.OpenConfig{System: sys, Concurrency: 16, Step: 50, Hold: 2 * time.Second, MissSamples: 40, HeapProfile: true}

	r, err := harness.RunOpen(context.Background(), cfg, binaries(t))
	require.NoError(t, err)
	var table bytes.Buffer
	r.Table(&table)
	t.Log("\n" + table.String())

	assert.Equal(t, 200, r.Opened)
	assert.Zero(t, r.Failed, r.FirstError)
	opens := make([]int, len(r.Curve))
	for i, p := range r.Curve {
		opens[i] = p.Open
		assert.Positive(t, p.Mem.RSS, "RSS at %d open", p.Open)
		assert.GreaterOrEqual(t, p.Mem.HWM, p.Mem.RSS, "the peak is at least the current")
	}
	assert.Equal(t, []int{0, 50, 100, 150, 200}, opens)
	assert.LessOrEqual(t, r.Held.Cached, 80, "the cache holds at most its size")
	assert.Equal(t, 400, r.Calls, "two Mangopay calls per signup: read the user, create the session")
	assert.NotEmpty(t, r.HeapProfile, r.Notes["heap_profile"])

	require.Empty(t, r.Miss.Skipped)
	assert.Equal(t, 40, r.Miss.Evicted.Count)
	assert.Equal(t, 40, r.Miss.Cached.Count)
	assert.Greater(t, r.Miss.Evicted.Misses, r.Miss.Cached.Misses, "the evicted onboardings miss the cache: %+v", r.Miss)
}

// The renewal wave, small: 200 verified users, 40 of them downgraded within
// 10 s; every one is reopened with a new session and HostedUrl, nobody
// else is, and the calls stay within the budget.
func TestWaveProfile(t *testing.T) {
	sys := profile(t)
	sys.Users, sys.Workers, sys.Bridges = 200, 1, 1
	cfg := harness.WaveConfig{System: sys, Concurrency: 16, Share: 0.2, Window: 10 * time.Second, WaveDeadline: 3 * time.Minute,
		BudgetRate: 50, BudgetBurst: 300, SignupRate: 2, QuietProbe: 10 * time.Second}

	r, err := harness.RunWave(context.Background(), cfg, binaries(t))
	require.NoError(t, err)
	var table bytes.Buffer
	r.Table(&table)
	t.Log("\n" + table.String())

	assert.Equal(t, 200, r.Verified, r.FirstError)
	assert.Equal(t, 40, r.Wave.Affected)
	assert.Equal(t, 40, r.Wave.Reopened)
	assert.True(t, r.Budget.Kept, "%+v", r.Budget)
	assert.True(t, r.OK(), "%+v", r.Wave)
	assert.Positive(t, r.Wave.ToAll)
	// Every affected user's downgrade webhook reached its workflow.
	wh := r.Webhooks
	assert.Empty(t, wh.Error)
	assert.GreaterOrEqual(t, wh.Sent, 40, "the wave's webhooks")
	assert.GreaterOrEqual(t, wh.ToState.Count, 40, "webhooks matched to the signal they became")
	assert.Zero(t, wh.Unsignalled)
	// The stage breakdown covers the same webhooks, and the wave's bound
	// counts its calls.
	assert.Equal(t, wh.ToState.Count, wh.Stages.ToState.Count)
	assert.Contains(t, wh.Stages.Stages, harness.StageToSignal)
	assert.Contains(t, wh.Stages.Stages, harness.StageSignalToTask)
	assert.Positive(t, r.Bound.Calls)
	// New users signed up before and all through the wave, each timed.
	require.NotNil(t, r.Signups)
	assert.Empty(t, r.Signups.StagesError)
	for _, p := range []harness.SignupProbe{r.Signups.Quiet, r.Signups.Sweep} {
		assert.Positive(t, p.Sent)
		assert.Zero(t, p.Failed)
		assert.Equal(t, p.Sent, p.Latency.Count)
		// Every signup's history was read and split.
		assert.Equal(t, p.Latency.Count, p.StagesRead)
		assert.Contains(t, p.Stages, harness.SignupTaskDispatch)
		assert.Contains(t, p.Stages, harness.SignupTaskRun)
		// A signup's calls run inside its workflow task: no activity.
		assert.NotContains(t, p.Stages, harness.SignupActivityRun)
		assert.NotEmpty(t, p.Slowest)
	}
	// 20 signups a side are too few for a p99: the report says so.
	assert.Contains(t, r.Signups.Why, "too few signups")
	// The new users' calls are not the wave's: 2 calls (read the user,
	// create the session) for each signup during the wave.
	assert.GreaterOrEqual(t, r.SignupCalls, 2*r.Signups.Sweep.Sent)
	assert.NotContains(t, r.WaveCalls, "POST /sca/users/natural")
}
