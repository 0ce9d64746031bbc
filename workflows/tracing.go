package workflows

import (
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// TraceSpanKey is the workflow-context key under which Temporal's
// OpenTelemetry interceptor keeps the current span (its SpanContextKey;
// internal/tracing sets it). The workflow moves spans between contexts
// with it so that the work a webhook causes joins the webhook's trace.
// Spans never reach a command or the state: replay is unaffected.
var TraceSpanKey any = traceSpanKey{}

type traceSpanKey struct{}

// signalSpans are the spans of the mangopay-event signals not yet taken
// from the channel, in the order of the channel: the signal handler only
// queues the event, and the main loop handles it later, in its own
// context.
type signalSpans struct{ queue []any }

type signalSpansKey struct{}

// EventSpanInterceptor remembers each mangopay-event signal's span for
// the main loop (eventContext). The worker registers it after Temporal's
// tracing interceptor, whose span it reads; without that interceptor it
// queues nothing but nils.
type EventSpanInterceptor struct {
	interceptor.WorkerInterceptorBase
}

// InterceptWorkflow implements interceptor.WorkerInterceptor.
func (*EventSpanInterceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &eventSpanInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, spans: &signalSpans{}}
}

type eventSpanInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	spans *signalSpans
}

func (i *eventSpanInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	return i.Next.ExecuteWorkflow(workflow.WithValue(ctx, signalSpansKey{}, i.spans), in)
}

func (i *eventSpanInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	if in.SignalName == SignalMangopayEvent {
		i.spans.queue = append(i.spans.queue, ctx.Value(TraceSpanKey))
	}
	return i.Next.HandleSignal(ctx, in)
}

// eventContext takes the span of the event just received from w.events
// and returns ctx carrying it: the activities and notifications the event
// causes are then children of its signal. Every receive from w.events
// calls it once, so that the queue stays in step with the channel.
func eventContext(ctx workflow.Context) workflow.Context {
	s, _ := ctx.Value(signalSpansKey{}).(*signalSpans)
	if s == nil || len(s.queue) == 0 {
		return ctx
	}
	span := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	if span == nil {
		return ctx
	}
	return workflow.WithValue(ctx, TraceSpanKey, span)
}

// rememberSpan keeps the span of ctx for the notification id, sent later
// by the outbox's sender in a context of its own.
func (w *onboarding) rememberSpan(ctx workflow.Context, id string) {
	span := ctx.Value(TraceSpanKey)
	if span == nil {
		return
	}
	if w.outboxSpans == nil {
		w.outboxSpans = map[string]any{}
	}
	w.outboxSpans[id] = span
}

// spanContext returns ctx carrying the span remembered for the
// notification id (and forgets it).
func (w *onboarding) spanContext(ctx workflow.Context, id string) workflow.Context {
	span, ok := w.outboxSpans[id]
	if !ok {
		return ctx
	}
	delete(w.outboxSpans, id)
	return workflow.WithValue(ctx, TraceSpanKey, span)
}
