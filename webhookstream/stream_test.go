package webhookstream_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/webhookstream"
)

// TestStoreConcurrentAppends: appends made at once are batched, yet each
// lands in the stream exactly once, and a caller whose context has already
// ended gets its error without holding up, or being stored with, the others.
func TestStoreConcurrentAppends(t *testing.T) {
	rdb := newRedis(t)
	store := webhookstream.NewStore(rdb)
	t.Cleanup(func() { _ = store.Close() })
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	const n = 600 // more than one batch
	date := time.Now().Unix()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if i%7 == 0 {
				ctx = cancelled
			}
			errs[i] = store.Append(ctx, ev("KYC_SUCCEEDED", "doc_"+strconv.Itoa(i), date), time.Now())
		})
	}
	wg.Wait()

	want := map[string]bool{}
	for i, err := range errs {
		if i%7 == 0 {
			assert.ErrorIs(t, err, context.Canceled, "append %d had a cancelled context", i)
			continue
		}
		if assert.NoError(t, err, "append %d", i) {
			want["doc_"+strconv.Itoa(i)] = true
		}
	}
	msgs, err := rdb.XRange(context.Background(), webhookstream.StreamKey, "-", "+").Result()
	require.NoError(t, err)
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Values["r"].(string)]++
	}
	for id := range want {
		assert.Equal(t, 1, seen[id], "%s stored once", id)
	}
	assert.Len(t, msgs, len(want), "only the acknowledged appends are stored")
}

// TestStoreAppendHungRedis: while a batch hangs on a Redis that never
// answers, each caller still gets its error when its own context ends, not
// when the batch's does.
func TestStoreAppendHungRedis(t *testing.T) {
	rdb, err := redisconn.New("redis://" + redistest.Hung(t) + "/0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	store := webhookstream.NewStore(rdb)

	date := time.Now().Unix()
	slow, cancelSlow := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancelSlow()
	slowDone := make(chan error, 1)
	go func() { slowDone <- store.Append(slow, ev("KYC_SUCCEEDED", "doc_slow", date), time.Now()) }()

	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := store.Append(ctx, ev("KYC_SUCCEEDED", "doc_"+strconv.Itoa(i), date), time.Now())
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), time.Second, "held by another caller's batch")
		})
	}
	wg.Wait()
	select {
	case err := <-slowDone:
		t.Fatalf("the 1.5 s append ended early: %v", err)
	default:
	}
	assert.ErrorIs(t, <-slowDone, context.DeadlineExceeded)

	// Close waits for the hung batch, which its deadline bounds; then the
	// store refuses appends.
	start := time.Now()
	require.NoError(t, store.Close())
	assert.Less(t, time.Since(start), 2*time.Second)
	err = store.Append(context.Background(), ev("KYC_SUCCEEDED", "doc_late", date), time.Now())
	assert.ErrorIs(t, err, webhookstream.ErrStoreClosed)
}
