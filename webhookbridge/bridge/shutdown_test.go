package bridge_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kycflow/kycflow/webhookstream"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

// onTheWire is a Temporal whose signals, once sent, complete whatever the
// caller's context does (as a signal already on the wire does): each call
// announces itself on sending and returns when release is closed.
type onTheWire struct {
	*fakeTemporal
	sending chan string
	release chan struct{}
}

func (o *onTheWire) SignalWorkflow(_ context.Context, workflowID, runID, signalName string, arg any) error {
	o.sending <- arg.(webhookstream.MangopayEvent).EventKey
	<-o.release
	return o.fakeTemporal.SignalWorkflow(context.Background(), workflowID, runID, signalName, arg)
}

func (o *onTheWire) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error) {
	return o.fakeTemporal.SignalWithStartWorkflow(ctx, workflowID, signalName, signalArg, options, workflow, workflowArgs...)
}

// TestForwarderAcksAtShutdown: the bridge is asked to stop while a signal
// is on the wire; the signal goes through, and its entry is acknowledged
// despite the stop, so it is not signalled again after the restart.
func TestForwarderAcksAtShutdown(t *testing.T) {
	e := newForwarderEnv(t)
	tc := &onTheWire{fakeTemporal: newFakeTemporal(), sending: make(chan string, 1), release: make(chan struct{})}
	f := e.forwarder("a", tc, nil)
	ctx, stop := context.WithCancel(context.Background())
	f.Done = make(chan struct{})
	go func() { _ = f.Run(ctx) }()
	ev := e.append("USER_KYC_LIGHT", "u_1")
	select {
	case <-tc.sending:
	case <-time.After(waitFor):
		t.Fatal("the forwarder never signalled")
	}
	stop()
	close(tc.release)
	select {
	case <-f.Done:
	case <-time.After(waitFor):
		t.Fatal("the forwarder did not stop")
	}
	assert.Equal(t, map[string]int{ev.EventKey: 1}, tc.signalled())
	assert.Zero(t, e.pending(), "the signalled entry is acknowledged")

	// The restarted bridge has nothing to signal again.
	again := &onTheWire{fakeTemporal: newFakeTemporal(), sending: make(chan string, 10), release: make(chan struct{})}
	close(again.release)
	startForwarder(t, e.forwarder("a", again, nil))
	e.append("USER_KYC_LIGHT", "u_2")
	require.Eventually(t, func() bool { return len(again.signalled()) == 1 }, waitFor, tick)
	assert.Zero(t, again.signalled()[ev.EventKey], "not signalled twice")
}

// TestForwarderNoClaimWhileHandled: an entry whose handling outlasts
// ClaimIdle (Temporal hangs) is not taken by another bridge while its
// owner is still at it: a batch is given up, and retried by its owner,
// before the entry can be claimed.
func TestForwarderNoClaimWhileHandled(t *testing.T) {
	e := newForwarderEnv(t)
	hung := newFakeTemporal()
	hung.hang = make(chan struct{}) // calls return when their context ends
	a := e.forwarder("a", hung, nil)
	a.ClaimIdle = 4 * time.Second
	startForwarder(t, a)
	ev := e.append("USER_KYC_LIGHT", "u_1")
	attempts := func() int {
		hung.mu.Lock()
		defer hung.mu.Unlock()
		return hung.perKey[ev.EventKey]
	}
	require.Eventually(t, func() bool { return attempts() >= 1 }, waitFor, tick, "a reads the entry")

	b := newFakeTemporal()
	other := e.forwarder("b", b, nil)
	other.ClaimIdle = a.ClaimIdle
	startForwarder(t, other)

	// Owner "a" tries three times, which spans more than ClaimIdle.
	require.Eventually(t, func() bool { return attempts() >= 3 }, waitFor, tick, "the owner gives up its hung attempts and retries")
	assert.Empty(t, b.signalled(), "bridge b did not take the entry from its living owner")
	p, err := e.rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: webhookstream.StreamKey, Group: webhookstream.GroupName, Start: "-", End: "+", Count: 10}).Result()
	require.NoError(t, err)
	require.Len(t, p, 1)
	assert.Equal(t, "a", p[0].Consumer)
}

// TestForwarderClaimCursor: stale entries (their bridge died) behind more
// fresh pending entries than one XAUTOCLAIM scans are still claimed, the
// scan going on from where the last one stopped.
func TestForwarderClaimCursor(t *testing.T) {
	e := newForwarderEnv(t)
	ctx := context.Background()
	const busy, stale = 2100, 5
	pipe := e.rdb.Pipeline()
	for i := range busy + stale {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: webhookstream.StreamKey, Values: []string{"t", "USER_KYC_LIGHT", "r", "u_" + strconv.Itoa(i), "d", strconv.FormatInt(e.date, 10)}})
	}
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
	require.NoError(t, e.rdb.XGroupCreateMkStream(ctx, webhookstream.StreamKey, webhookstream.GroupName, "0").Err())
	msgs, err := e.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: webhookstream.GroupName, Consumer: "dead", Streams: []string{webhookstream.StreamKey, ">"}, Count: busy + stale}).Result()
	require.NoError(t, err)
	require.Len(t, msgs[0].Messages, busy+stale)
	var busyIDs []string
	for _, m := range msgs[0].Messages[:busy] {
		busyIDs = append(busyIDs, m.ID)
	}
	// A living bridge holds the first ones and keeps them fresh.
	keepFresh := func() error {
		return e.rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: webhookstream.StreamKey, Group: webhookstream.GroupName, Consumer: "alive", Messages: busyIDs}).Err()
	}
	require.NoError(t, keepFresh())
	fresh, stopFresh := context.WithCancel(ctx)
	freshDone := make(chan struct{})
	go func() {
		defer close(freshDone)
		for fresh.Err() == nil {
			_ = keepFresh() // the test's own checks say whether it worked
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { stopFresh(); <-freshDone })

	tc := newFakeTemporal()
	f := e.forwarder("b", tc, nil)
	f.ClaimIdle = time.Second
	startForwarder(t, f)
	require.Eventually(t, func() bool { return len(tc.signalled()) == stale }, waitFor, tick, "the stale entries are claimed and signalled")
	for i := busy; i < busy+stale; i++ {
		assert.Equal(t, 1, tc.signalled()[webhookstream.MangopayEvent{EventType: "USER_KYC_LIGHT", ResourceID: "u_" + strconv.Itoa(i), Date: e.date}.Key()])
	}
}

// TestForwarderForgetsIdleConsumers: a consumer idle for ForgetIdle with
// nothing pending (a bridge renamed or scaled away) leaves the group; one
// that holds pending entries stays, whatever its idle time.
func TestForwarderForgetsIdleConsumers(t *testing.T) {
	e := newForwarderEnv(t)
	ctx := context.Background()
	require.NoError(t, e.rdb.XGroupCreateMkStream(ctx, webhookstream.StreamKey, webhookstream.GroupName, "0").Err())
	require.NoError(t, e.rdb.XGroupCreateConsumer(ctx, webhookstream.StreamKey, webhookstream.GroupName, "gone").Err())
	e.append("USER_KYC_LIGHT", "u_held")
	require.NoError(t, e.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: webhookstream.GroupName, Consumer: "holder", Streams: []string{webhookstream.StreamKey, ">"}, Count: 1}).Err())

	f := e.forwarder("a", newFakeTemporal(), nil)
	f.ClaimIdle = time.Hour // "holder" keeps its entry for this test
	f.ForgetIdle = 500 * time.Millisecond
	startForwarder(t, f)
	names := func() []string {
		cs, err := e.rdb.XInfoConsumers(ctx, webhookstream.StreamKey, webhookstream.GroupName).Result()
		require.NoError(t, err)
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	require.Eventually(t, func() bool {
		n := names()
		return len(n) == 2 && slices.Contains(n, "a") && slices.Contains(n, "holder")
	}, waitFor, tick, "the idle consumer is removed")
	assert.ElementsMatch(t, []string{"a", "holder"}, names())
	assert.Equal(t, int64(1), e.pending(), "the holder's entry is still pending")
}
