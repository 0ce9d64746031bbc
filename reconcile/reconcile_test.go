package reconcile_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// reconcileTestDB is this package's own Redis database: the feeder writes
// the bridge's fixed stream key, which no other run may see.
const reconcileTestDB = 11

// exclusiveRedis locks reconcileTestDB for the test (against REDIS_URL), or
// gives a miniredis.
func exclusiveRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		return redistest.New(t)
	}
	x, err := redistest.LockDB(context.Background(), raw, reconcileTestDB, "reconcile-tests", 5*time.Minute)
	require.NoError(t, err)
	t.Cleanup(x.Release)
	return x.Client
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		val     string
		want    time.Duration
		wantErr string
	}{
		{"", reconcile.DefaultEvery, ""},
		{"15m", 15 * time.Minute, ""},
		{"10", 0, "is not a duration"},
		{"30s", 0, "between 1m and 24h"},
		{"48h", 0, "between 1m and 24h"},
	}
	for _, tt := range tests {
		c, err := reconcile.ConfigFromEnv(func(string) string { return tt.val })
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr, "value %q", tt.val)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, c.Every)
	}
}

// world is a simulator with a verified then downgraded user and a pending
// session: every kind of event kycflow listens to, and some it does not.
type world struct {
	sim  *simtest.Sim
	rdb  redis.UniversalClient
	feed *reconcile.Feeder
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sim := simtest.Start(t, sandbox.Config{Settings: simtest.FastSettings()})
	rdb := exclusiveRedis(t)
	ctx := context.Background()
	u, err := sim.Client.CreateNaturalUserSCA(ctx, simtest.NaturalOwner())
	require.NoError(t, err)
	s, err := sim.Client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://platform.example/back"})
	require.NoError(t, err)
	require.NoError(t, sim.SubmitOutcome(s.ID, map[string]sandbox.Choice{}))
	sim.Settle()
	require.NoError(t, sim.Downgrade(u.ID))
	u2, err := sim.Client.CreateNaturalUserSCA(ctx, simtest.NaturalOwner())
	require.NoError(t, err)
	_, err = sim.Client.CreateIdentityVerification(ctx, u2.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://platform.example/back"})
	require.NoError(t, err)
	store := webhookstream.NewStore(rdb)
	t.Cleanup(func() { _ = store.Close() })
	return &world{sim: sim, rdb: rdb, feed: &reconcile.Feeder{Mangopay: sim.Client, Store: store, Now: sim.Now}}
}

// hooked is the simulator's log of the event types kycflow subscribes to.
func (w *world) hooked() []webhookstream.MangopayEvent {
	var out []webhookstream.MangopayEvent
	for _, e := range w.sim.EventLog() {
		if slices.Contains(workflows.HookEventTypes, mangopay.EventType(e.EventType)) {
			ev := webhookstream.MangopayEvent{EventType: mangopay.EventType(e.EventType), ResourceID: e.ResourceID, Date: e.Date}
			ev.EventKey = ev.Key()
			out = append(out, ev)
		}
	}
	return out
}

// stream reads the bridge's stream back (its fields: t, r, d).
func (w *world) stream(t *testing.T) []webhookstream.MangopayEvent {
	t.Helper()
	msgs, err := w.rdb.XRange(context.Background(), webhookstream.StreamKey, "-", "+").Result()
	require.NoError(t, err)
	var out []webhookstream.MangopayEvent
	for _, m := range msgs {
		ev := webhookstream.MangopayEvent{EventType: mangopay.EventType(m.Values["t"].(string)), ResourceID: m.Values["r"].(string)}
		ev.Date = mustInt(t, m.Values["d"].(string))
		ev.EventKey = ev.Key()
		out = append(out, ev)
	}
	return out
}

func TestFeedPutsEveryEventInTheStreamAsAWebhook(t *testing.T) {
	w := newWorld(t)
	want := w.hooked()
	require.NotEmpty(t, want)
	kinds := map[string]bool{}
	for _, e := range want {
		kinds[string(e.EventType)] = true
	}
	require.True(t, kinds["IDENTITY_VERIFICATION_VALIDATED"] && kinds["IDENTITY_VERIFICATION_OUTDATED"] && kinds["USER_KYC_LIGHT"], "%v", kinds)

	now := w.sim.Now()
	w.feed.PerPage = 1 // every page of every type
	counts, err := w.feed.Feed(context.Background(), now.Add(-time.Hour), now.Add(time.Second), false)
	require.NoError(t, err)
	assert.Equal(t, len(want), counts.Total())
	assert.Equal(t, len(want), counts.Fed)
	assert.Zero(t, counts.Rejected)
	assert.ElementsMatch(t, want, w.stream(t), "each event, as the webhook intake stores it")
	pages := 0
	for _, et := range workflows.HookEventTypes {
		n := 0
		for _, e := range want {
			if e.EventType == et {
				n++
			}
		}
		pages += max(n, 1)
	}
	assert.Equal(t, pages, counts.Calls, "one call per page of one event, one type at a time")
}

func TestFeedDryRunCountsAndFeedsNothing(t *testing.T) {
	w := newWorld(t)
	now := w.sim.Now()
	counts, err := w.feed.Feed(context.Background(), now.Add(-time.Hour), now.Add(time.Second), true)
	require.NoError(t, err)
	assert.Equal(t, len(w.hooked()), counts.Total())
	assert.Zero(t, counts.Fed)
	assert.Empty(t, w.stream(t))
}

func TestFeedRefusesAWindowMangopayDoesNotKeep(t *testing.T) {
	w := newWorld(t)
	now := w.sim.Now()
	before := w.sim.APICalls()
	for _, tc := range []struct{ from, to time.Time }{
		{now.Add(-46 * 24 * time.Hour), now},
		{now, now.Add(-time.Minute)}, // backwards
	} {
		_, err := w.feed.Feed(context.Background(), tc.from, tc.to, false)
		require.ErrorIs(t, err, reconcile.ErrWindow)
	}
	assert.Equal(t, before, w.sim.APICalls(), "no call for a window that cannot be served")
	assert.Empty(t, w.stream(t))
}

func TestRunMovesTheCursorAndOverlaps(t *testing.T) {
	w := newWorld(t)
	cfg := reconcile.Config{Every: 10 * time.Minute, Lag: 30 * time.Second, Overlap: 5 * time.Minute}
	ctx := context.Background()
	require.NoError(t, w.rdb.Del(ctx, reconcile.CursorKey).Err())

	// The events happened just now: the first run (one interval back)
	// stops 30 s short of them.
	counts, from, to, err := reconcile.Run(ctx, w.feed, w.rdb, cfg)
	require.NoError(t, err)
	assert.Equal(t, to.Add(-15*time.Minute).Unix(), from.Unix())
	assert.Zero(t, counts.Total(), "younger than the lag")
	cursor, err := w.rdb.Get(ctx, reconcile.CursorKey).Int64()
	require.NoError(t, err)
	assert.Equal(t, to.Unix(), cursor)

	// One interval later, the next run starts 5 minutes before the cursor
	// and takes them.
	w.sim.Advance(10 * time.Minute)
	counts, from2, to2, err := reconcile.Run(ctx, w.feed, w.rdb, cfg)
	require.NoError(t, err)
	assert.Equal(t, to.Add(-5*time.Minute).Unix(), from2.Unix())
	assert.Equal(t, len(w.hooked()), counts.Fed)
	cursor, err = w.rdb.Get(ctx, reconcile.CursorKey).Int64()
	require.NoError(t, err)
	assert.Equal(t, to2.Unix(), cursor)

	// A cursor older than the Events API's reach starts at its limit.
	require.NoError(t, w.rdb.Set(ctx, reconcile.CursorKey, w.sim.Now().Add(-60*24*time.Hour).Unix(), 0).Err())
	before := w.sim.Now().Add(-reconcile.MaxBackfill).Unix()
	_, from3, _, err := reconcile.Run(ctx, w.feed, w.rdb, cfg)
	require.NoError(t, err)
	after := w.sim.Now().Add(-reconcile.MaxBackfill).Unix()
	// Mangopay's clock runs on while Run works: its limit as of the call.
	assert.GreaterOrEqual(t, from3.Unix(), before)
	assert.LessOrEqual(t, from3.Unix(), after)
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', "not a number: %q", s)
		n = n*10 + int64(c-'0')
	}
	return n
}

func TestParseSince(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"72h", 72 * time.Hour, ""},
		{"3d", 72 * time.Hour, ""},
		{"45d", 45 * 24 * time.Hour, ""},
		{"46d", 0, "45 days"},
		{"1200h", 0, "45 days"},
		{"0h", 0, "positive"},
		{"-3h", 0, "positive"},
		{"three days", 0, "not a duration"},
		{"", 0, "not a duration"},
	}
	for _, tt := range tests {
		got, err := reconcile.ParseSince(tt.in)
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr, "input %q", tt.in)
			continue
		}
		require.NoError(t, err, "input %q", tt.in)
		assert.Equal(t, tt.want, got)
	}
}

func TestBackfillReachesBackAndLeavesTheCursor(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	require.NoError(t, w.rdb.Set(ctx, reconcile.CursorKey, 12345, 0).Err())
	w.sim.Advance(48 * time.Hour) // the events are two days old

	counts, _, _, err := reconcile.Backfill(ctx, w.feed, 24*time.Hour, 0, true)
	require.NoError(t, err)
	assert.Zero(t, counts.Total(), "a day back does not reach them")

	counts, _, _, err = reconcile.Backfill(ctx, w.feed, 72*time.Hour, 0, true)
	require.NoError(t, err)
	assert.Equal(t, len(w.hooked()), counts.Total())
	assert.Empty(t, w.stream(t), "a dry run feeds nothing")

	counts, _, _, err = reconcile.Backfill(ctx, w.feed, 45*24*time.Hour, 0, false)
	require.NoError(t, err, "45 days is cut to what Mangopay still serves")
	assert.Equal(t, len(w.hooked()), counts.Fed)
	assert.ElementsMatch(t, w.hooked(), w.stream(t))
	cursor, err := w.rdb.Get(ctx, reconcile.CursorKey).Int64()
	require.NoError(t, err)
	assert.Equal(t, int64(12345), cursor, "the schedule's cursor is not the backfill's")
}

func TestFeedIncludesBothEndsOfTheWindow(t *testing.T) {
	w := newWorld(t)
	want := w.hooked()
	last := want[len(want)-1]
	at := time.Unix(last.Date, 0)
	var same []webhookstream.MangopayEvent
	for _, e := range want {
		if e.Date == last.Date {
			same = append(same, e)
		}
	}
	// A window of one second, the events' own: the API's exclusive bounds
	// are widened by a second each way.
	counts, err := w.feed.Feed(context.Background(), at, at, false)
	require.NoError(t, err)
	assert.Equal(t, len(same), counts.Fed)
	assert.ElementsMatch(t, same, w.stream(t))
}
