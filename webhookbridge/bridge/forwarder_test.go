package bridge_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/syncbuf"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// sent is one signal the fake Temporal took.
type sent struct {
	WorkflowID string
	Signal     string
	Event      webhookstream.MangopayEvent
	Start      *client.StartWorkflowOptions // set for SignalWithStartWorkflow
	WorkflowFn any
	Args       []any
}

// fakeTemporal is the forwarder's Signaler: it records what it is sent and
// can play an outage, missing workflows, a poisoned signal or a hang.
type fakeTemporal struct {
	mu     sync.Mutex
	calls  []string // EventKey of every SignalWorkflow attempt, in order
	sent   []sent   // the signals that succeeded
	starts []sent   // SignalWithStartWorkflow calls

	down       bool                                       // fail every call with Unavailable
	notFound   map[string]bool                            // workflow IDs with no running workflow
	poison     map[string]error                           // workflow ID → a permanent error
	hang       chan struct{}                              // when set, calls block until it is closed or ctx ends
	entered    chan string                                // receives the EventKey of each call that hangs
	seenStarts map[string]bool                            // workflows started by SignalWithStartWorkflow
	perKey     map[string]int                             // attempts per EventKey
	closed     map[string]enumspb.WorkflowExecutionStatus // closed workflows (Describe)
}

var _ bridge.Signaler = (*fakeTemporal)(nil)

func newFakeTemporal() *fakeTemporal {
	return &fakeTemporal{notFound: map[string]bool{}, poison: map[string]error{}, perKey: map[string]int{}, seenStarts: map[string]bool{}}
}

func (f *fakeTemporal) SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error {
	ev := arg.(webhookstream.MangopayEvent)
	f.mu.Lock()
	f.calls = append(f.calls, ev.EventKey)
	f.perKey[ev.EventKey]++
	hang, entered := f.hang, f.entered
	f.mu.Unlock()
	if hang != nil {
		if entered != nil {
			entered <- ev.EventKey
		}
		select {
		case <-hang:
		case <-ctx.Done():
			return fmt.Errorf("signal: %w", ctx.Err())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.down:
		return serviceerror.NewUnavailable("test: temporal is down")
	case f.poison[workflowID] != nil:
		return f.poison[workflowID]
	case f.notFound[workflowID] && !f.seenStarts[workflowID]:
		return serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	f.sent = append(f.sent, sent{WorkflowID: workflowID, Signal: signalName, Event: ev})
	return nil
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := sent{WorkflowID: workflowID, Signal: signalName, Event: signalArg.(webhookstream.MangopayEvent), Start: &options, WorkflowFn: workflow, Args: workflowArgs}
	f.starts = append(f.starts, s)
	f.seenStarts[workflowID] = true
	return nil, nil
}

// DescribeWorkflowExecution: a closed workflow when set in closed, none
// for notFound ones (unless started since), a running one otherwise.
func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, workflowID, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	status := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	switch st, ok := f.closed[workflowID]; {
	case ok:
		status = st
	case f.notFound[workflowID] && !f.seenStarts[workflowID]:
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}, nil
}

func (f *fakeTemporal) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeTemporal) snapshot() (calls []string, sentOK []sent, starts []sent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...), append([]sent(nil), f.sent...), append([]sent(nil), f.starts...)
}

// signalled counts the successful signals per EventKey.
func (f *fakeTemporal) signalled() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[string]int{}
	for _, s := range f.sent {
		n[s.Event.EventKey]++
	}
	for _, s := range f.starts {
		n[s.Event.EventKey]++
	}
	return n
}

func (f *fakeTemporal) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// forwarderEnv is a stream, a routing index and a metrics set for one test.
type forwarderEnv struct {
	t       *testing.T
	rdb     *redis.Client
	store   *webhookstream.Store
	index   *routing.Index
	metrics *bridge.Metrics
	date    int64
}

func newForwarderEnv(t *testing.T) *forwarderEnv {
	rdb := newRedis(t)
	return &forwarderEnv{t: t, rdb: rdb, store: webhookstream.NewStore(rdb), index: routing.NewIndex(rdb, 0),
		metrics: bridge.NewMetrics(nil), date: time.Now().Unix() - 60}
}

// forwarder returns a forwarder on the env with fast test settings.
func (e *forwarderEnv) forwarder(consumer string, tc bridge.Signaler, mp *mangopay.Client) *bridge.Forwarder {
	return &bridge.Forwarder{
		RDB: e.rdb, Temporal: tc, Resolver: &bridge.Resolver{Index: e.index, Mangopay: mp},
		Metrics: e.metrics, Logger: quietLogger(), Consumer: consumer, MaxAttempts: 3, ClaimIdle: time.Second,
	}
}

// append stores a webhook as the intake would and returns its event.
func (e *forwarderEnv) append(eventType, resourceID string) webhookstream.MangopayEvent {
	e.t.Helper()
	ev := ev(eventType, resourceID, e.date)
	require.NoError(e.t, e.store.Append(context.Background(), ev, time.Now()))
	return ev
}

// handled is how many entries the forwarders are done with.
func (e *forwarderEnv) handled() int {
	m := e.metrics
	return int(testutil.ToFloat64(m.Forwarded) + testutil.ToFloat64(m.Duplicates) + testutil.ToFloat64(m.Unrouted) + testutil.ToFloat64(m.DeadLettered))
}

// pending is the consumer group's count of unacknowledged entries.
func (e *forwarderEnv) pending() int64 {
	p, err := e.rdb.XPending(context.Background(), webhookstream.StreamKey, webhookstream.GroupName).Result()
	if err != nil {
		return -1 // the group does not exist yet
	}
	return p.Count
}

// waitHandled waits until n entries are handled and acknowledged.
func (e *forwarderEnv) waitHandled(n int) {
	e.t.Helper()
	require.Eventually(e.t, func() bool { return e.handled() >= n && e.pending() == 0 }, waitFor, tick,
		"waiting for %d entries handled and acknowledged (handled %d, pending %d)", n, e.handled(), e.pending())
	assert.Equal(e.t, n, e.handled(), "no entry handled twice")
}

// entries reads one of the bridge's streams as field maps.
func (e *forwarderEnv) entries(key string) []map[string]string {
	e.t.Helper()
	var out []map[string]string
	for _, m := range streamEntries(e.t, e.rdb, key) {
		row := map[string]string{"id": m.ID}
		for k, v := range m.Values {
			row[k] = v.(string)
		}
		out = append(out, row)
	}
	return out
}

func TestForwarderRouting(t *testing.T) {
	_, mp, _ := newSim(t)
	simUser := createUser(t, mp)
	session, err := mp.CreateIdentityVerification(context.Background(), simUser, &mangopay.CreateIdentityVerificationParams{ReturnURL: platformReturnURL})
	require.NoError(t, err)
	doc, err := mp.CreateKYCDocument(context.Background(), simUser, &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCIdentityProof})
	require.NoError(t, err)

	tests := []struct {
		name         string
		eventType    string
		resourceID   string
		index        map[routing.Kind]map[string]string // written before the event
		noFallback   bool                               // the resolver has no Mangopay client
		wantWorkflow string                             // signalled; empty: unrouted
		wantIndexed  *[3]string                         // kind, resource, user written by the fallback
		wantReason   string                             // part of the unrouted entry's err
	}{
		{name: "USER_* names the user", eventType: "USER_KYC_LIGHT", resourceID: "u_1", wantWorkflow: "kyc-u_1"},
		{name: "USER_KYC_REGULAR too", eventType: "USER_KYC_REGULAR", resourceID: "u_2", wantWorkflow: "kyc-u_2"},
		{name: "a block of the user's flows", eventType: "USER_OUTFLOWS_BLOCKED", resourceID: "u_6", wantWorkflow: "kyc-u_6"},
		{name: "IDV event through the index", eventType: "IDENTITY_VERIFICATION_VALIDATED", resourceID: "idv_9",
			index: map[routing.Kind]map[string]string{routing.KindSession: {"idv_9": "u_3"}}, wantWorkflow: "kyc-u_3"},
		{name: "KYC event through the index", eventType: "KYC_SUCCEEDED", resourceID: "doc_9",
			index: map[routing.Kind]map[string]string{routing.KindDocument: {"doc_9": "u_4"}}, wantWorkflow: "kyc-u_4"},
		{name: "a session id is not a document id", eventType: "KYC_FAILED", resourceID: "same_1", noFallback: true,
			index: map[routing.Kind]map[string]string{routing.KindSession: {"same_1": "u_5"}}, wantReason: "not in the routing index"},
		{name: "IDV event: index miss, Mangopay knows", eventType: "IDENTITY_VERIFICATION_FAILED", resourceID: session.ID,
			wantWorkflow: "kyc-" + simUser, wantIndexed: &[3]string{string(routing.KindSession), session.ID, simUser}},
		{name: "KYC event: index miss, Mangopay knows", eventType: "KYC_OUTDATED", resourceID: doc.ID,
			wantWorkflow: "kyc-" + simUser, wantIndexed: &[3]string{string(routing.KindDocument), doc.ID, simUser}},
		{name: "IDV event Mangopay does not know", eventType: "IDENTITY_VERIFICATION_VALIDATED", resourceID: "idv_nobody",
			wantReason: "Mangopay does not know"},
		{name: "index miss without fallback", eventType: "IDENTITY_VERIFICATION_VALIDATED", resourceID: "idv_x", noFallback: true,
			wantReason: "not in the routing index"},
		{name: "unknown event type", eventType: "PAYIN_NORMAL_SUCCEEDED", resourceID: "pay_1", wantReason: "does not handle PAYIN_NORMAL_SUCCEEDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newForwarderEnv(t)
			for kind, m := range tt.index {
				for res, user := range m {
					require.NoError(t, e.index.Put(context.Background(), kind, res, user))
				}
			}
			tc := newFakeTemporal()
			fmp := mp
			if tt.noFallback {
				fmp = nil
			}
			event := e.append(tt.eventType, tt.resourceID)
			startForwarder(t, e.forwarder("a", tc, fmp))
			e.waitHandled(1)

			_, got, _ := tc.snapshot()
			unrouted := e.entries(webhookstream.UnroutedKey)
			if tt.wantWorkflow == "" {
				assert.Empty(t, got, "nothing signalled")
				require.Len(t, unrouted, 1, "recorded for operators")
				assert.Equal(t, tt.eventType, unrouted[0]["t"])
				assert.Equal(t, tt.resourceID, unrouted[0]["r"])
				assert.Contains(t, unrouted[0]["err"], tt.wantReason)
				assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Unrouted))
				return
			}
			assert.Empty(t, unrouted)
			require.Len(t, got, 1)
			assert.Equal(t, sent{WorkflowID: tt.wantWorkflow, Signal: workflows.SignalMangopayEvent, Event: event}, got[0])
			assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Forwarded))
			assert.Equal(t, uint64(1), histogramCount(t, e.metrics), "the lag is observed")
			if w := tt.wantIndexed; w != nil {
				user, found, err := e.index.Lookup(context.Background(), routing.Kind(w[0]), w[1])
				require.NoError(t, err)
				assert.True(t, found, "the fallback writes the index")
				assert.Equal(t, w[2], user)
			}
		})
	}
}

// histogramCount is the forwarder lag histogram's sample count.
func histogramCount(t testing.TB, m *bridge.Metrics) uint64 {
	t.Helper()
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "kycflow_forwarder_lag_seconds" {
			for _, m := range f.GetMetric() {
				if m.GetLabel()[0].GetValue() == "forwarded" {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatal("no kycflow_forwarder_lag_seconds")
	return 0
}

// TestForwarderTemporalDownThenBack: while Temporal is unreachable the
// forwarder keeps every event pending and backs off; no outage counts
// towards the dead-letter limit; once Temporal is back each event is
// signalled exactly once, including those that arrived during the outage.
func TestForwarderTemporalDownThenBack(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	tc.setDown(true)
	const before, during = 20, 5
	var keys []string
	for i := range before {
		keys = append(keys, e.append("USER_KYC_LIGHT", "u_"+strconv.Itoa(i)).EventKey)
	}
	f := e.forwarder("a", tc, nil) // MaxAttempts 3: the outage lasts longer
	startForwarder(t, f)

	// Five rounds of failures: every event tried five times.
	const rounds = 5
	require.Eventually(t, func() bool { return tc.attempts() >= rounds*before }, waitFor, tick, "attempts during the outage")
	for i := range during {
		keys = append(keys, e.append("USER_KYC_LIGHT", "late_"+strconv.Itoa(i)).EventKey)
	}
	require.Eventually(t, func() bool { return tc.attempts() >= (rounds+1)*before }, waitFor, tick, "one more round")

	assert.Equal(t, int64(before), e.pending(), "every event read is kept pending, none acknowledged")
	assert.Empty(t, e.entries(webhookstream.DeadLetterKey), "an outage is not the event's fault: nothing dead-lettered")
	assert.Equal(t, 0, e.handled())
	_, got, _ := tc.snapshot()
	assert.Empty(t, got)

	// The backoff: a forwarder retrying in a loop would make thousands of
	// attempts meanwhile instead of about (rounds+1)*before. (Counted, not
	// timed: the backoff type's own test checks its delays.)
	tc.mu.Lock()
	calls := len(tc.calls)
	tc.mu.Unlock()
	assert.Less(t, calls, (rounds+3)*before, "no retry storm")

	tc.setDown(false)
	e.waitHandled(before + during)
	counts := tc.signalled()
	for _, k := range keys {
		assert.Equal(t, 1, counts[k], "event %s signalled exactly once", k)
	}
	assert.Len(t, counts, before+during)
	assert.Equal(t, float64(before+during), testutil.ToFloat64(e.metrics.Forwarded))
	assert.Empty(t, e.entries(webhookstream.DeadLetterKey))
}

// TestForwarderClaimsEntriesOfAKilledBridge: bridge "a" reads entries and
// dies before acknowledging them; bridge "b" claims them once they have
// been idle for ClaimIdle and signals each once.
func TestForwarderClaimsEntriesOfAKilledBridge(t *testing.T) {
	e := newForwarderEnv(t)
	const n = 5
	var keys []string
	for i := range n {
		keys = append(keys, e.append("USER_KYC_LIGHT", "u_"+strconv.Itoa(i)).EventKey)
	}

	hung := newFakeTemporal()
	hung.hang, hung.entered = make(chan struct{}), make(chan string, n)
	a := e.forwarder("a", hung, nil)
	ctx, kill := context.WithCancel(context.Background())
	a.Done = make(chan struct{})
	go func() { _ = a.Run(ctx) }()
	for range n {
		select {
		case <-hung.entered: // "a" has read the entry and is signalling it
		case <-time.After(waitFor):
			t.Fatal("bridge a never read the entries")
		}
	}
	kill()
	<-a.Done
	_, got, _ := hung.snapshot()
	require.Empty(t, got, "a signalled nothing")
	p, err := e.rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: webhookstream.StreamKey, Group: webhookstream.GroupName, Start: "-", End: "+", Count: 100}).Result()
	require.NoError(t, err)
	require.Len(t, p, n, "a left its entries pending")
	for _, pe := range p {
		assert.Equal(t, "a", pe.Consumer)
	}

	tc := newFakeTemporal()
	b := e.forwarder("b", tc, nil)
	b.ClaimIdle = 300 * time.Millisecond
	startForwarder(t, b)
	e.waitHandled(n)
	counts := tc.signalled()
	for _, k := range keys {
		assert.Equal(t, 1, counts[k], "event %s signalled once", k)
	}
}

// TestForwarderDuplicates: Mangopay's retries and duplicate deliveries put
// the same event in the stream several times; it is signalled once.
func TestForwarderDuplicates(t *testing.T) {
	t.Run("in one batch", func(t *testing.T) {
		e := newForwarderEnv(t)
		const n = 50
		var keys []string
		for i := range n {
			ev := e.append("USER_KYC_LIGHT", "u_"+strconv.Itoa(i))
			e.append("USER_KYC_LIGHT", "u_"+strconv.Itoa(i))
			keys = append(keys, ev.EventKey)
		}
		tc := newFakeTemporal()
		startForwarder(t, e.forwarder("a", tc, nil))
		e.waitHandled(2 * n)
		counts := tc.signalled()
		for _, k := range keys {
			assert.Equal(t, 1, counts[k], "event %s signalled once", k)
		}
		assert.Equal(t, float64(n), testutil.ToFloat64(e.metrics.Duplicates))
	})

	t.Run("a retry after the first was forwarded", func(t *testing.T) {
		e := newForwarderEnv(t)
		tc := newFakeTemporal()
		startForwarder(t, e.forwarder("a", tc, nil))
		// The route first: a forwarder quicker than the test would otherwise
		// find no route for the first copy.
		require.NoError(t, e.index.Put(context.Background(), routing.KindSession, "idv_1", "u_1"))
		first := e.append("IDENTITY_VERIFICATION_VALIDATED", "idv_1")
		e.waitHandled(1)
		e.append("IDENTITY_VERIFICATION_VALIDATED", "idv_1")
		e.waitHandled(2)
		assert.Equal(t, map[string]int{first.EventKey: 1}, tc.signalled())
		assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Duplicates))

		t.Run("another date is another event", func(t *testing.T) {
			e.date++
			e.append("IDENTITY_VERIFICATION_VALIDATED", "idv_1")
			e.waitHandled(3)
			assert.Len(t, tc.signalled(), 2)
		})
	})

	t.Run("two forwarders on one stream", func(t *testing.T) {
		// Bridge a takes the first copy and is still signalling it when
		// bridge b takes the second: b must drop it, not signal it too.
		e := newForwarderEnv(t)
		slow := newFakeTemporal()
		slow.hang, slow.entered = make(chan struct{}), make(chan string, 1)
		startForwarder(t, e.forwarder("a", slow, nil))
		first := e.append("USER_KYC_LIGHT", "u_1")
		select {
		case <-slow.entered:
		case <-time.After(waitFor):
			t.Fatal("bridge a never took the first copy")
		}
		fast := newFakeTemporal()
		startForwarder(t, e.forwarder("b", fast, nil))
		e.append("USER_KYC_LIGHT", "u_1")
		require.Eventually(t, func() bool { return testutil.ToFloat64(e.metrics.Duplicates) == 1 }, waitFor, tick,
			"bridge b drops the second copy")
		close(slow.hang)
		e.waitHandled(2)
		assert.Empty(t, fast.signalled())
		assert.Equal(t, map[string]int{first.EventKey: 1}, slow.signalled())
	})

	t.Run("two forwarders, many duplicates", func(t *testing.T) {
		e := newForwarderEnv(t)
		tc := newFakeTemporal()
		startForwarder(t, e.forwarder("a", tc, nil))
		startForwarder(t, e.forwarder("b", tc, nil))
		const n = 100
		var keys []string
		for i := range n {
			ev := ev("USER_KYC_LIGHT", "u_"+strconv.Itoa(i), e.date)
			keys = append(keys, ev.EventKey)
			for range 2 {
				require.NoError(t, e.store.Append(context.Background(), ev, time.Now()))
			}
		}
		e.waitHandled(2 * n)
		counts := tc.signalled()
		for _, k := range keys {
			assert.Equal(t, 1, counts[k], "event %s signalled once", k)
		}
		assert.Equal(t, float64(n), testutil.ToFloat64(e.metrics.Duplicates))
	})
}

// TestForwarderDeadLetterAndReplay: an event Temporal refuses for good is
// retried MaxAttempts times, then dead-lettered so that it stops blocking;
// an operator lists it, fixes the cause and replays it, and it is
// signalled once.
func TestForwarderDeadLetterAndReplay(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	tc.poison["kyc-u_bad"] = serviceerror.NewInvalidArgument("test: payload rejected")
	startForwarder(t, e.forwarder("a", tc, nil))
	good := e.append("USER_KYC_LIGHT", "u_good")
	bad := e.append("USER_KYC_LIGHT", "u_bad")

	e.waitHandled(2)
	assert.Equal(t, map[string]int{good.EventKey: 1}, tc.signalled(), "the good event is not held up")
	tc.mu.Lock()
	assert.Equal(t, 3, tc.perKey[bad.EventKey], "tried MaxAttempts times")
	tc.mu.Unlock()
	assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.DeadLettered))

	dls, _, err := bridge.ListParked(context.Background(), e.rdb, bridge.DeadLetters, "", 10)
	require.NoError(t, err)
	require.Len(t, dls, 1)
	dl := dls[0]
	assert.Equal(t, "USER_KYC_LIGHT", dl.EventType)
	assert.Equal(t, "u_bad", dl.ResourceID)
	assert.Equal(t, strconv.FormatInt(bad.Date, 10), dl.Date)
	assert.Contains(t, dl.Error, "payload rejected")
	assert.NotEmpty(t, dl.OriginalID)

	_, err = bridge.ReplayParked(context.Background(), e.rdb, bridge.DeadLetters, "0-1")
	require.ErrorIs(t, err, bridge.ErrNoSuchEntry)

	tc.mu.Lock()
	delete(tc.poison, "kyc-u_bad") // the operator fixed the cause
	tc.mu.Unlock()
	n, err := bridge.ReplayParked(context.Background(), e.rdb, bridge.DeadLetters, dl.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	e.waitHandled(3)
	assert.Equal(t, map[string]int{good.EventKey: 1, bad.EventKey: 1}, tc.signalled())
	dls, _, err = bridge.ListParked(context.Background(), e.rdb, bridge.DeadLetters, "", 10)
	require.NoError(t, err)
	assert.Empty(t, dls, "replayed dead letters leave the dead-letter stream")
}

func TestForwarderMalformedEntryDeadLettered(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	require.NoError(t, e.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: webhookstream.StreamKey, Values: []string{"t", "USER_KYC_LIGHT", "d", "not-a-date"}}).Err())
	startForwarder(t, e.forwarder("a", tc, nil))
	e.waitHandled(1)
	dls, _, err := bridge.ListParked(context.Background(), e.rdb, bridge.DeadLetters, "", 10)
	require.NoError(t, err)
	require.Len(t, dls, 1)
	assert.Contains(t, dls[0].Error, "malformed")
	assert.Zero(t, tc.attempts())
}

// TestForwarderNoOnboarding: Temporal has no workflow for the user. A
// downgrade restarts the onboarding (signal-with-start); anything else is
// recorded for operators.
func TestForwarderNoOnboarding(t *testing.T) {
	tests := []struct {
		name        string
		eventType   string
		resourceID  string
		session     bool // resourceID is a session of u_1 in the index
		wantRestart bool
	}{
		{name: "USER_KYC_LIGHT restarts", eventType: "USER_KYC_LIGHT", resourceID: "u_1", wantRestart: true},
		{name: "IDENTITY_VERIFICATION_OUTDATED restarts", eventType: "IDENTITY_VERIFICATION_OUTDATED", resourceID: "idv_1", session: true, wantRestart: true},
		{name: "IDENTITY_VERIFICATION_VALIDATED is recorded", eventType: "IDENTITY_VERIFICATION_VALIDATED", resourceID: "idv_1", session: true},
		{name: "USER_KYC_REGULAR is recorded", eventType: "USER_KYC_REGULAR", resourceID: "u_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newForwarderEnv(t)
			if tt.session {
				require.NoError(t, e.index.Put(context.Background(), routing.KindSession, tt.resourceID, "u_1"))
			}
			tc := newFakeTemporal()
			tc.notFound["kyc-u_1"] = true
			event := e.append(tt.eventType, tt.resourceID)
			f := e.forwarder("a", tc, nil)
			f.RestartReturnURL = "https://platform.example/kyc/again"
			f.RestartUnknownUsers = true
			startForwarder(t, f)
			e.waitHandled(1)

			_, got, starts := tc.snapshot()
			assert.Empty(t, got)
			if !tt.wantRestart {
				assert.Empty(t, starts)
				unrouted := e.entries(webhookstream.UnroutedKey)
				require.Len(t, unrouted, 1)
				assert.Contains(t, unrouted[0]["err"], "no onboarding for user u_1")

				// Once the onboarding exists, Mangopay's retry of the same
				// event is forwarded, not dropped as a duplicate.
				tc.mu.Lock()
				delete(tc.notFound, "kyc-u_1")
				tc.mu.Unlock()
				e.append(tt.eventType, tt.resourceID)
				e.waitHandled(2)
				assert.Equal(t, map[string]int{event.EventKey: 1}, tc.signalled())
				return
			}
			require.Len(t, starts, 1)
			s := starts[0]
			assert.Equal(t, "kyc-u_1", s.WorkflowID)
			assert.Equal(t, workflows.SignalMangopayEvent, s.Signal)
			assert.Equal(t, event, s.Event)
			assert.Equal(t, "kyc-u_1", s.Start.ID)
			assert.Equal(t, workflows.TaskQueue, s.Start.TaskQueue)
			assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, s.Start.WorkflowIDConflictPolicy, "never a second onboarding")
			assert.Equal(t, workflows.WorkflowType, s.WorkflowFn)
			require.Len(t, s.Args, 1)
			assert.Equal(t, workflows.Input{UserID: "u_1", ReturnURL: "https://platform.example/kyc/again"}, s.Args[0])
			assert.NotContains(t, s.Start.StaticSummary, "Alex", "no PII in the summary")
			assert.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Restarted))
			assert.Empty(t, e.entries(webhookstream.UnroutedKey))
		})
	}
}

// TestForwarderRedisDown: the forwarder waits Redis out and still stops
// when asked.
func TestForwarderRedisDown(t *testing.T) {
	logs := &syncbuf.Buffer{}
	f := &bridge.Forwarder{
		RDB: redistest.Unreachable(t), Temporal: newFakeTemporal(), Resolver: &bridge.Resolver{Index: routing.NewIndex(redistest.Unreachable(t), 0)},
		Metrics: bridge.NewMetrics(nil), Logger: newTextLogger(logs), Consumer: "a",
	}
	startForwarder(t, f)
	require.Eventually(t, func() bool { return strings.Count(logs.String(), "webhook stream unavailable") >= 2 }, waitFor, tick,
		"the forwarder retries")
}

// TestForwarderPoisonDoesNotStallNewWebhooks: an entry that keeps failing on
// its own is retried on its own schedule while later webhooks go through.
func TestForwarderPoisonDoesNotStallNewWebhooks(t *testing.T) {
	e := newForwarderEnv(t)
	tc := newFakeTemporal()
	tc.poison["kyc-u_bad"] = serviceerror.NewInvalidArgument("test: payload rejected")
	f := e.forwarder("a", tc, nil)
	f.MaxAttempts = 1000 // it stays pending for the whole test
	startForwarder(t, f)
	bad := e.append("USER_KYC_LIGHT", "u_bad")
	require.Eventually(t, func() bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		return tc.perKey[bad.EventKey] >= 2
	}, waitFor, tick, "the poisoned entry is being retried")

	var good []webhookstream.MangopayEvent
	for i := range 20 {
		good = append(good, e.append("USER_KYC_LIGHT", "u_good_"+strconv.Itoa(i)))
	}
	require.Eventually(t, func() bool { return len(tc.signalled()) == 20 }, waitFor, tick,
		"new webhooks are forwarded while the poisoned one waits for its next retry")
	for _, g := range good {
		assert.Equal(t, 1, tc.signalled()[g.EventKey])
	}
	assert.Equal(t, int64(1), e.pending(), "only the poisoned entry is left")
}
