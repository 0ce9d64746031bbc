package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/kycflow/kycflow/internal/redistest"
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

// stackRedisURL returns the Redis URL to give the stack: REDIS_URL (or the
// local Redis when it answers) switched to e2eDB, locked and emptied for
// this run, or "" for the stack's embedded Redis. The lock is released, and
// the database emptied, when the test ends.
func stackRedisURL(t *testing.T) string {
	t.Helper()
	raw := redistest.BaseURL()
	if raw == "" {
		return "" // the stack starts an embedded one
	}
	x, err := redistest.LockDB(context.Background(), raw, e2eDB, "e2e-tests", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Release)
	return x.URL
}
