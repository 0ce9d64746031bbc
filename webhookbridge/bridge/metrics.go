package bridge

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// Metrics are the bridge's Prometheus metrics, on their own registry so
// that several bridges can run in one process (tests, the dev stack). The
// names are a contract with ops/prometheus/kycflow-alerts.yml and
// ops/grafana/kycflow-bridge.json (checked by TestOpsFilesNameExportedMetrics).
type Metrics struct {
	Registry     *prometheus.Registry
	Received     *prometheus.CounterVec // by result
	Forwarded    prometheus.Counter
	Duplicates   prometheus.Counter
	DeadLettered prometheus.Counter
	Unrouted     prometheus.Counter
	// Held counts webhooks held until an onboarding lists their PSC;
	// Rerouted those of them routed again once it did.
	Held      prometheus.Counter
	Rerouted  prometheus.Counter
	Restarted prometheus.Counter
	// ForwardLag is the time from receiving a webhook to an attempt to
	// forward it, by outcome: forwarded, or retry (kept for later: an
	// outage, or the entry's own failure), so that lag keeps showing while
	// nothing goes through.
	ForwardLag *prometheus.HistogramVec
	// Intake is how long the public intake takes to answer Mangopay, which
	// gives up after 2 s.
	Intake prometheus.Histogram
	// Lookups are fallback lookups at Mangopay (routing index misses), by
	// result: found, unknown (unroutable) or error.
	Lookups  *prometheus.CounterVec
	Outages  *prometheus.CounterVec // entries kept waiting, by dependency
	Vanished prometheus.Counter
	// LookupsLimited counts webhooks put off because the fallback lookups
	// (and restarts) were over their rate.
	LookupsLimited prometheus.Counter
	HTTP           *prometheus.CounterVec // platform API by route and status
	// DateClamped counts stored webhooks whose Date lay further ahead than
	// MaxDateAhead: stored with the time they were received instead.
	DateClamped prometheus.Counter
}

// observeLimited counts a webhook refused for its client's rate. The
// client's address goes to the log (logLimited), never into a label: a
// label would name the first addresses limited for the process's life and
// let a flood from many addresses multiply the series; the
// kycflow_webhook_intake_limited_clients gauge counts the clients.
func (m *Metrics) observeLimited() {
	m.Received.WithLabelValues(resultLimited).Inc()
}

// Results of an intake request (the result label of Received).
const (
	resultStored      = "stored"
	resultPing        = "ping"
	resultRejected    = "rejected"
	resultBadToken    = "bad_token"
	resultUnavailable = "unavailable"
	// resultLimited: over its client address's rate, answered 429.
	resultLimited = "limited"
	// resultUnsubscribed: an event type kycflow registers no hook for,
	// answered 200 and dropped (Mangopay sends none: not Mangopay's).
	resultUnsubscribed = "unsubscribed"
)

// Outcomes of a forwarding attempt (the outcome label of ForwardLag).
const (
	outcomeForwarded = "forwarded"
	outcomeRetry     = "retry"
)

// Results of a fallback lookup (the result label of Lookups).
const (
	lookupFound   = "found"
	lookupUnknown = "unknown"
	lookupError   = "error"
)

// NewMetrics registers the metrics. mp, when set, also exposes Mangopay's
// rate-limit headroom as last seen by that client.
func NewMetrics(mp *mangopay.Client) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kycflow_webhooks_received_total", Help: "Mangopay webhooks received, by result (stored, ping, rejected, bad_token, unavailable, limited, unsubscribed).",
		}, []string{"result"}),
		Forwarded:    prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_forwarded_total", Help: "Webhooks signalled to onboarding workflows."}),
		Duplicates:   prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_duplicates_total", Help: "Webhooks dropped as duplicates of one already forwarded."}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_dead_lettered_total", Help: "Webhooks moved to the dead-letter stream."}),
		Unrouted:     prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_webhooks_unrouted_total", Help: "Webhooks with no onboarding to go to, recorded for operators."}),
		Held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kycflow_webhooks_held_total", Help: "PSC webhooks held until an onboarding lists their PSC session (the routing index knows it).",
		}),
		Rerouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kycflow_webhooks_rerouted_total", Help: "Held PSC webhooks put back on the webhook stream once the routing index knew their PSC.",
		}),
		Restarted: prometheus.NewCounter(prometheus.CounterOpts{Name: "kycflow_onboardings_restarted_total", Help: "Onboardings restarted by a downgrade webhook."}),
		ForwardLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kycflow_forwarder_lag_seconds", Help: "Time from receiving a webhook to an attempt to forward it, by outcome (forwarded; retry: kept for later).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"outcome"}),
		Intake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kycflow_webhook_intake_duration_seconds", Help: "Time to answer a Mangopay webhook (Mangopay gives up after 2 s).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2, 3, 5},
		}),
		Lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kycflow_mangopay_fallback_lookups_total", Help: "Mangopay lookups for webhooks the routing index missed, by result (found, unknown, error).",
		}, []string{"result"}),
		Vanished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kycflow_webhooks_vanished_total",
			Help: "Webhook entries deleted from the stream before they were handled (trimmed or deleted by hand); Mangopay's redelivery is forwarded.",
		}),
		LookupsLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kycflow_fallback_lookups_limited_total",
			Help: "Webhooks put off because Mangopay lookups for unindexed resources (and restarts) were over BRIDGE_FALLBACK_LOOKUPS_PER_SECOND.",
		}),
		Outages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kycflow_forwarder_outages_total",
			Help: "Webhook entries kept for later because a dependency (mangopay, temporal) was unavailable or refused kycflow's credentials.",
		}, []string{"dependency"}),
		HTTP: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kycflow_platform_api_requests_total", Help: "Platform API requests by route and status.",
		}, []string{"route", "status"}),
		DateClamped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kycflow_webhooks_date_clamped_total",
			Help: "Webhooks dated further ahead than BRIDGE_WEBHOOK_MAX_DATE_AHEAD, stored with the time they were received.",
		}),
	}
	reg.MustRegister(m.Received, m.Forwarded, m.Duplicates, m.DeadLettered, m.Unrouted, m.Held, m.Rerouted, m.Restarted, m.ForwardLag, m.Intake, m.Lookups, m.Outages, m.Vanished, m.LookupsLimited, m.HTTP, m.DateClamped)
	// Every series exists from the start, at zero: rate() and alerts
	// then see the first event rather than a series appearing.
	for _, r := range []string{resultStored, resultPing, resultRejected, resultBadToken, resultUnavailable, resultLimited, resultUnsubscribed} {
		m.Received.WithLabelValues(r)
	}
	for _, o := range []string{outcomeForwarded, outcomeRetry} {
		m.ForwardLag.WithLabelValues(o)
	}
	for _, r := range []string{lookupFound, lookupUnknown, lookupError} {
		m.Lookups.WithLabelValues(r)
	}
	for _, d := range []string{"mangopay", "temporal"} {
		m.Outages.WithLabelValues(d)
	}
	if mp != nil {
		reg.MustRegister(rateLimitCollector{mp: mp})
	}
	return m
}

// WatchIntake exports how many client addresses g refused within the last
// minute (kycflow_webhook_intake_limited_clients): the number of sources
// of a flood, whose addresses the bridge logs.
func (m *Metrics) WatchIntake(g *IntakeGuard, now func() time.Time) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kycflow_webhook_intake_limited_clients",
		Help: "Client addresses answered 429 within the last minute for sending webhooks over BRIDGE_INTAKE_PER_CLIENT_PER_SECOND.",
	}, func() float64 { return float64(g.limitedClients(now())) }))
}

// observeLookup counts a fallback lookup; nil-safe for resolvers built
// without metrics.
func (m *Metrics) observeLookup(err error) {
	if m == nil {
		return
	}
	switch {
	case err == nil:
		m.Lookups.WithLabelValues(lookupFound).Inc()
	case errors.Is(err, ErrUnroutable):
		m.Lookups.WithLabelValues(lookupUnknown).Inc()
	default:
		m.Lookups.WithLabelValues(lookupError).Inc()
	}
}

// observeLag records an attempt on a stream entry, forwarded or not.
func (m *Metrics) observeLag(outcome string, received time.Time) {
	if received.IsZero() {
		return
	}
	m.ForwardLag.WithLabelValues(outcome).Observe(time.Since(received).Seconds())
}

// receivedAt reads an entry's receive time without decoding the rest.
func receivedAt(msg redis.XMessage) time.Time {
	s, _ := msg.Values[webhookstream.FieldReceived].(string)
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

var rateLimitWindowNames = [4]string{"15m", "30m", "1h", "24h"}

// rateLimitCollector exposes Mangopay's rate-limit figures as last seen.
// Before the first response carrying them there is no series at all, not a
// 0 that would read as "no calls left".
type rateLimitCollector struct{ mp *mangopay.Client }

var (
	rateLimitRemainingDesc = prometheus.NewDesc("kycflow_mangopay_ratelimit_remaining",
		"Mangopay calls left in each rate-limit window, as last reported (absent before the first call).", []string{"window"}, nil)
	rateLimitLimitDesc = prometheus.NewDesc("kycflow_mangopay_ratelimit_limit",
		"Mangopay calls allowed in each rate-limit window (made + remaining), as last reported.", []string{"window"}, nil)
)

func (c rateLimitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rateLimitRemainingDesc
	ch <- rateLimitLimitDesc
}

func (c rateLimitCollector) Collect(ch chan<- prometheus.Metric) {
	rl := c.mp.RateLimits()
	if rl.ObservedAt.IsZero() {
		return
	}
	for i, w := range rl.Windows {
		ch <- prometheus.MustNewConstMetric(rateLimitRemainingDesc, prometheus.GaugeValue, float64(w.Remaining), rateLimitWindowNames[i])
		ch <- prometheus.MustNewConstMetric(rateLimitLimitDesc, prometheus.GaugeValue, float64(w.Made+w.Remaining), rateLimitWindowNames[i])
	}
}

// WatchStreams adds the state of the webhook streams in Redis, read at
// each scrape: what an on-call engineer needs to see a backlog build up.
func (m *Metrics) WatchStreams(rdb redis.UniversalClient) {
	m.Registry.MustRegister(&streamCollector{rdb: rdb})
}

var (
	redisUpDesc = prometheus.NewDesc("kycflow_redis_up",
		"1 when the bridge read the webhook streams from Redis at this scrape, 0 when it could not.", nil, nil)
	streamLengthDesc = prometheus.NewDesc("kycflow_webhook_stream_length",
		"Entries in each webhook stream (webhooks: including handled entries not yet trimmed; dead_letters; unrouted).", []string{"stream"}, nil)
	consumerLagDesc = prometheus.NewDesc("kycflow_webhook_consumer_lag",
		"Webhooks in the stream not yet delivered to any forwarder (the consumer group's lag).", nil, nil)
	pendingDesc = prometheus.NewDesc("kycflow_webhook_pending",
		"Webhooks delivered to a forwarder and not yet acknowledged.", nil, nil)
	oldestPendingDesc = prometheus.NewDesc("kycflow_webhook_oldest_pending_age_seconds",
		"Age of the oldest unacknowledged webhook, from its arrival (0 when none).", nil, nil)
)

// streamCollector reads the streams at scrape time, bounded so that a hung
// Redis cannot hold the scrape.
type streamCollector struct {
	rdb redis.UniversalClient
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{redisUpDesc, streamLengthDesc, consumerLagDesc, pendingDesc, oldestPendingDesc} {
		ch <- d
	}
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pipe := c.rdb.Pipeline()
	lens := map[string]*redis.IntCmd{
		"webhooks": pipe.XLen(ctx, webhookstream.StreamKey), "dead_letters": pipe.XLen(ctx, webhookstream.DeadLetterKey), "unrouted": pipe.XLen(ctx, webhookstream.UnroutedKey),
		"held": pipe.XLen(ctx, webhookstream.HeldKey),
	}
	groups := pipe.XInfoGroups(ctx, webhookstream.StreamKey)
	pending := pipe.XPending(ctx, webhookstream.StreamKey, webhookstream.GroupName)
	_, _ = pipe.Exec(ctx) // each command carries its own error
	up := 1.0
	for name, cmd := range lens {
		if cmd.Err() != nil {
			up = 0
			continue
		}
		ch <- prometheus.MustNewConstMetric(streamLengthDesc, prometheus.GaugeValue, float64(cmd.Val()), name)
	}
	ch <- prometheus.MustNewConstMetric(redisUpDesc, prometheus.GaugeValue, up)
	if up == 0 {
		return
	}
	// No stream or no group yet: no forwarder has run.
	noGroup := func(err error) bool {
		return redis.HasErrorPrefix(err, "NOGROUP") || redis.HasErrorPrefix(err, "no such key")
	}
	gs, err := groups.Result()
	if err == nil || noGroup(err) {
		lag := float64(lens["webhooks"].Val()) // no group yet: everything is lag
		for _, g := range gs {
			if g.Name == webhookstream.GroupName {
				lag = float64(g.Lag) // -1 when Redis cannot tell (entries deleted)
			}
		}
		if lag >= 0 {
			ch <- prometheus.MustNewConstMetric(consumerLagDesc, prometheus.GaugeValue, lag)
		}
	}
	switch p, err := pending.Result(); {
	case err == nil:
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(p.Count))
		ch <- prometheus.MustNewConstMetric(oldestPendingDesc, prometheus.GaugeValue, entryAge(p.Lower, p.Count))
	case noGroup(err):
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, 0)
		ch <- prometheus.MustNewConstMetric(oldestPendingDesc, prometheus.GaugeValue, 0)
	}
}

// entryAge is how old the stream entry id is: its first part is the
// arrival time in Unix milliseconds.
func entryAge(id string, count int64) float64 {
	if count == 0 {
		return 0
	}
	msPart, _, _ := strings.Cut(id, "-")
	ms, err := strconv.ParseInt(msPart, 10, 64)
	if err != nil {
		return 0
	}
	return max(0, time.Since(time.UnixMilli(ms)).Seconds())
}

// WatchHooks adds the health of kycflow's hooks at Mangopay: for each event
// kycflow needs, 1 when its hook exists, is ENABLED and VALID and points at
// url (any URL when url is empty), else 0. Mangopay turns a hook INVALID
// after 100 failed deliveries and then sends nothing. The hooks are listed
// in the background at most every interval, never during a scrape; until
// the first listing there is no series.
func (m *Metrics) WatchHooks(mp *mangopay.Client, url string, interval time.Duration) {
	m.Registry.MustRegister(&hookCollector{mp: mp, url: url, interval: interval})
}

var (
	hookHealthyDesc = prometheus.NewDesc("kycflow_mangopay_hook_healthy",
		"1 when the Mangopay hook of this event type exists, is ENABLED and VALID and points at this bridge; 0 otherwise.", []string{"event_type"}, nil)
	hookCheckDesc = prometheus.NewDesc("kycflow_mangopay_hook_check_success",
		"1 when the last listing of the hooks at Mangopay succeeded.", nil, nil)
)

type hookCollector struct {
	mp       *mangopay.Client
	url      string
	interval time.Duration

	mu       sync.Mutex
	healthy  map[string]bool // nil until the first successful listing
	ok       bool
	checked  time.Time
	checking bool
}

func (c *hookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hookHealthyDesc
	ch <- hookCheckDesc
}

func (c *hookCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checking && time.Since(c.checked) >= c.interval {
		c.checking = true
		go c.check()
	}
	if c.checked.IsZero() {
		return
	}
	ok := 0.0
	if c.ok {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(hookCheckDesc, prometheus.GaugeValue, ok)
	for et, h := range c.healthy {
		v := 0.0
		if h {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(hookHealthyDesc, prometheus.GaugeValue, v, et)
	}
}

// check lists the hooks once; it runs on its own goroutine, bounded by a
// timeout.
func (c *hookCollector) check() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hooks, err := listHooks(ctx, c.mp)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checking, c.checked, c.ok = false, time.Now(), err == nil
	if err != nil {
		return
	}
	c.healthy = map[string]bool{}
	for _, et := range workflows.HookEventTypes {
		h, found := hooks[et]
		c.healthy[string(et)] = found && h.Status == mangopay.HookEnabled && h.Validity == mangopay.HookValid && (c.url == "" || h.URL == c.url)
	}
}
