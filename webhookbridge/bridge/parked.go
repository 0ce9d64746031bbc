package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/webhookstream"
)

// Parked is a stream where the forwarder puts the webhooks it did not
// deliver, for operators: dead letters (it gave up on them) and unrouted
// webhooks (nothing to deliver them to at the time).
type Parked string

// The parked streams.
const (
	DeadLetters Parked = webhookstream.DeadLetterKey
	Unrouted    Parked = webhookstream.UnroutedKey
	// Held: webhooks waiting for the routing index to know their PSC (the
	// forwarder routes them again by itself; an operator may replay them).
	Held Parked = webhookstream.HeldKey
)

// ParseParked reads a parked stream's name as the webhookbridge command
// takes it: dead-letters, unrouted or held.
func ParseParked(name string) (Parked, error) {
	switch name {
	case "dead-letters":
		return DeadLetters, nil
	case "unrouted":
		return Unrouted, nil
	case "held":
		return Held, nil
	}
	return "", fmt.Errorf("unknown parked stream %q (dead-letters, unrouted, held)", name)
}

// ParkedEntry is one entry of a parked stream.
type ParkedEntry struct {
	ID         string // in the parked stream
	OriginalID string // in the webhook stream
	EventType  string
	ResourceID string
	Date       string
	Error      string // why it was parked
}

// ErrNoSuchEntry is returned for ids a parked stream does not hold (never
// there, or already replayed or purged).
var ErrNoSuchEntry = errors.New("no such entry")

// ListParked returns up to n entries after the entry id after (from the
// oldest when after is ""), oldest first, and the after of the next page
// ("" when this one is the last).
func ListParked(ctx context.Context, rdb redis.UniversalClient, stream Parked, after string, n int64) ([]ParkedEntry, string, error) {
	if n <= 0 {
		return nil, "", errors.New("the page size must be positive")
	}
	start := "-"
	if after != "" {
		start = "(" + after
	}
	msgs, err := rdb.XRangeN(ctx, string(stream), start, "+", n+1).Result()
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", stream, err)
	}
	next := ""
	if int64(len(msgs)) > n {
		msgs, next = msgs[:n], msgs[n-1].ID
	}
	out := make([]ParkedEntry, 0, len(msgs))
	for _, m := range msgs {
		s := func(k string) string { v, _ := m.Values[k].(string); return v }
		out = append(out, ParkedEntry{ID: m.ID, OriginalID: s(webhookstream.FieldOrigID), EventType: s(webhookstream.FieldEventType), ResourceID: s(webhookstream.FieldResourceID), Date: s(webhookstream.FieldDate), Error: s(webhookstream.FieldError)})
	}
	return out, next, nil
}

// replayOne moves one parked entry back onto the webhook stream in one
// atomic step: it is appended and removed together, or not at all, so an
// interrupted replay loses nothing, and a replay run twice (or by two
// operators at once) appends each entry once. An operator's replay drops
// the event's dedupe key (ARGV[2] is its prefix) so that it is forwarded
// even if a key survived; the automatic reroute of a held webhook passes
// no prefix and keeps the key: hold already released it, so a key there
// now is another copy's, forwarded meanwhile, and this one is a duplicate.
var replayOne = redis.NewScript(`
local e = redis.call("XRANGE", KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then
	return 0
end
local f, vals = e[1][2], {}
local ev = {}
for i = 1, #f, 2 do
	if f[i] ~= "err" and f[i] ~= "id" then
		table.insert(vals, f[i])
		table.insert(vals, f[i + 1])
		ev[f[i]] = f[i + 1]
	end
end
redis.call("XADD", KEYS[2], "*", unpack(vals))
redis.call("XDEL", KEYS[1], ARGV[1])
if ARGV[2] ~= "" and ev["t"] and ev["r"] and ev["d"] then
	redis.call("DEL", ARGV[2] .. ev["t"] .. "|" .. ev["r"] .. "|" .. ev["d"])
end
return 1`)

// ReplayParked puts the given entries back on the webhook stream (after
// the cause was fixed) and removes them from the parked stream, each
// atomically. It replays every id it can and reports the ones it does not
// hold with ErrNoSuchEntry.
func ReplayParked(ctx context.Context, rdb redis.UniversalClient, stream Parked, ids ...string) (int, error) {
	replayed := 0
	var missing []string
	for _, id := range ids {
		n, err := replayOne.Run(ctx, rdb, []string{string(stream), webhookstream.StreamKey}, id, webhookstream.SeenPrefix).Int()
		if err != nil {
			return replayed, fmt.Errorf("replay %s %s: %w", stream, id, err)
		}
		if n == 0 {
			missing = append(missing, id)
			continue
		}
		replayed++
	}
	if len(missing) > 0 {
		return replayed, fmt.Errorf("%w in %s: %s", ErrNoSuchEntry, stream, strings.Join(missing, ", "))
	}
	return replayed, nil
}

// ReplayAllParked replays every entry the parked stream holds when it is
// called (entries parked meanwhile stay), page by page.
func ReplayAllParked(ctx context.Context, rdb redis.UniversalClient, stream Parked) (int, error) {
	return eachPage(ctx, rdb, stream, func(ids []string) (int, error) {
		n, err := ReplayParked(ctx, rdb, stream, ids...)
		if errors.Is(err, ErrNoSuchEntry) { // replayed or purged meanwhile by someone else
			err = nil
		}
		return n, err
	})
}

// PurgeParked deletes the given entries for good.
func PurgeParked(ctx context.Context, rdb redis.UniversalClient, stream Parked, ids ...string) (int, error) {
	n, err := rdb.XDel(ctx, string(stream), ids...).Result()
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", stream, err)
	}
	return int(n), nil
}

// PurgeAllParked deletes every entry the parked stream holds when it is
// called.
func PurgeAllParked(ctx context.Context, rdb redis.UniversalClient, stream Parked) (int, error) {
	return eachPage(ctx, rdb, stream, func(ids []string) (int, error) { return PurgeParked(ctx, rdb, stream, ids...) })
}

// eachPage applies fn to the ids of the stream's entries up to its last
// entry at the time of the call, a page at a time.
func eachPage(ctx context.Context, rdb redis.UniversalClient, stream Parked, fn func(ids []string) (int, error)) (int, error) {
	last, err := rdb.XRevRangeN(ctx, string(stream), "+", "-", 1).Result()
	if err != nil || len(last) == 0 {
		return 0, err
	}
	done, start := 0, "-"
	for {
		msgs, err := rdb.XRangeN(ctx, string(stream), start, last[0].ID, 100).Result()
		if err != nil {
			return done, fmt.Errorf("read %s: %w", stream, err)
		}
		if len(msgs) == 0 {
			return done, nil
		}
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		n, err := fn(ids)
		done += n
		if err != nil {
			return done, err
		}
		start = "(" + ids[len(ids)-1]
	}
}
