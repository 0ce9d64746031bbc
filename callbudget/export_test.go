package callbudget

import (
	"context"
	"time"
)

// SetClock makes the limiter read time from now (the simulator's clock in
// tests that move it).
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }

// PausedUntil reads the pause after a 429: its end and what is left of it
// on Redis's clock.
func (l *Limiter) PausedUntil(ctx context.Context) (time.Time, time.Duration, error) {
	return l.pausedUntil(ctx)
}
