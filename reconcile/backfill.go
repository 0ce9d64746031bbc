package reconcile

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kycflow/kycflow/mangopay"
)

// ParseSince reads a backfill's reach: a Go duration ("72h", "90m") or a
// number of days ("3d"), positive and at most 45 days.
func ParseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("--since %q is not a duration (72h) or a number of days (3d)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("--since %q is not a duration (72h) or a number of days (3d)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("--since must be positive, got %s", s)
	}
	if d > mangopay.EventsWindow {
		return 0, fmt.Errorf("--since %s reaches further than the 45 days of events Mangopay keeps", s)
	}
	return d, nil
}

// Backfill feeds (or, with dryRun, only counts) the events of the last
// since, up to lag behind now, through the same path as the schedule. The
// cursor is left alone. A reach at the Events API's very limit is cut to
// MaxBackfill, so the window is still valid when Mangopay gets it.
func Backfill(ctx context.Context, f *Feeder, since, lag time.Duration, dryRun bool) (Counts, time.Time, time.Time, error) {
	now := f.now()
	to := now.Add(-lag).Truncate(time.Second)
	from := now.Add(-min(since, MaxBackfill)).Truncate(time.Second)
	counts, err := f.Feed(ctx, from, to, dryRun)
	return counts, from, to, err
}
