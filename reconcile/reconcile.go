// Package reconcile is kycflow's fleet reconciliation through Mangopay's
// Events API: every RECONCILE_EVENTS_EVERY one Temporal Schedule runs a
// workflow that pages GET /events for each event type kycflow subscribes to,
// from a durable cursor, and puts every event into the webhook bridge's
// stream exactly as a webhook would arrive (the same parsing and append; the
// forwarder then dedupes by EventKey, routes and dead-letters as usual). A
// lost webhook, for an onboarding in any state, VERIFIED included, is thus
// noticed within one interval, for a cost in Mangopay calls proportional to
// the number of events, not of users. The operator's backfill replays a past
// window through the same path.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// Defaults.
const (
	// DefaultEvery is how often the schedule runs.
	DefaultEvery = 10 * time.Minute
	// DefaultLag keeps the window a little behind now: an event may show
	// in the Events API a moment after its Date.
	DefaultLag = 30 * time.Second
	// DefaultOverlap re-reads the end of the previous window, for events
	// that showed up late; the forwarder drops the ones already forwarded.
	DefaultOverlap = 5 * time.Minute
	// MaxBackfill is how far back the Events API reaches (45 days), less a
	// margin so that a window computed now is still valid when sent.
	MaxBackfill = mangopay.EventsWindow - time.Hour
)

// EnvEvery is the variable that sets the schedule's interval.
const EnvEvery = "RECONCILE_EVENTS_EVERY"

// CursorKey is the Redis key of the durable cursor: the Unix second up to
// which every event has been fed.
const CursorKey = "kycflow:reconcile:events-cursor"

// perPage is the Events API's largest page.
const perPage = 100

// Config is the reconciliation's timing.
type Config struct {
	Every   time.Duration // RECONCILE_EVENTS_EVERY
	Lag     time.Duration
	Overlap time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Every: DefaultEvery, Lag: DefaultLag, Overlap: DefaultOverlap}
}

// ConfigFromEnv reads RECONCILE_EVENTS_EVERY (a Go duration, 1m to 24h).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	v := strings.TrimSpace(getenv(EnvEvery))
	if v == "" {
		return c, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return Config{}, fmt.Errorf("%s %q is not a duration (for example 10m)", EnvEvery, v)
	}
	if d < time.Minute || d > 24*time.Hour {
		return Config{}, fmt.Errorf("%s must be between 1m and 24h, got %s", EnvEvery, d)
	}
	c.Every = d
	return c, nil
}

// Feeder puts the events of a window into the bridge's stream.
type Feeder struct {
	Mangopay *mangopay.Client
	Store    *webhookstream.Store
	Logger   *slog.Logger
	// EventTypes are the types to read; workflows.HookEventTypes when nil.
	EventTypes []mangopay.EventType
	// Progress, when set, is called after each page (an activity's
	// heartbeat).
	Progress func(eventType string, page int)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PerPage is the page size; the Events API's largest (100) when zero.
	PerPage int
}

// Counts are what a window held, by event type.
type Counts struct {
	// Events were read from the Events API.
	Events map[string]int
	// Fed were appended to the stream (zero in a dry run).
	Fed int
	// Rejected would fail the intake's validation (logged, not fed).
	Rejected int
	// Calls are the Events API pages read.
	Calls int
}

// Total is the number of events read.
func (c Counts) Total() int {
	n := 0
	for _, v := range c.Events {
		n += v
	}
	return n
}

func (f *Feeder) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Feeder) log() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}

// ErrWindow is returned for a window the Events API cannot serve.
var ErrWindow = errors.New("invalid events window")

// Feed reads every event of each type with a Date in [from, to] and, unless
// dryRun, appends it to the stream as the webhook intake would. Calls go at
// background priority: nobody waits for them.
func (f *Feeder) Feed(ctx context.Context, from, to time.Time, dryRun bool) (Counts, error) {
	counts := Counts{Events: map[string]int{}}
	now := f.now()
	if to.Before(from) {
		return counts, fmt.Errorf("%w: from %s is after to %s", ErrWindow, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if from.Add(-time.Second).Before(now.Add(-mangopay.EventsWindow)) {
		return counts, fmt.Errorf("%w: Mangopay keeps %s of events; %s is older", ErrWindow, mangopay.EventsWindow, from.Format(time.RFC3339))
	}
	ctx = mangopay.WithPriority(ctx, mangopay.PriorityBackground)
	// The Events API's bounds are exclusive; Dates are whole seconds.
	after, before := from.Add(-time.Second), to.Add(time.Second)
	types := f.EventTypes
	if types == nil {
		types = workflows.HookEventTypes
	}
	size := f.PerPage
	if size <= 0 {
		size = perPage
	}
	for _, et := range types {
		for page := 1; ; page++ {
			evs, pg, err := f.Mangopay.ListEvents(ctx, &mangopay.ListEventsOptions{
				ListOptions: mangopay.ListOptions{Page: page, PerPage: size, Sort: mangopay.SortDateAsc},
				EventType:   et, AfterDate: &after, BeforeDate: &before,
			})
			if err != nil {
				return counts, fmt.Errorf("list %s events, page %d: %w", et, page, err)
			}
			counts.Calls++
			for _, e := range evs {
				counts.Events[string(et)]++
				if err := f.feedOne(ctx, e, dryRun); err != nil {
					if errors.Is(err, webhookstream.ErrBadWebhook) || errors.Is(err, webhookstream.ErrPing) {
						counts.Rejected++
						f.log().Warn("event not fed: the intake would reject it", "event_type", et, "error", err)
						continue
					}
					return counts, err
				}
				if !dryRun {
					counts.Fed++
				}
			}
			if f.Progress != nil {
				f.Progress(string(et), page)
			}
			if len(evs) < size || (pg != nil && pg.TotalPages > 0 && page >= pg.TotalPages) {
				break
			}
		}
	}
	return counts, nil
}

// feedOne appends one event through the webhook intake's own parsing.
func (f *Feeder) feedOne(ctx context.Context, e mangopay.Event, dryRun bool) error {
	now := f.now()
	q := url.Values{
		"EventType":   {string(e.EventType)},
		"RessourceId": {e.ResourceID},
		"Date":        {strconv.FormatInt(int64(e.Date), 10)},
	}
	ev, err := webhookstream.ParseWebhook(q, now)
	if err != nil || dryRun {
		return err
	}
	return f.Store.Append(ctx, ev, now)
}

// Run feeds the window after the durable cursor in rdb, up to cfg.Lag
// behind now, and moves the cursor. The first run (no cursor) starts one
// interval back; a cursor older than the Events API's reach starts at its
// limit (those events are gone: the workflows' own polls are the net).
func Run(ctx context.Context, f *Feeder, rdb redis.UniversalClient, cfg Config) (Counts, time.Time, time.Time, error) {
	now := f.now()
	to := now.Add(-cfg.Lag).Truncate(time.Second)
	from := to.Add(-cfg.Every - cfg.Overlap)
	cur, err := rdb.Get(ctx, CursorKey).Int64()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return Counts{}, from, to, fmt.Errorf("read the events cursor: %w", err)
	default:
		from = time.Unix(cur, 0).Add(-cfg.Overlap)
	}
	if oldest := now.Add(-MaxBackfill); from.Before(oldest) {
		f.log().Warn("the events cursor is older than the Events API keeps: events in between are lost to reconciliation",
			"cursor", from.UTC().Format(time.RFC3339))
		from = oldest
	}
	if !from.Before(to) {
		return Counts{Events: map[string]int{}}, from, to, nil
	}
	counts, err := f.Feed(ctx, from, to, false)
	if err != nil {
		return counts, from, to, err
	}
	if err := advanceCursor.Run(ctx, rdb, []string{CursorKey}, to.Unix()).Err(); err != nil {
		return counts, from, to, fmt.Errorf("move the events cursor: %w", err)
	}
	return counts, from, to, nil
}

// advanceCursor moves the cursor forward only: a slow run that finishes
// after a later one never moves it back.
var advanceCursor = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 0`)
