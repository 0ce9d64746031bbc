package activities

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/notify"
)

// NotifyInput is one event for the platform. Event.ID is stable across
// retries (derived from the workflow), so the platform can drop duplicates.
type NotifyInput struct {
	Event notify.Event
}

// NotifyResult says whether the event was sent.
type NotifyResult struct {
	Sent bool
}

// The notifications' retry schedule: exponential from NotifyRetryInitial,
// doubling up to NotifyRetryMax, each delay moved by up to ±20% (jitter, so
// that the events an outage held do not all come back at once), for
// NotifyDeliveryWindow (the workflow's schedule-to-close). A platform's
// Retry-After, up to NotifyRetryAfterMax, is a floor.
const (
	NotifyRetryInitial  = 5 * time.Second
	NotifyRetryMax      = 30 * time.Minute
	NotifyRetryAfterMax = 24 * time.Hour
	// NotifyDeliveryWindow is three days of attempts, and the hour in
	// which the last one falls.
	NotifyDeliveryWindow = 73 * time.Hour
	notifyJitter         = 0.2
)

// Metrics of the notifications (the worker's /metrics).
const (
	// MetricNotifyEndpointGone counts 410 Gone answers: the worker stops
	// delivering to PLATFORM_WEBHOOK_URL.
	MetricNotifyEndpointGone = "kycflow_notify_endpoint_gone_total"
	// MetricNotifyEndpointDisabled is 1 while a worker has stopped
	// delivering to the endpoint after a 410 (until it restarts).
	MetricNotifyEndpointDisabled = "kycflow_notify_endpoint_disabled"
)

// NotifyPlatform posts the event to the platform's webhook, or logs and skips
// it when none is configured. A failed delivery is retried on the schedule
// above (Temporal's NextRetryDelay); a 410 Gone stops delivery to the
// endpoint: this event and every later one end with a non-retryable
// ErrTypeEndpointGone, counted, for an operator's alert.
func (a *Activities) NotifyPlatform(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	log := activity.GetLogger(ctx)
	if !a.Notifier.Enabled() {
		log.Info("platform notification skipped: no PLATFORM_WEBHOOK_URL", "event_type", in.Event.Type, "event_id", in.Event.ID)
		return NotifyResult{}, nil
	}
	err := a.Notifier.Send(ctx, in.Event)
	if err == nil {
		return NotifyResult{Sent: true}, nil
	}
	if errors.Is(err, notify.ErrGone) {
		metrics := activity.GetMetricsHandler(ctx)
		var se *notify.StatusError
		if errors.As(err, &se) { // this attempt was answered 410
			metrics.Counter(MetricNotifyEndpointGone).Inc(1)
			a.log().Error("the platform answered 410 Gone: notifications to PLATFORM_WEBHOOK_URL are stopped in this worker until it restarts",
				"event_type", in.Event.Type, "event_id", in.Event.ID)
		}
		metrics.Gauge(MetricNotifyEndpointDisabled).Update(1)
		return NotifyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeEndpointGone, err)
	}
	if errors.Is(err, notify.ErrNoSecret) || errors.Is(err, notify.ErrBadID) {
		return NotifyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotDelivered, err)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	var retryAfter time.Duration
	var se *notify.StatusError
	if errors.As(err, &se) {
		retryAfter = se.RetryAfter
	}
	return NotifyResult{}, temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeNotDelivered, temporal.ApplicationErrorOptions{
		Cause: err, NextRetryDelay: NotifyRetryDelay(in.Event.ID, attempt, retryAfter),
	})
}

// NotifyRetryDelay is the wait after the given failed attempt (1 for the
// first) of the event: NotifyRetryInitial doubled per attempt up to
// NotifyRetryMax, moved by up to ±20%, and no shorter than retryAfter
// (capped at NotifyRetryAfterMax). The jitter is drawn from the event id
// and the attempt, so that different events spread out while a replayed
// test sees the same schedule.
func NotifyRetryDelay(eventID string, attempt int, retryAfter time.Duration) time.Duration {
	d := NotifyRetryMax
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 20 {
		if b := NotifyRetryInitial << (attempt - 1); b < d {
			d = b
		}
	}
	h := fnv.New64a()
	h.Write([]byte(eventID))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(attempt)))
	var sum [8]byte
	u := float64(binary.BigEndian.Uint64(h.Sum(sum[:0]))>>11) / (1 << 53) // [0, 1)
	d = time.Duration(float64(d) * (1 - notifyJitter + 2*notifyJitter*u))
	if retryAfter > NotifyRetryAfterMax {
		retryAfter = NotifyRetryAfterMax
	}
	return max(d, retryAfter)
}
