package callbudget

import "time"

// SetClock makes the limiter read time from now (the simulator's clock in
// tests that move it).
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }
