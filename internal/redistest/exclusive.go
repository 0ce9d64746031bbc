package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Exclusive is a Redis database held by one test run. The webhook bridge
// uses fixed key names (its stream and consumer group), as production needs,
// so unique keys cannot keep runs apart: code that runs a bridge gets a
// database of its own instead, locked for the run (other runs wait) and
// emptied, which its tests may flush at will.
type Exclusive struct {
	URL    string // baseURL switched to the database
	Client *redis.Client
	key    string
	token  string
	stop   context.CancelFunc
	done   chan struct{}
}

// Lock timings: the lock expires unless refreshed, so a crashed run frees
// the database after lockTTL.
const (
	lockTTL     = 30 * time.Second
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

// LockDB takes database db of the Redis at baseURL for this run, waiting up
// to wait for another run (named by name, which should identify the kind of
// test) to release it, and empties it. Release gives it back.
func LockDB(ctx context.Context, baseURL string, db int, name string, wait time.Duration) (*Exclusive, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, errors.New("redistest: the Redis URL cannot be parsed") // it may hold a password
	}
	u.Path = "/" + strconv.Itoa(db)
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, errors.New("redistest: the Redis URL cannot be parsed")
	}
	x := &Exclusive{URL: u.String(), Client: redis.NewClient(opts), key: "kycflow:" + name + ":lock", done: make(chan struct{})}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	x.token = hex.EncodeToString(tok[:])
	deadline := time.Now().Add(wait)
	for {
		got, err := x.Client.SetNX(ctx, x.key, x.token, lockTTL).Result()
		if err != nil {
			_ = x.Client.Close()
			return nil, fmt.Errorf("redistest: redis at %s (DB %d) does not answer: %w", opts.Addr, db, err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			_ = x.Client.Close()
			return nil, fmt.Errorf("redistest: another run has held Redis DB %d for over %s (key %s)", db, wait, x.key)
		}
		time.Sleep(200 * time.Millisecond) // waiting for the other run
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	x.stop = stop
	go func() {
		defer close(x.done)
		tick := time.NewTicker(lockRefresh)
		defer tick.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-tick.C:
				_ = refreshIfOwner.Run(rctx, x.Client, []string{x.key}, x.token, lockTTL.Milliseconds()).Err()
			}
		}
	}()
	if err := x.Flush(ctx); err != nil {
		x.Release()
		return nil, err
	}
	return x, nil
}

// Flush empties the database, keeping the lock.
func (x *Exclusive) Flush(ctx context.Context) error {
	ok, err := flushIfOwner.Run(ctx, x.Client, []string{x.key}, x.token, lockTTL.Milliseconds()).Int()
	if err != nil || ok != 1 {
		return fmt.Errorf("redistest: empty the locked database: %v (lock held: %v)", err, ok == 1)
	}
	return nil
}

// Release empties the database and gives it back.
func (x *Exclusive) Release() {
	x.stop()
	<-x.done
	ctx := context.Background()
	_ = flushIfOwner.Run(ctx, x.Client, []string{x.key}, x.token, lockTTL.Milliseconds()).Err()
	_ = releaseIfOwner.Run(ctx, x.Client, []string{x.key}, x.token).Err()
	_ = x.Client.Close()
}
