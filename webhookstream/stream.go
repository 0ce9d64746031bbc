package webhookstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/kycflow/kycflow/internal/streamtrace"
	"github.com/kycflow/kycflow/mangopay"
)

// Redis names. Several bridges share them: the consumer group spreads the
// stream over them.
const (
	StreamKey     = "kycflow:webhooks"
	DeadLetterKey = "kycflow:webhooks:dead"
	UnroutedKey   = "kycflow:webhooks:unrouted"
	// HeldKey holds the webhooks that name a PSC session no onboarding has
	// listed yet: the forwarder routes each again once the routing index
	// knows its PSC, or records it as unrouted after HoldFor.
	HeldKey   = "kycflow:webhooks:held"
	GroupName = "kycflow-forwarder"
	// SeenPrefix prefixes the dedupe key of each webhook the forwarder has
	// handled (SeenPrefix + MangopayEvent.EventKey).
	SeenPrefix = "kycflow:webhooks:seen:"
	// AttemptsKey counts the failed attempts of each entry.
	AttemptsKey = "kycflow:webhooks:attempts"
	// ClaimsKey maps an entry being handled to the dedupe key it holds, so
	// that the key can be released if the entry vanishes before it is
	// acknowledged.
	ClaimsKey = "kycflow:webhooks:claims"
)

// The webhook stream is never trimmed: a trim removes entries whatever is
// pending, and a webhook acknowledged to Mangopay must not vanish. The
// forwarder deletes each entry once it has acknowledged it, so the stream
// holds only the backlog; if Redis fills up (maxmemory with noeviction) the
// intake answers 503 and Mangopay retries. DeadLetterMaxLen caps the
// dead-letter stream (approximately), far above any realistic count.
const DeadLetterMaxLen = 1_000_000

// Stream fields of a stored webhook (and of its copies in the dead-letter,
// unrouted and held streams, which add FieldError and FieldOrigID).
const (
	FieldEventType  = "t"
	FieldResourceID = "r"
	FieldDate       = "d"
	FieldReceived   = "at" // Unix milliseconds, for the forwarder lag
	FieldError      = "err"
	FieldOrigID     = "id"
)

// Batching of appends: concurrent Appends share one pipelined round trip.
const (
	// maxBatch bounds the XADDs sent in one pipeline.
	maxBatch = 256
	// undeadlinedTimeout bounds a batch holding an append whose context has
	// no deadline, as the client's own read timeout would have.
	undeadlinedTimeout = 5 * time.Second
)

// ErrStoreClosed is returned by Append after Close.
var ErrStoreClosed = errors.New("store is closed")

// Store appends webhooks to the stream. Concurrent Appends are batched: a
// flusher goroutine, started when the first append is queued and gone as
// soon as the queue is empty, sends what is queued as one pipeline. Each
// Append still waits for its own XADD, or for its context to end.
type Store struct {
	rdb redis.UniversalClient

	mu      sync.Mutex
	queue   []*appendReq
	running bool // a flusher is draining queue
	closed  bool
	flusher sync.WaitGroup
}

// appendReq is one queued Append. done is buffered so that the flusher
// never blocks on a caller that has given up.
type appendReq struct {
	ctx  context.Context
	args redis.XAddArgs
	done chan error
	span trace.Span // the append's producer span, told the entry's ID
}

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Append makes the event durable. Only after it returns nil may the webhook
// be acknowledged to Mangopay. It returns an error once ctx ends, even if the
// XADD is still in flight: the entry may then be stored anyway, which only
// means a duplicate (Mangopay retries; the forwarder dedupes).
func (s *Store) Append(ctx context.Context, ev MangopayEvent, received time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store webhook: %w", err)
	}
	// The entry carries the trace of the request that brought it (the
	// producer span's context): the forwarder continues it.
	_, span, traceFields := Tracing.StartSend(ctx)
	defer span.End()
	r := &appendReq{ctx: ctx, done: make(chan error, 1), args: redis.XAddArgs{
		Stream: StreamKey,
		Values: append([]string{FieldEventType, string(ev.EventType), FieldResourceID, ev.ResourceID, FieldDate, strconv.FormatInt(ev.Date, 10), FieldReceived, strconv.FormatInt(received.UnixMilli(), 10)},
			traceFields...),
	}, span: span}
	if err := s.enqueue(r); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("store webhook: %w", err)
	}
	var err error
	select {
	case err = <-r.done:
	case <-ctx.Done():
		select {
		case err = <-r.done: // finished at the same moment: believe the result
		default:
			err = ctx.Err()
		}
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("store webhook: %w", err)
	}
	return nil
}

// Tracing names the stream in the spans of its entries (OpenTelemetry's
// messaging conventions): the intake's producer span, the forwarder's
// consumer span.
var Tracing = streamtrace.Stream{Name: StreamKey, Group: GroupName}

// TraceFields are the fields of an entry that carry its trace context: a
// copy of the entry (held, dead-lettered, replayed) keeps them.
var TraceFields = []string{streamtrace.FieldTraceParent, streamtrace.FieldTraceState}

// enqueue queues r and starts a flusher if none runs.
func (s *Store) enqueue(r *appendReq) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	s.queue = append(s.queue, r)
	if !s.running {
		s.running = true
		s.flusher.Go(s.flush)
	}
	return nil
}

// Close stops accepting appends and waits for the batch in flight, if any
// (at most its callers' latest deadline). A Store needs no Close to free its
// goroutine: the flusher exits whenever the queue is empty.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.flusher.Wait()
	return nil
}

// flush sends the queue in batches until it is empty.
func (s *Store) flush() {
	batch := make([]*appendReq, 0, maxBatch)
	for {
		s.mu.Lock()
		n := 0
		for n < len(s.queue) && len(batch) < maxBatch {
			r := s.queue[n]
			n++
			if err := r.ctx.Err(); err != nil {
				r.done <- err // its caller has gone or is going: do not send it
				continue
			}
			batch = append(batch, r)
		}
		rest := copy(s.queue, s.queue[n:])
		clear(s.queue[rest:])
		s.queue = s.queue[:rest]
		if len(batch) == 0 && len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if len(batch) > 0 {
			s.write(batch)
		}
		clear(batch)
		batch = batch[:0]
	}
}

// write sends batch as one pipeline, bounded by the latest of its callers'
// deadlines (so a hung Redis cannot hold the flusher forever), and hands
// each caller its own XADD's result.
func (s *Store) write(batch []*appendReq) {
	var deadline time.Time
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok {
			d = time.Now().Add(undeadlinedTimeout)
		}
		if d.After(deadline) {
			deadline = d
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	cmds := make([]*redis.StringCmd, len(batch))
	pipe := s.rdb.Pipeline()
	for i, r := range batch {
		cmds[i] = pipe.XAdd(ctx, &r.args)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, r := range batch {
		if id, err := cmds[i].Result(); err == nil {
			streamtrace.SetEntryID(r.span, id)
		}
		r.done <- cmds[i].Err()
	}
}

// DecodeEntry reads a stream entry back into an event and the time the
// intake received it.
func DecodeEntry(m redis.XMessage) (MangopayEvent, time.Time, error) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	date, err := strconv.ParseInt(str(FieldDate), 10, 64)
	if err != nil || str(FieldEventType) == "" || str(FieldResourceID) == "" {
		return MangopayEvent{}, time.Time{}, errors.New("malformed stream entry " + m.ID)
	}
	ev := MangopayEvent{EventType: mangopay.EventType(str(FieldEventType)), ResourceID: str(FieldResourceID), Date: date}
	ev.EventKey = ev.Key()
	ms, _ := strconv.ParseInt(str(FieldReceived), 10, 64)
	return ev, time.UnixMilli(ms), nil
}
