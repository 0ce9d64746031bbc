package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"

	"github.com/kycflow/kycflow/mangopay"
)

// priorityByKind is the Mangopay call priority of each activity: a user
// or the platform waits for the session, a PSC retry and document
// submission; reads follow webhooks and the workflow's polls. Every
// activity of Activities is listed (a test checks it); activities of other
// structs (the fleet reconciler's) are background work.
var priorityByKind = map[string]mangopay.Priority{
	"ReadUser":           mangopay.PriorityInteractive,
	"CreateSession":      mangopay.PriorityInteractive,
	"CreateDocument":     mangopay.PriorityInteractive,
	"UploadPages":        mangopay.PriorityInteractive,
	"SubmitDocument":     mangopay.PriorityInteractive,
	"RetryPSC":           mangopay.PriorityInteractive,
	"GetSession":         mangopay.PriorityWebhook,
	"FindCreatedSession": mangopay.PriorityWebhook,
	"GetDocument":        mangopay.PriorityWebhook,
	"ReadPSCs":           mangopay.PriorityWebhook,
	"ReadRegulatory":     mangopay.PriorityWebhook,
	"IndexSession":       mangopay.PriorityWebhook,
	"NotifyPlatform":     mangopay.PriorityWebhook,
	// NotificationsHeld makes no Mangopay call; listed for completeness.
	"NotificationsHeld": mangopay.PriorityWebhook,
}

// PriorityOf returns the Mangopay call priority of an activity. A Temporal
// priority key set by the workflow wins (1: interactive, 2–3: webhook, 4
// and more: background); otherwise the activity's kind decides.
func PriorityOf(activityType string, priorityKey int) mangopay.Priority {
	switch {
	case priorityKey == 1:
		return mangopay.PriorityInteractive
	case priorityKey == 2 || priorityKey == 3:
		return mangopay.PriorityWebhook
	case priorityKey >= 4:
		return mangopay.PriorityBackground
	}
	if p, ok := priorityByKind[activityType]; ok {
		return p
	}
	return mangopay.PriorityBackground
}

// PriorityInterceptor puts each activity's Mangopay call priority
// (PriorityOf) into its context, so that the client's budget orders the
// calls. The worker registers it.
type PriorityInterceptor struct {
	interceptor.WorkerInterceptorBase
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (*PriorityInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &priorityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type priorityInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (p *priorityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	ctx = mangopay.WithPriority(ctx, PriorityOf(info.ActivityType.Name, info.Priority.PriorityKey))
	return p.Next.ExecuteActivity(ctx, in)
}
