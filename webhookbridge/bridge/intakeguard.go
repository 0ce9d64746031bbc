package bridge

import (
	"container/list"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// Defaults of the intake's guards (Config.IntakePerClientPerSecond,
// Config.MaxDateAhead).
const (
	// DefaultIntakePerClientPerSecond is above what one Mangopay address
	// sends in a wave: Mangopay sends from three addresses, and a renewal
	// wave of 10,000 users within a minute is about 170 webhooks a second
	// among them. A 429 to Mangopay delays the webhook by its 10-minute
	// retry and counts toward the 100 consecutive failures that make the
	// hook INVALID, so the limit must never bind on genuine traffic; a
	// flood's Mangopay reads are bounded by the workflow's hint window,
	// not by this limit.
	DefaultIntakePerClientPerSecond = 200
	// DefaultMaxDateAhead covers clock skew between Mangopay and the
	// bridge, no more: a genuine event is never dated after its delivery,
	// and every second of lead believed is a second of future dedupe keys
	// a forger can take.
	DefaultMaxDateAhead = 2 * time.Second
)

// IntakeGuard is what the public intake checks before it stores a
// webhook, so that traffic sent by whoever learnt the path token costs
// little: a rate per client address, the event types kycflow subscribes
// to, and a Date no further ahead than clock skew explains.
type IntakeGuard struct {
	// PerSecond and Burst bound each client address (0: no limit).
	PerSecond float64
	Burst     int
	// MaxDateAhead bounds a believed Date (DefaultMaxDateAhead when 0).
	MaxDateAhead time.Duration

	once    sync.Once
	mu      sync.Mutex
	clients map[string]*list.Element // of *intakeClient, in lru
	lru     *list.List               // most recently seen first
	swept   time.Time
	// sweeps counts the sweeps: each walks every address, so they must
	// stay rare however full the guard is.
	sweeps int
}

// intakeClient is one address's bucket, when it was last refused, and
// when that was last logged.
type intakeClient struct {
	addr    string
	lim     *rate.Limiter
	limited time.Time
	logged  time.Time
}

// Bounds of the per-client state.
const (
	// maxClients bounds the addresses remembered, so that a flood from
	// many addresses cannot grow the bridge's memory without bound. Past
	// it, a new address takes the place of the one seen least recently
	// and gets a bucket of its own: never one a flood drained, so that
	// Mangopay's addresses go on being served (they send often, so they
	// are not the least recent).
	maxClients = 100_000
	// sweepEvery: how often addresses whose bucket is full again (idle)
	// are forgotten.
	sweepEvery = time.Minute
	// limitedFor: how long an address counts as limited after its last
	// refusal (the kycflow_webhook_intake_limited_clients gauge, and one
	// log line per address and period).
	limitedFor = time.Minute
)

// subscribed are the event types kycflow registers hooks for: Mangopay
// sends no other to the bridge, so any other is not Mangopay's.
var subscribed = func() map[mangopay.EventType]bool {
	m := make(map[mangopay.EventType]bool, len(workflows.HookEventTypes))
	for _, et := range workflows.HookEventTypes {
		m[et] = true
	}
	return m
}()

// clientKey is the bucket of a client address: the address itself for
// IPv4, its /64 for IPv6, since one host (one subscriber, one cloud VM)
// holds a whole /64 and could otherwise take a fresh bucket per request.
func clientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return addr
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// Subscribed tells an event type kycflow subscribes to.
func Subscribed(eventType mangopay.EventType) bool { return subscribed[eventType] }

// allow takes a token from addr's bucket. first is true for the first
// refusal of addr in each limitedFor: the caller logs it once per period.
func (g *IntakeGuard) allow(addr string, now time.Time) (ok, first bool) {
	if g == nil || g.PerSecond <= 0 {
		return true, false
	}
	g.once.Do(func() { g.clients, g.lru = map[string]*list.Element{}, list.New() })
	g.mu.Lock()
	defer g.mu.Unlock()
	// A sweep walks every address: once per sweepEvery, however full.
	if now.Sub(g.swept) >= sweepEvery {
		g.sweep(now)
	}
	e := g.clients[addr]
	if e == nil {
		if len(g.clients) >= maxClients {
			g.forget(g.lru.Back())
		}
		e = g.lru.PushFront(&intakeClient{addr: addr, lim: rate.NewLimiter(rate.Limit(g.PerSecond), g.burst())})
		g.clients[addr] = e
	} else {
		g.lru.MoveToFront(e)
	}
	c := e.Value.(*intakeClient)
	if c.lim.AllowN(now, 1) {
		return true, false
	}
	c.limited = now
	if first = now.Sub(c.logged) >= limitedFor; first {
		c.logged = now
	}
	return false, first
}

func (g *IntakeGuard) burst() int {
	if g.Burst > 0 {
		return g.Burst
	}
	return max(1, int(2*g.PerSecond))
}

// sweep forgets the addresses whose bucket is full again and that were
// not limited lately: they are as good as new.
func (g *IntakeGuard) sweep(now time.Time) {
	g.swept = now
	g.sweeps++
	full := float64(g.burst())
	for e := g.lru.Front(); e != nil; {
		next := e.Next()
		if c := e.Value.(*intakeClient); c.lim.TokensAt(now) >= full && now.Sub(c.limited) >= limitedFor {
			g.forget(e)
		}
		e = next
	}
}

// forget drops an address's bucket.
func (g *IntakeGuard) forget(e *list.Element) {
	delete(g.clients, e.Value.(*intakeClient).addr)
	g.lru.Remove(e)
}

// limitedClients counts the addresses refused within limitedFor.
func (g *IntakeGuard) limitedClients(now time.Time) int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, e := range g.clients {
		if c := e.Value.(*intakeClient); !c.limited.IsZero() && now.Sub(c.limited) < limitedFor {
			n++
		}
	}
	return n
}

// clampDate is the Date to store: the webhook's own, or the time it was
// received when it lies later than that by more than clock skew
// (MaxDateAhead). The dedupe key is EventType|RessourceId|Date: a Date
// ahead, stored as is, would take the key of a genuine event of that
// second (its webhook and the reconciliation's copy would be dropped as
// duplicates when it comes). A genuine Date is never after the delivery,
// so clamping loses nothing of Mangopay's.
func (g *IntakeGuard) clampDate(date int64, now time.Time) (int64, bool) {
	ahead := DefaultMaxDateAhead
	if g != nil && g.MaxDateAhead > 0 {
		ahead = g.MaxDateAhead
	}
	if date > now.Add(ahead).Unix() {
		return now.Unix(), true
	}
	return date, false
}

// logLimited says, once per address and period, that an address is over
// its rate: the address is in the log, not in a metric label, so that a
// flood from many addresses cannot multiply the bridge's series.
func logLimited(log *slog.Logger, addr string, perSecond float64) {
	log.Warn("webhook client over its rate: answered 429", "client_ip", addr, "per_second", perSecond)
}
