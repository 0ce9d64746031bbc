package bridge_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookstream"
)

// park writes n entries to a parked stream as the forwarder does, and
// returns their ids.
func park(t *testing.T, rdb *redis.Client, stream bridge.Parked, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: string(stream), Values: []string{
			"t", "USER_KYC_LIGHT", "r", "u_" + strconv.Itoa(i), "d", "1790000000", "at", "1790000000000", "err", "test: parked", "id", "1-" + strconv.Itoa(i),
		}}).Result()
		require.NoError(t, err)
		ids[i] = id
	}
	return ids
}

// streamResources counts the webhook stream's entries per resource.
func streamResources(t *testing.T, rdb *redis.Client) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, m := range streamEntries(t, rdb, webhookstream.StreamKey) {
		n[m.Values["r"].(string)]++
		assert.NotContains(t, m.Values, "err", "the parking reason stays behind")
	}
	return n
}

func TestParkedListPages(t *testing.T) {
	for _, stream := range []bridge.Parked{bridge.DeadLetters, bridge.Unrouted} {
		t.Run(string(stream), func(t *testing.T) {
			rdb := newRedis(t)
			ids := park(t, rdb, stream, 250)
			var got []string
			after, pages := "", 0
			for {
				page, next, err := bridge.ListParked(context.Background(), rdb, stream, after, 100)
				require.NoError(t, err)
				pages++
				for _, e := range page {
					got = append(got, e.ID)
					assert.Equal(t, "test: parked", e.Error)
				}
				if next == "" {
					break
				}
				after = next
			}
			assert.Equal(t, 3, pages)
			assert.Equal(t, ids, got, "every entry once, oldest first")
		})
	}
}

// TestParkedReplay: replaying one, several or all entries moves each back
// onto the webhook stream exactly once, even when two operators replay the
// same entries at the same moment; the unknown ids are reported.
func TestParkedReplay(t *testing.T) {
	ctx := context.Background()
	t.Run("several, twice at once", func(t *testing.T) {
		rdb := newRedis(t)
		ids := park(t, rdb, bridge.DeadLetters, 50)
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for range 2 {
			wg.Go(func() {
				n, _ := bridge.ReplayParked(ctx, rdb, bridge.DeadLetters, ids...)
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		assert.Equal(t, 50, total)
		res := streamResources(t, rdb)
		assert.Len(t, res, 50)
		for r, n := range res {
			assert.Equal(t, 1, n, "%s appended once", r)
		}
		left, _, err := bridge.ListParked(ctx, rdb, bridge.DeadLetters, "", 100)
		require.NoError(t, err)
		assert.Empty(t, left)
	})
	t.Run("one, and an unknown id", func(t *testing.T) {
		rdb := newRedis(t)
		ids := park(t, rdb, bridge.Unrouted, 3)
		n, err := bridge.ReplayParked(ctx, rdb, bridge.Unrouted, ids[1], "0-1")
		require.ErrorIs(t, err, bridge.ErrNoSuchEntry)
		assert.Contains(t, err.Error(), "0-1")
		assert.Equal(t, 1, n, "the known one is replayed")
		assert.Equal(t, map[string]int{"u_1": 1}, streamResources(t, rdb))
	})
	t.Run("all", func(t *testing.T) {
		rdb := newRedis(t)
		park(t, rdb, bridge.Unrouted, 250)
		n, err := bridge.ReplayAllParked(ctx, rdb, bridge.Unrouted)
		require.NoError(t, err)
		assert.Equal(t, 250, n)
		assert.Len(t, streamResources(t, rdb), 250)
		assert.Zero(t, rdb.XLen(ctx, webhookstream.UnroutedKey).Val())
	})
}

func TestParkedPurge(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t)
	ids := park(t, rdb, bridge.DeadLetters, 120)
	n, err := bridge.PurgeParked(ctx, rdb, bridge.DeadLetters, ids[0], ids[1])
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = bridge.PurgeAllParked(ctx, rdb, bridge.DeadLetters)
	require.NoError(t, err)
	assert.Equal(t, 118, n)
	assert.Zero(t, rdb.XLen(ctx, webhookstream.DeadLetterKey).Val())
	assert.Empty(t, streamResources(t, rdb), "nothing replayed")
}
