package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis for the end-to-end stack.
//
// The bridge uses fixed key names (its webhook stream and consumer group), as
// production needs. A stack started on the same database as another one (a
// `make dev` on REDIS_URL's database, another run of these tests, another
// engineer's) would share that stream, and each forwarder would take some of
// the other's webhooks and signal its own Temporal with them. So against a
// real Redis the stack gets a database of its own, e2eDB, which no other
// package uses, emptied when the run starts; a run holds a lock key in it
// while it runs and later runs wait for it. The bridge's own tests use
// database 9 the same way.
const e2eDB = 10

// Lock on e2eDB, held while the stack runs.
const (
	lockKey     = "kycflow:e2e-tests:lock"
	lockTTL     = 30 * time.Second
	lockWait    = 5 * time.Minute
	lockRefresh = 10 * time.Second
)

var (
	flushIfOwner = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('FLUSHDB')
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)
	refreshIfOwner = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	releaseIfOwner = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// localRedis is where the stack looks for a Redis when REDIS_URL is unset.
const localRedis = "redis://127.0.0.1:6379/0"

// stackRedisURL returns the Redis URL to give the stack: REDIS_URL (or the
// local Redis when it answers) switched to e2eDB, locked and emptied for
// this run, or "" for the stack's embedded Redis. The lock is released, and
// the database emptied, when the test ends.
func stackRedisURL(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		if !answers(localRedis) {
			return "" // the stack starts an embedded one
		}
		raw = localRedis
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The URL may hold a password: report no more than this.
		t.Fatal("REDIS_URL is set but cannot be parsed")
	}
	u.Path = "/" + strconv.Itoa(e2eDB)
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		t.Fatal("REDIS_URL is set but cannot be parsed")
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	var tok [16]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	deadline := time.Now().Add(lockWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := rdb.SetNX(ctx, lockKey, token, lockTTL).Result()
		cancel()
		if err != nil {
			t.Fatalf("redis at %s (DB %d) does not answer: %v", opts.Addr, e2eDB, err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("another run of the end-to-end tests has held Redis DB %d for over %s (key %s)", e2eDB, lockWait, lockKey)
		}
		time.Sleep(200 * time.Millisecond) // waiting for the other run, not asserting
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(lockRefresh)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = refreshIfOwner.Run(ctx, rdb, []string{lockKey}, token, lockTTL.Milliseconds()).Err()
			}
		}
	}()
	t.Cleanup(func() {
		stop()
		<-done
		bg := context.Background()
		_ = flushIfOwner.Run(bg, rdb, []string{lockKey}, token, lockTTL.Milliseconds()).Err()
		_ = releaseIfOwner.Run(bg, rdb, []string{lockKey}, token).Err()
	})
	ok, err := flushIfOwner.Run(context.Background(), rdb, []string{lockKey}, token, lockTTL.Milliseconds()).Int()
	if err != nil || ok != 1 {
		t.Fatalf("empty Redis DB %d for the run: %v (lock held: %v)", e2eDB, err, ok == 1)
	}
	return u.String()
}

// answers reports whether a Redis answers at rawURL.
func answers(rawURL string) bool {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return false
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err() == nil
}
