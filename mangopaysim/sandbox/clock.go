package sandbox

import (
	"sync"
	"time"
)

// clock is the simulator's notion of "now": real time plus an offset that the
// control API can only move forward, so that 7-day expiries and Mangopay's
// multi-day webhook retry schedule can be exercised in seconds.
type clock struct {
	mu     sync.RWMutex
	offset time.Duration
	real   func() time.Time
}

func newClock(real func() time.Time) *clock {
	if real == nil {
		real = time.Now
	}
	return &clock{real: real}
}

// Now returns the simulated time, truncated to the second like every date
// Mangopay returns.
func (c *clock) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.real().Add(c.offset).UTC()
}

// Advance moves simulated time forward by d and returns the new time.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return c.Now()
}

// untilReal converts a simulated instant into a real wait duration.
func (c *clock) untilReal(at time.Time) time.Duration {
	return at.Sub(c.Now())
}
