package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/workflows"
)

// Redis names. Several bridges share them: the consumer group spreads the
// stream over them.
const (
	StreamKey     = "kycflow:webhooks"
	DeadLetterKey = "kycflow:webhooks:dead"
	UnroutedKey   = "kycflow:webhooks:unrouted"
	GroupName     = "kycflow-forwarder"
	seenPrefix    = "kycflow:webhooks:seen:"
	attemptsKey   = "kycflow:webhooks:attempts"
)

// streamMaxLen caps the streams (approximately) so a long outage of the
// forwarder cannot fill Redis; it is far above any realistic backlog.
const streamMaxLen = 1_000_000

// Stream fields of a stored webhook.
const (
	fEventType  = "t"
	fResourceID = "r"
	fDate       = "d"
	fReceived   = "at" // Unix milliseconds, for the forwarder lag
	fError      = "err"
	fOrigID     = "id"
)

// Store appends webhooks to the stream.
type Store struct {
	rdb redis.UniversalClient
}

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Append makes the event durable. Only after it returns nil may the webhook
// be acknowledged to Mangopay.
func (s *Store) Append(ctx context.Context, ev workflows.MangopayEvent, received time.Time) error {
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: StreamKey, MaxLen: streamMaxLen, Approx: true,
		Values: []string{fEventType, ev.EventType, fResourceID, ev.ResourceID, fDate, strconv.FormatInt(ev.Date, 10), fReceived, strconv.FormatInt(received.UnixMilli(), 10)},
	}).Err()
	if err != nil {
		return fmt.Errorf("store webhook: %w", err)
	}
	return nil
}

// decodeEntry reads a stream entry back into an event.
func decodeEntry(m redis.XMessage) (workflows.MangopayEvent, time.Time, error) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	date, err := strconv.ParseInt(str(fDate), 10, 64)
	if err != nil || str(fEventType) == "" || str(fResourceID) == "" {
		return workflows.MangopayEvent{}, time.Time{}, errors.New("malformed stream entry " + m.ID)
	}
	ev := workflows.MangopayEvent{EventType: str(fEventType), ResourceID: str(fResourceID), Date: date}
	ev.EventKey = ev.Key()
	ms, _ := strconv.ParseInt(str(fReceived), 10, 64)
	return ev, time.UnixMilli(ms), nil
}
