package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/internal/errclass"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// Signaler is the part of the Temporal client the forwarder uses.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

var _ Signaler = client.Client(nil)

// Forwarder reads the webhook stream as a member of the consumer group and
// signals each event to its user's onboarding workflow. Entries are
// acknowledged only once handled: signalled, dropped as a duplicate,
// recorded as unroutable, or dead-lettered.
type Forwarder struct {
	RDB      redis.UniversalClient
	Temporal Signaler
	Resolver *Resolver
	Metrics  *Metrics
	Logger   *slog.Logger
	// Consumer names this bridge in the group: stable across restarts
	// (BRIDGE_CONSUMER_NAME, the host name by default), so that a restart
	// picks up its own pending entries and leaves no orphan consumer.
	// Two bridges running at once must have different names.
	Consumer string
	// DedupeTTL remembers forwarded event keys for Mangopay's whole retry
	// window (3 days and an hour).
	DedupeTTL time.Duration
	// MaxAttempts dead-letters an entry after this many failures that are
	// not Temporal or Redis outages.
	MaxAttempts int
	// ClaimIdle is how long an entry may sit unacknowledged with a consumer
	// before another bridge claims it (the owner crashed). A batch is given
	// at most half of it, so that no entry is claimed while its owner still
	// handles it.
	ClaimIdle time.Duration
	// ForgetIdle is how long a consumer with no pending entry may stay idle
	// before it is removed from the group (a bridge that was renamed or
	// scaled away).
	ForgetIdle time.Duration
	// Concurrency is how many entries are handled at once.
	Concurrency int
	// RestartReturnURL is the ReturnUrl of an onboarding restarted by a
	// downgrade webhook; empty, the workflow waits for ensure-session.
	RestartReturnURL string
	// RestartUnknownUsers lets a downgrade webhook start an onboarding for
	// a user Temporal has no onboarding for (never onboarded by kycflow, or
	// closed longer ago than the namespace's retention). Off by default: a
	// forged USER_KYC_LIGHT would otherwise start a workflow for any ID.
	// A closed onboarding is never restarted by a webhook.
	RestartUnknownUsers bool
	// HoldFor is how long a webhook naming a PSC no onboarding has listed
	// yet is held, waiting for the routing index to know the PSC, before
	// it is recorded as unrouted. HoldRecheck is how often the held
	// webhooks are looked up again.
	HoldFor     time.Duration
	HoldRecheck time.Duration

	// Done is closed when Run has returned (graceful shutdown waits on it).
	Done chan struct{}

	deferred    atomic.Int64 // entries of the current batch to retry on their own schedule
	claimCursor string       // where the next XAUTOCLAIM scan starts
	heldCursor  string       // where the next scan of the held webhooks starts
}

// Forwarder defaults.
const (
	DefaultDedupeTTL   = 3*24*time.Hour + 2*time.Hour
	DefaultMaxAttempts = 10
	DefaultClaimIdle   = 2 * time.Minute
	DefaultForgetIdle  = 24 * time.Hour
	DefaultConcurrency = 32
	// DefaultHoldFor is a PSC session's lifetime (7 days): a PSC webhook
	// no onboarding claims by then will not be claimed.
	DefaultHoldFor     = 7 * 24 * time.Hour
	DefaultHoldRecheck = 2 * time.Second
	heldBatch          = 500
	heldMaxLen         = 100_000
	readBatch          = 200
	readBlock          = time.Second
	// MaxBackoff is the longest the forwarder waits before trying again,
	// through an outage or an entry that fails on its own.
	MaxBackoff = 30 * time.Second
	// ackTimeout bounds the acknowledgement of a batch, which runs even
	// when the forwarder is stopping.
	ackTimeout = 5 * time.Second
)

func (f *Forwarder) defaults() {
	if f.DedupeTTL <= 0 {
		f.DedupeTTL = DefaultDedupeTTL
	}
	if f.MaxAttempts <= 0 {
		f.MaxAttempts = DefaultMaxAttempts
	}
	if f.ClaimIdle <= 0 {
		f.ClaimIdle = DefaultClaimIdle
	}
	if f.ForgetIdle <= 0 {
		f.ForgetIdle = DefaultForgetIdle
	}
	if f.claimCursor == "" {
		f.claimCursor = "0-0"
	}
	if f.Concurrency <= 0 {
		f.Concurrency = DefaultConcurrency
	}
	if f.HoldFor <= 0 {
		f.HoldFor = DefaultHoldFor
	}
	if f.HoldRecheck <= 0 {
		f.HoldRecheck = DefaultHoldRecheck
	}
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	if f.Done == nil {
		f.Done = make(chan struct{})
	}
}

// Run forwards until ctx ends. Outages (Redis, Temporal, Mangopay) are
// waited out with backoff; the events stay in the stream meanwhile.
func (f *Forwarder) Run(ctx context.Context) error {
	f.defaults()
	defer close(f.Done)
	outage := newBackoff(100*time.Millisecond, MaxBackoff) // Redis or Temporal away
	retry := newBackoff(100*time.Millisecond, MaxBackoff)  // entries failing on their own
	pending := true                                        // start with our own unacknowledged entries (a restart)
	var lastClaim, lastForget, lastHeld, retryAt time.Time
	for ctx.Err() == nil {
		if !retryAt.IsZero() && !time.Now().Before(retryAt) {
			pending, retryAt = true, time.Time{}
		}
		if err := f.ensureGroup(ctx); err != nil {
			f.Logger.Warn("webhook stream unavailable", "error", err)
			outage.sleep(ctx)
			continue
		}
		if time.Since(lastClaim) >= f.ClaimIdle/2 {
			lastClaim = time.Now()
			if n := f.claimStale(ctx); n > 0 {
				pending = true
			}
		}
		if time.Since(lastHeld) >= f.HoldRecheck {
			lastHeld = time.Now()
			f.rerouteHeld(ctx)
		}
		if time.Since(lastForget) >= min(f.ForgetIdle/2, 10*time.Minute) {
			lastForget = time.Now()
			f.forgetIdleConsumers(ctx)
		}
		start, block := ">", readBlock
		if pending {
			start, block = "0", -1 // our pending entries, without waiting
		}
		res, err := f.RDB.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: webhookstream.GroupName, Consumer: f.Consumer, Streams: []string{webhookstream.StreamKey, start}, Count: readBatch, Block: block,
		}).Result()
		if errors.Is(err, redis.Nil) || (err == nil && (len(res) == 0 || len(res[0].Messages) == 0)) {
			pending = false
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				f.Logger.Warn("read webhook stream", "error", err)
				outage.sleep(ctx)
			}
			continue
		}
		failures, deferred := f.handleBatch(ctx, res[0].Messages)
		switch {
		case failures == 0:
			outage.reset()
			if pending {
				retry.reset() // the retried entries went through
			}
		case failures == deferred:
			// Only entries failing on their own, or waiting for Mangopay
			// to answer a lookup: retry them later, on their own
			// schedule, and keep forwarding new webhooks meanwhile
			// instead of stalling behind them.
			pending = false
			retryAt = time.Now().Add(retry.take())
		default:
			// Something is down: retry our pending entries after a pause.
			pending = true
			outage.sleep(ctx)
		}
	}
	return nil
}

func (f *Forwarder) ensureGroup(ctx context.Context) error {
	err := f.RDB.XGroupCreateMkStream(ctx, webhookstream.StreamKey, webhookstream.GroupName, "0").Err()
	if err != nil && errclass.Of(err) != errclass.Exists {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// claimStale takes over entries another consumer left unacknowledged for
// ClaimIdle (it crashed or was killed), and settles those that vanished
// from the stream meanwhile (see releaseVanished).
func (f *Forwarder) claimStale(ctx context.Context) int {
	// Each call scans part of the pending entries; the cursor carries the
	// scan on, so that stale entries behind many fresh ones are reached.
	msgs, next, deleted, err := f.RDB.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
		Stream: webhookstream.StreamKey, Group: webhookstream.GroupName, Consumer: f.Consumer, MinIdle: f.ClaimIdle, Start: f.claimCursor, Count: readBatch,
	}).Result()
	if err != nil {
		if ctx.Err() == nil {
			f.Logger.Warn("claim stale webhooks", "error", err)
		}
		return 0
	}
	f.claimCursor = next
	if len(deleted) > 0 {
		f.releaseVanished(ctx, deleted)
	}
	if len(msgs) > 0 {
		f.Logger.Info("claimed webhooks left by another bridge", "count", len(msgs))
	}
	return len(msgs)
}

// forgetIdleConsumers removes from the group the consumers idle for
// ForgetIdle that hold no pending entry: bridges renamed or scaled away. A
// live bridge reads every second, so it is never that idle; if it were, it
// would simply be recreated by its next read.
func (f *Forwarder) forgetIdleConsumers(ctx context.Context) {
	consumers, err := f.RDB.XInfoConsumers(ctx, webhookstream.StreamKey, webhookstream.GroupName).Result()
	if err != nil {
		return
	}
	for _, c := range consumers {
		if c.Name == f.Consumer || c.Pending > 0 || c.Idle < f.ForgetIdle {
			continue
		}
		removed, err := delIfNothingPending.Run(ctx, f.RDB, []string{webhookstream.StreamKey}, webhookstream.GroupName, c.Name).Int()
		if err != nil {
			f.Logger.Warn("remove an idle consumer", "consumer", c.Name, "error", err)
			continue
		}
		if removed < 0 {
			continue // it read something meanwhile
		}
		f.Logger.Info("removed a consumer idle with nothing pending", "consumer", c.Name, "idle", c.Idle)
	}
}

// delIfNothingPending removes a consumer only if it holds no pending entry
// at that moment: XGROUP DELCONSUMER drops a consumer's pending entries
// with it.
var delIfNothingPending = redis.NewScript(`
if #redis.call("XPENDING", KEYS[1], ARGV[1], "-", "+", 1, ARGV[2]) > 0 then
	return -1
end
return redis.call("XGROUP", "DELCONSUMER", KEYS[1], ARGV[1], ARGV[2])`)

// releaseVanished handles entries that were deleted from the stream while
// pending (a trim by hand, or by an older bridge): XAUTOCLAIM has dropped
// them from the group. They are counted and logged, and the dedupe keys
// they held are released, so that Mangopay's redelivery of those events is
// forwarded instead of dropped as a duplicate.
func (f *Forwarder) releaseVanished(ctx context.Context, ids []string) {
	f.Metrics.Vanished.Add(float64(len(ids)))
	f.Logger.Error("webhooks vanished from the stream before they were handled; Mangopay's redelivery will be forwarded",
		"count", len(ids), "entries", ids)
	for _, id := range ids {
		key, err := f.RDB.HGet(ctx, webhookstream.ClaimsKey, id).Result()
		switch {
		case errors.Is(err, redis.Nil):
			// Never claimed: no key to release.
		case err != nil:
			f.Logger.Warn("release the dedupe key of a vanished webhook", "entry", id, "error", err)
			continue
		default:
			if err := releaseIfHeld.Run(ctx, f.RDB, []string{key}, id).Err(); err != nil {
				f.Logger.Warn("release the dedupe key of a vanished webhook", "entry", id, "error", err)
				continue
			}
		}
		f.RDB.HDel(ctx, webhookstream.ClaimsKey, id)
		f.RDB.HDel(ctx, webhookstream.AttemptsKey, id)
	}
}

// releaseIfHeld deletes a dedupe key only if the given entry still holds it
// (a duplicate may hold it since).
var releaseIfHeld = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// handleBatch handles entries concurrently and acknowledges the handled
// ones. It reports how many must be retried later, and how many of those
// may be retried on their own schedule (they failed on their own, or wait
// for Mangopay) rather than after an outage of Redis or Temporal.
func (f *Forwarder) handleBatch(ctx context.Context, msgs []redis.XMessage) (failures, deferred int) {
	f.deferred.Store(0)
	// The batch ends well before another bridge may claim its entries.
	bctx, cancel := context.WithTimeout(ctx, f.ClaimIdle/2)
	defer cancel()
	var (
		mu   sync.Mutex
		done []string
		wg   sync.WaitGroup
		sem  = make(chan struct{}, f.Concurrency)
	)
	for _, m := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			handled := f.handle(bctx, m)
			if !handled {
				f.Metrics.observeLag(outcomeRetry, receivedAt(m))
			}
			mu.Lock()
			if handled {
				done = append(done, m.ID)
			} else {
				failures++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(done) > 0 {
		// Acknowledge and delete in one transaction: an entry is never
		// left deleted but pending, nor acknowledged but kept forever. This
		// runs even when the forwarder is stopping: what was signalled
		// must not be signalled again after a restart.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		defer cancel()
		pipe := f.RDB.TxPipeline()
		pipe.XAck(actx, webhookstream.StreamKey, webhookstream.GroupName, done...)
		pipe.XDel(actx, webhookstream.StreamKey, done...)
		pipe.HDel(actx, webhookstream.AttemptsKey, done...)
		pipe.HDel(actx, webhookstream.ClaimsKey, done...)
		if _, err := pipe.Exec(actx); err != nil {
			// Unacknowledged entries come back; the dedupe keys drop them then.
			f.Logger.Warn("acknowledge webhooks", "error", err)
			return failures + 1, 0
		}
	}
	return failures, int(f.deferred.Load())
}

// handle returns true when the entry is done with (it may be acked).
func (f *Forwarder) handle(ctx context.Context, m redis.XMessage) bool {
	if len(m.Values) == 0 {
		// Our own pending entry, deleted from the stream meanwhile: Redis
		// returns its ID alone.
		f.releaseVanished(ctx, []string{m.ID})
		return true
	}
	// One trace from the webhook's request: the entry carries its context.
	ctx, span := webhookstream.Tracing.StartProcess(ctx, m.ID, m.Values)
	defer span.End()
	ev, received, err := webhookstream.DecodeEntry(m)
	if err != nil {
		return f.deadLetter(ctx, m, err)
	}
	span.SetAttributes(attribute.String("kycflow.event_type", string(ev.EventType)))
	log := f.Logger.With(append([]any{"event_type", ev.EventType, "resource_id", ev.ResourceID, "entry", m.ID}, logsetup.TraceAttrs(ctx)...)...)
	seenKey := webhookstream.SeenPrefix + ev.EventKey
	mine, err := f.claim(ctx, seenKey, m.ID)
	if err != nil {
		return false
	}
	if !mine {
		f.Metrics.Duplicates.Inc()
		return true
	}
	userID, err := f.Resolver.UserFor(ctx, ev)
	switch {
	case errors.Is(err, ErrUnroutable):
		log.Info("webhook not routable", "reason", err.Error())
		return f.release(ctx, seenKey, f.unrouted(ctx, m, err.Error()))
	case errors.Is(err, ErrNotIndexedYet):
		// Held aside, not pending: a held entry costs a Redis read every
		// HoldRecheck and never stalls the stream behind it.
		log.Info("webhook held until an onboarding lists its PSC", "reason", err.Error())
		return f.release(ctx, seenKey, f.hold(ctx, m, err.Error()))
	case errors.Is(err, ErrMangopayUnavailable):
		// The claim stays, the attempts are not counted: Mangopay's
		// outage is not the event's fault.
		f.outage(log, "mangopay", err)
		f.deferred.Add(1)
		return false
	case errors.Is(err, ErrLookupLimited):
		// Over the lookup budget (a flood of unknown IDs): later.
		f.Metrics.LookupsLimited.Inc()
		f.deferred.Add(1)
		return false
	case err != nil:
		log.Warn("resolve webhook", "error", err)
		return f.release(ctx, seenKey, f.failed(ctx, m, err))
	}
	err = f.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.SignalMangopayEvent, ev)
	if errclass.Of(err) == errclass.NotFound {
		var why string
		why, err = f.restart(ctx, userID, ev)
		switch {
		case why != "":
			log.Info("webhook for a user without a running onboarding", "user_id", userID, "reason", why)
			return f.release(ctx, seenKey, f.unrouted(ctx, m, why))
		case errors.Is(err, ErrLookupLimited):
			f.Metrics.LookupsLimited.Inc()
			f.deferred.Add(1)
			return false
		case err == nil:
			log.Info("onboarding restarted by a downgrade", "user_id", userID)
			f.Metrics.Restarted.Inc()
		}
	}
	if err != nil {
		if errclass.Of(err) == errclass.Outage {
			f.outage(log, "temporal", err)
			return false // the claim stays: this entry is retried, its duplicates are not
		}
		return f.release(ctx, seenKey, f.failed(ctx, m, err))
	}
	// The claim stays for DedupeTTL: it is the record that ev was forwarded.
	f.Metrics.Forwarded.Inc()
	f.Metrics.observeLag(outcomeForwarded, received)
	return true
}

// claim makes entry id the one that forwards the event whose dedupe key is
// key, unless another entry with the same key (a duplicate delivery, maybe
// handled by another bridge at this very moment) holds it: then it returns
// false. Checking and marking in one step matters: duplicates arrive
// together and are handled concurrently. The holder itself gets true again
// when its entry is retried (after an outage, or claimed from a crashed
// bridge).
func (f *Forwarder) claim(ctx context.Context, key, id string) (bool, error) {
	pipe := f.RDB.Pipeline()
	pipe.HSet(ctx, webhookstream.ClaimsKey, id, key) // for releaseVanished
	setNX := pipe.SetNX(ctx, key, id, f.DedupeTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, err
	}
	if setNX.Val() {
		return true, nil
	}
	holder, err := f.RDB.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) { // released meanwhile
		return f.RDB.SetNX(ctx, key, id, f.DedupeTTL).Result()
	}
	return holder == id, err
}

// release gives up the claim of an entry that is done with but was not
// forwarded (unroutable, dead-lettered), so that a later delivery of the
// same event, or its replay, is forwarded rather than dropped.
func (f *Forwarder) release(ctx context.Context, key string, done bool) bool {
	if done {
		if err := f.RDB.Del(ctx, key).Err(); err != nil {
			f.Logger.Warn("release webhook dedupe key", "error", err)
		}
	}
	return done
}

// restartable events restart a user's onboarding when none runs: a verified
// user downgraded months later must be verified again.
func restartable(eventType mangopay.EventType) bool {
	return eventType == mangopay.EventIdentityVerificationOutdated || eventType == mangopay.EventUserKYCLight
}

// restart starts the onboarding of a user Temporal has no running one for,
// when ev is a downgrade and the user is one kycflow may start: never one
// whose onboarding is closed (cancelled, failed...), and one unknown to
// Temporal only with RestartUnknownUsers. why says why not; err is an
// error to retry (an outage, or ErrLookupLimited).
func (f *Forwarder) restart(ctx context.Context, userID string, ev webhookstream.MangopayEvent) (why string, err error) {
	if !restartable(ev.EventType) {
		return "no onboarding for user " + userID, nil
	}
	d, err := f.Temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(userID), "")
	switch errclass.Of(err) {
	case errclass.None:
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Sprintf("the onboarding of user %s is closed (%s): a downgrade does not reopen it", userID, st), nil
		}
		return "", errors.New("the onboarding started meanwhile: signal it again") // retried
	case errclass.NotFound:
		if !f.RestartUnknownUsers {
			return "no onboarding for user " + userID + " (set BRIDGE_RESTART_UNKNOWN_USERS=true to let downgrades start one)", nil
		}
	default:
		return "", err
	}
	// A restart reads the user at Mangopay: it draws on the lookup budget.
	if !f.Resolver.allow() {
		return "", ErrLookupLimited
	}
	opts := workflows.StartOptions(userID)
	opts.StaticSummary += " (restarted by " + string(ev.EventType) + ")"
	_, err = f.Temporal.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalMangopayEvent, ev, opts,
		workflows.WorkflowType, workflows.Input{UserID: userID, ReturnURL: f.RestartReturnURL})
	if errclass.Of(err) == errclass.Exists { // closed meanwhile: the reuse policy refuses
		return fmt.Sprintf("the onboarding of user %s is closed: a downgrade does not reopen it", userID), nil
	}
	return "", err
}

// outage records that dependency kept an entry waiting: a metric to alert
// on, and a log line that says what an operator must do when it is a
// credential problem rather than an outage.
func (f *Forwarder) outage(log *slog.Logger, dependency string, err error) {
	f.Metrics.Outages.WithLabelValues(dependency).Inc()
	var mpErr *mangopay.Error
	if errors.As(err, &mpErr) && (mpErr.StatusCode == http.StatusUnauthorized || mpErr.StatusCode == http.StatusForbidden) {
		log.Error("Mangopay refuses kycflow's credentials (check MANGOPAY_CLIENT_ID, MANGOPAY_API_KEY and the IP allowlist): webhook kept for later",
			"dependency", dependency, "status", mpErr.StatusCode)
		return
	}
	log.Warn(dependency+" unavailable: webhook kept for later", "dependency", dependency, "error", err)
}

// failed counts a failure that is not an outage; past MaxAttempts the entry
// goes to the dead-letter stream.
func (f *Forwarder) failed(ctx context.Context, m redis.XMessage, cause error) bool {
	if errclass.Of(cause) == errclass.Outage {
		return false
	}
	n, err := f.RDB.HIncrBy(ctx, webhookstream.AttemptsKey, m.ID, 1).Result()
	if err != nil {
		return false
	}
	if n < int64(f.MaxAttempts) {
		f.deferred.Add(1) // this entry's own failure, not an outage
		return false
	}
	return f.deadLetter(ctx, m, cause)
}

func (f *Forwarder) deadLetter(ctx context.Context, m redis.XMessage, cause error) bool {
	vals := copyValues(m, webhookstream.FieldError, cause.Error(), webhookstream.FieldOrigID, m.ID)
	if err := f.RDB.XAdd(ctx, &redis.XAddArgs{Stream: webhookstream.DeadLetterKey, MaxLen: webhookstream.DeadLetterMaxLen, Approx: true, Values: vals}).Err(); err != nil {
		return false
	}
	f.Metrics.DeadLettered.Inc()
	f.Logger.Error("webhook dead-lettered", "entry", m.ID, "error", cause.Error())
	return true
}

func (f *Forwarder) unrouted(ctx context.Context, m redis.XMessage, reason string) bool {
	vals := copyValues(m, webhookstream.FieldError, reason, webhookstream.FieldOrigID, m.ID)
	if err := f.RDB.XAdd(ctx, &redis.XAddArgs{Stream: webhookstream.UnroutedKey, MaxLen: 100_000, Approx: true, Values: vals}).Err(); err != nil {
		return false
	}
	f.Metrics.Unrouted.Inc()
	return true
}

// hold puts an entry in the held stream, to be routed again once the
// routing index knows its PSC.
func (f *Forwarder) hold(ctx context.Context, m redis.XMessage, reason string) bool {
	vals := copyValues(m, webhookstream.FieldError, reason, webhookstream.FieldOrigID, m.ID)
	if err := f.RDB.XAdd(ctx, &redis.XAddArgs{Stream: webhookstream.HeldKey, MaxLen: heldMaxLen, Approx: true, Values: vals}).Err(); err != nil {
		return false
	}
	f.Metrics.Held.Inc()
	return true
}

// rerouteHeld looks the held webhooks up in the routing index again, a
// batch per call: those whose PSC an onboarding has listed since go back on
// the webhook stream (and are routed like any other), those held longer
// than HoldFor are recorded as unrouted. Each move is atomic, so bridges
// running this at once move an entry once.
func (f *Forwarder) rerouteHeld(ctx context.Context) {
	start := "-"
	if f.heldCursor != "" {
		start = "(" + f.heldCursor
	}
	msgs, err := f.RDB.XRangeN(ctx, webhookstream.HeldKey, start, "+", heldBatch).Result()
	if err != nil {
		if ctx.Err() == nil {
			f.Logger.Warn("read held webhooks", "error", err)
		}
		return
	}
	f.heldCursor = ""
	if len(msgs) == heldBatch {
		f.heldCursor = msgs[len(msgs)-1].ID // the next call goes on from there
	}
	if len(msgs) == 0 {
		return
	}
	pipe := f.RDB.Pipeline()
	gets := make([]*redis.StringCmd, len(msgs))
	for i, m := range msgs {
		id, _ := m.Values[webhookstream.FieldResourceID].(string)
		gets[i] = pipe.Get(ctx, routing.Key(routing.KindPSC, id))
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	now := time.Now()
	for i, m := range msgs {
		switch err := gets[i].Err(); {
		case err == nil:
			// The dedupe key stays: a copy of this webhook forwarded while
			// this one was held must not be forwarded twice.
			n, err := replayOne.Run(ctx, f.RDB, []string{webhookstream.HeldKey, webhookstream.StreamKey}, m.ID, "").Int()
			if err != nil {
				f.Logger.Warn("route a held webhook again", "entry", m.ID, "error", err)
				continue
			}
			if n > 0 {
				f.Metrics.Rerouted.Inc()
				f.Logger.Info("held webhook routed again: an onboarding listed its PSC", "entry", m.ID, "resource_id", m.Values[webhookstream.FieldResourceID])
			}
		case !errors.Is(err, redis.Nil):
			f.Logger.Warn("look up a held webhook", "entry", m.ID, "error", err)
		case now.Sub(receivedAt(m)) > f.HoldFor:
			why := fmt.Sprintf("no onboarding listed PSC %v within %s", m.Values[webhookstream.FieldResourceID], f.HoldFor)
			n, err := moveParked.Run(ctx, f.RDB, []string{webhookstream.HeldKey, webhookstream.UnroutedKey}, m.ID, why).Int()
			if err != nil {
				f.Logger.Warn("record a held webhook as unrouted", "entry", m.ID, "error", err)
				continue
			}
			if n > 0 {
				f.Metrics.Unrouted.Inc()
			}
		}
	}
}

// moveParked moves one entry from a parked stream to another in one step,
// with a new reason.
var moveParked = redis.NewScript(`
local e = redis.call("XRANGE", KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then
	return 0
end
local f, vals = e[1][2], {}
for i = 1, #f, 2 do
	if f[i] ~= "err" then
		table.insert(vals, f[i])
		table.insert(vals, f[i + 1])
	end
end
table.insert(vals, "err")
table.insert(vals, ARGV[2])
redis.call("XADD", KEYS[2], "MAXLEN", "~", "100000", "*", unpack(vals))
redis.call("XDEL", KEYS[1], ARGV[1])
return 1`)

func copyValues(m redis.XMessage, extra ...string) []any {
	vals := make([]any, 0, 2*len(m.Values)+len(extra))
	// The trace fields too: a held or replayed entry continues its trace.
	for _, k := range append([]string{webhookstream.FieldEventType, webhookstream.FieldResourceID, webhookstream.FieldDate, webhookstream.FieldReceived}, webhookstream.TraceFields...) {
		if v, ok := m.Values[k]; ok {
			vals = append(vals, k, v)
		}
	}
	for _, e := range extra {
		vals = append(vals, e)
	}
	return vals
}
