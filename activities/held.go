package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// MetricNotifyHeld counts onboardings whose notifications are held: an
// event still undelivered after its whole retry schedule (or a 410 Gone)
// stops the onboarding's deliveries, in order, until an operator re-sends
// them (`worker notifications resend`).
const MetricNotifyHeld = "kycflow_notify_held_total"

// NotificationsHeldInput says which onboarding holds its notifications, and
// why: ids and types only, never personal data.
type NotificationsHeldInput struct {
	UserID    string `json:"UserId"`
	EventID   string `json:"EventId"`
	EventType string `json:"EventType"`
	// Held is how many events wait in the onboarding's outbox.
	Held  int    `json:"Held"`
	Error string `json:"Error"`
}

// NotificationsHeld counts and logs, at ERROR, that an onboarding gave up
// delivering an event for now: the workflow keeps it, with every later one,
// and flags itself (KycAttention); this is the metric the alert rule reads.
func (a *Activities) NotificationsHeld(ctx context.Context, in NotificationsHeldInput) error {
	activity.GetMetricsHandler(ctx).Counter(MetricNotifyHeld).Inc(1)
	a.log().Error("a platform notification is still undelivered after its retry schedule: the onboarding holds its notifications until an operator re-sends them",
		"user_id", in.UserID, "event_id", in.EventID, "event_type", in.EventType, "held", in.Held, "error", in.Error)
	return nil
}
