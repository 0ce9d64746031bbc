package e2e_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/httpapi"
	"github.com/kycflow/kycflow/internal/streamtrace"
	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/workflows"
)

// TestTraceOfASignupAndAWebhook runs the whole system with an in-memory
// span recorder as the tracer provider and checks the two traces the
// operations guide shows: a signup, from POST /v1/onboardings through
// update-with-start to the IDV session's creation at Mangopay, and a
// webhook, from its HTTP request through the stream entry, the
// forwarder, the signal and the activities it causes, to the Mangopay call
// and the platform's notification. Each span is checked against its
// parent. With -v the traces are printed as the docs show them.
func TestTraceOfASignupAndAWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end tests start the whole system: skipped with -short")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skip("the Temporal CLI is not installed (make temporal-cli, or set TEMPORAL_CLI): end-to-end tests skipped")
	} else if err != nil {
		t.Fatalf("find the Temporal CLI: %v", err)
	}
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(tracing.Propagator())
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	e := startEnv(t)
	user := e.newNaturalUser(t)
	s := e.startOnboarding(t, user)
	requireAwaitingUser(t, s, 1)

	// The signup: answered once the session exists, so its spans have all
	// started (the workflow's own span stays open while it runs).
	signup := findTrace(t, rec, "POST /v1/onboardings", "RunActivity:CreateSession")
	t.Logf("trace of a signup:\n%s", signup.render())
	signup.requireChain(t,
		"POST /v1/onboardings",
		"UpdateWithStartWorkflow:"+workflows.UpdateEnsureSession,
		"RunWorkflow:"+workflows.WorkflowType,
		"StartActivity:CreateSession",
		"RunActivity:CreateSession",
		"mangopay POST",
	)
	signup.requireChain(t, "UpdateWithStartWorkflow:"+workflows.UpdateEnsureSession, "HandleUpdate:"+workflows.UpdateEnsureSession)
	signup.requireAttr(t, "POST /v1/onboardings", "url.path", "/v1/onboardings")

	// The webhook: the user passes the hosted page, the simulator notifies
	// the bridge, the platform hears of the verification.
	e.completePage(t, s.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)
	e.waitEvents(t, user, "onboarding.awaiting_user", "onboarding.verified")
	var hook *spanTree
	eventually(t, "the trace of the webhook that verified the user", func() (bool, string) {
		for _, tr := range traces(rec) {
			if tr.has("GET /webhooks/mangopay/:token") && tr.has("RunActivity:NotifyPlatform") && tr.has("notify platform") {
				hook = tr
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d traces", len(traces(rec)))
	})
	t.Logf("trace of a webhook:\n%s", hook.render())
	hook.requireChain(t,
		"GET /webhooks/mangopay/:token",
		"send kycflow:webhooks",
		"process kycflow:webhooks",
		"SignalWorkflow:"+workflows.SignalMangopayEvent,
		"HandleSignal:"+workflows.SignalMangopayEvent,
		"StartActivity:GetSession",
		"RunActivity:GetSession",
		"mangopay GET",
	)
	hook.requireChain(t,
		"HandleSignal:"+workflows.SignalMangopayEvent,
		"StartActivity:NotifyPlatform",
		"RunActivity:NotifyPlatform",
		"notify platform",
	)
	// The secret token never reaches a span; the stream's spans follow
	// the messaging conventions.
	hook.requireAttr(t, "GET /webhooks/mangopay/:token", "http.route", "/webhooks/mangopay/:token")
	hook.requireAttr(t, "GET /webhooks/mangopay/:token", "url.path", "/webhooks/mangopay/"+httpapi.Redacted)
	hook.requireAttr(t, "process kycflow:webhooks", "messaging.system", streamtrace.MessagingSystem)
	hook.requireAttr(t, "process kycflow:webhooks", "messaging.destination.name", "kycflow:webhooks")
	hook.requireAttr(t, "process kycflow:webhooks", "messaging.consumer.group.name", "kycflow-forwarder")
	send, process := hook.byName["send kycflow:webhooks"], hook.byName["process kycflow:webhooks"]
	require.NotEmpty(t, attr(process, "messaging.message.id"))
	require.Equal(t, attr(process, "messaging.message.id"), attr(send, "messaging.message.id"), "both spans name the entry")
	for _, sp := range hook.spans {
		for _, kv := range sp.Attributes() {
			require.NotContains(t, kv.Value.Emit(), e.s.WebhookURL[strings.LastIndex(e.s.WebhookURL, "/")+1:], "span %s attribute %s", sp.Name(), kv.Key)
		}
	}
}

// spanTree is one trace's spans, as started (open spans included).
type spanTree struct {
	spans  []sdktrace.ReadOnlySpan
	byName map[string]sdktrace.ReadOnlySpan // the first span of each name
}

// traces groups the recorded spans by trace.
func traces(rec *tracetest.SpanRecorder) []*spanTree {
	byTrace := map[trace.TraceID]*spanTree{}
	var order []trace.TraceID
	for _, sp := range rec.Started() {
		id := sp.SpanContext().TraceID()
		tr, ok := byTrace[id]
		if !ok {
			tr = &spanTree{byName: map[string]sdktrace.ReadOnlySpan{}}
			byTrace[id] = tr
			order = append(order, id)
		}
		tr.spans = append(tr.spans, sp)
		if _, ok := tr.byName[sp.Name()]; !ok {
			tr.byName[sp.Name()] = sp
		}
	}
	out := make([]*spanTree, 0, len(order))
	for _, id := range order {
		out = append(out, byTrace[id])
	}
	return out
}

// findTrace waits for the trace holding both spans.
func findTrace(t *testing.T, rec *tracetest.SpanRecorder, root, leaf string) *spanTree {
	t.Helper()
	var found *spanTree
	eventually(t, "a trace from "+root+" to "+leaf, func() (bool, string) {
		for _, tr := range traces(rec) {
			if tr.has(root) && tr.has(leaf) {
				found = tr
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d traces", len(traces(rec)))
	})
	return found
}

func (tr *spanTree) has(name string) bool { _, ok := tr.byName[name]; return ok }

// requireChain checks that each named span is a child of the one before.
func (tr *spanTree) requireChain(t *testing.T, names ...string) {
	t.Helper()
	parent, ok := tr.byName[names[0]]
	require.True(t, ok, "no span %q in the trace:\n%s", names[0], tr.render())
	for _, name := range names[1:] {
		var child sdktrace.ReadOnlySpan
		for _, sp := range tr.spans {
			if sp.Name() == name && sp.Parent().SpanID() == parent.SpanContext().SpanID() {
				child = sp
				break
			}
		}
		require.NotNil(t, child, "no span %q under %q in the trace:\n%s", name, parent.Name(), tr.render())
		parent = child
	}
}

func (tr *spanTree) requireAttr(t *testing.T, span, key, want string) {
	t.Helper()
	sp, ok := tr.byName[span]
	require.True(t, ok, "no span %q", span)
	require.Equal(t, want, attr(sp, key), "%s of %s", key, span)
}

func attr(sp sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range sp.Attributes() {
		if kv.Key == attribute.Key(key) {
			return kv.Value.Emit()
		}
	}
	return ""
}

// render prints the tree: name, kind, and the attributes worth reading.
func (tr *spanTree) render() string {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	ids := map[trace.SpanID]bool{}
	for _, sp := range tr.spans {
		ids[sp.SpanContext().SpanID()] = true
	}
	var roots []sdktrace.ReadOnlySpan
	for _, sp := range tr.spans {
		if p := sp.Parent(); p.IsValid() && ids[p.SpanID()] {
			children[p.SpanID()] = append(children[p.SpanID()], sp)
		} else {
			roots = append(roots, sp)
		}
	}
	shown := []attribute.Key{"http.route", "url.path", "http.request.method", "http.response.status_code", "messaging.system",
		"messaging.destination.name", "messaging.consumer.group.name", "messaging.operation.type", "messaging.message.id",
		"kycflow.event_type", "temporalWorkflowID", "temporalActivityID"}
	var b strings.Builder
	var walk func(sp sdktrace.ReadOnlySpan, depth int)
	walk = func(sp sdktrace.ReadOnlySpan, depth int) {
		fmt.Fprintf(&b, "%s%s [%s]", strings.Repeat("  ", depth), sp.Name(), sp.SpanKind())
		for _, kv := range sp.Attributes() {
			if slices.Contains(shown, kv.Key) {
				fmt.Fprintf(&b, " %s=%s", kv.Key, kv.Value.Emit())
			}
		}
		b.WriteString("\n")
		for _, c := range children[sp.SpanContext().SpanID()] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}
