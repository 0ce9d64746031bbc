package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// DeadLetter is an event the forwarder gave up on.
type DeadLetter struct {
	ID         string // in the dead-letter stream
	OriginalID string // in the webhook stream
	EventType  string
	ResourceID string
	Date       string
	Error      string
}

// ListDeadLetters returns up to n dead letters, oldest first.
func ListDeadLetters(ctx context.Context, rdb redis.UniversalClient, n int64) ([]DeadLetter, error) {
	msgs, err := rdb.XRangeN(ctx, DeadLetterKey, "-", "+", n).Result()
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		s := func(k string) string { v, _ := m.Values[k].(string); return v }
		out = append(out, DeadLetter{ID: m.ID, OriginalID: s(fOrigID), EventType: s(fEventType), ResourceID: s(fResourceID), Date: s(fDate), Error: s(fError)})
	}
	return out, nil
}

// ErrNoSuchDeadLetter is returned by ReplayDeadLetters for an unknown id.
var ErrNoSuchDeadLetter = errors.New("no such dead letter")

// ReplayDeadLetters puts dead letters back on the webhook stream (after the
// cause was fixed) and removes them from the dead-letter stream.
func ReplayDeadLetters(ctx context.Context, rdb redis.UniversalClient, ids ...string) (int, error) {
	replayed := 0
	for _, id := range ids {
		msgs, err := rdb.XRange(ctx, DeadLetterKey, id, id).Result()
		if err != nil {
			return replayed, fmt.Errorf("read dead letter %s: %w", id, err)
		}
		if len(msgs) == 0 {
			return replayed, fmt.Errorf("%w: %s", ErrNoSuchDeadLetter, id)
		}
		vals := copyValues(msgs[0])
		s := func(k string) string { v, _ := msgs[0].Values[k].(string); return v }
		pipe := rdb.TxPipeline()
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: StreamKey, Values: vals})
		pipe.XDel(ctx, DeadLetterKey, id)
		// An operator's replay is forwarded even if a dedupe key of the
		// event survived.
		pipe.Del(ctx, seenPrefix+s(fEventType)+"|"+s(fResourceID)+"|"+s(fDate))
		if _, err := pipe.Exec(ctx); err != nil {
			return replayed, fmt.Errorf("replay dead letter %s: %w", id, err)
		}
		replayed++
	}
	return replayed, nil
}
