package bridge

import (
	"context"
	"time"
)

// backoff is a wait that doubles from first up to max each time it is taken,
// until reset.
type backoff struct {
	first, max, next time.Duration
}

func newBackoff(first, max time.Duration) *backoff {
	return &backoff{first: first, max: max, next: first}
}

// take returns the wait to observe now and doubles the next one.
func (b *backoff) take() time.Duration {
	d := b.next
	b.next = min(b.next*2, b.max)
	return d
}

// sleep waits the next wait, or until ctx ends.
func (b *backoff) sleep(ctx context.Context) { sleep(ctx, b.take()) }

// reset starts again from first.
func (b *backoff) reset() { b.next = b.first }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
