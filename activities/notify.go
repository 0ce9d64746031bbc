package activities

import (
	"context"
	"errors"

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

// NotifyPlatform posts the event to the platform's webhook, or logs and skips
// it when none is configured.
func (a *Activities) NotifyPlatform(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	log := activity.GetLogger(ctx)
	if !a.Notifier.Enabled() {
		log.Info("platform notification skipped: no PLATFORM_WEBHOOK_URL", "event_type", in.Event.Type, "event_id", in.Event.ID)
		return NotifyResult{}, nil
	}
	err := a.Notifier.Send(ctx, in.Event)
	if errors.Is(err, notify.ErrRejected) {
		return NotifyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, err)
	}
	if err != nil {
		return NotifyResult{}, err
	}
	return NotifyResult{Sent: true}, nil
}
