package workflows

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/webhookstream"
)

// The onboarding's audit trail: every status change and every action on
// the onboarding is recorded (record) with its cause, which travels with
// the workflow.Context of the code path that acts (withCause): a Mangopay
// event, the workflow's own timers, the platform's or an operator's call.

type causeKey struct{}

// withCause marks what ctx's code path does as caused by c.
func withCause(ctx workflow.Context, c audit.Cause) workflow.Context {
	return workflow.WithValue(ctx, causeKey{}, c)
}

// causeOf is ctx's cause; the onboarding's own doing when none was set.
func causeOf(ctx workflow.Context) audit.Cause {
	if c, ok := ctx.Value(causeKey{}).(audit.Cause); ok {
		return c
	}
	return audit.Cause{Kind: audit.CauseWorkflow}
}

// scheduled is ctx for what a timer of the workflow's fired for.
func scheduled(ctx workflow.Context, what string) workflow.Context {
	return withCause(ctx, audit.Cause{Kind: audit.CauseSchedule, Action: what})
}

// eventCause is the cause of what a Mangopay event makes the workflow do.
func eventCause(ev webhookstream.MangopayEvent) audit.Cause {
	return audit.Cause{Kind: audit.CauseMangopayEvent, EventType: string(ev.EventType), ResourceID: ev.ResourceID}
}

// ensureSessionCause is the cause of an ensure-session call: "reopen" when
// an operator makes it (POST .../reopen), "ensure-session" otherwise.
func ensureSessionCause(req EnsureSessionRequest) audit.Cause {
	action := UpdateEnsureSession
	if strings.HasPrefix(req.Actor, audit.OperatorPrefix) {
		action = "reopen"
	}
	return audit.CallCause(action, req.Actor, req.Reason, req.IdempotencyKey)
}

// trailID is the OnboardingID of a trail that goes on from prior: prior's
// own, or a new random one when there is none (a first onboarding, a
// reopen that could not read the closed one's trail, whose Seq starts at 1
// again: the new ID keeps the platform's key unique). Random rather than
// the run ID: unique for the user whatever starts the run.
func trailID(ctx workflow.Context, prior []audit.Entry) string {
	if n := len(prior); n > 0 && prior[n-1].OnboardingID != "" {
		return prior[n-1].OnboardingID
	}
	var id string
	_ = workflow.SideEffect(ctx, func(workflow.Context) any {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		return hex.EncodeToString(b)
	}).Get(&id)
	return id
}

// record appends e to the timeline, with its sequence number, time, cause
// (ctx's unless set), attempt and session, compacts the timeline, and
// returns the entry as recorded (for the notification it causes).
func (w *onboarding) record(ctx workflow.Context, e audit.Entry) audit.Entry {
	if e.Cause.Kind == "" {
		e.Cause = causeOf(ctx)
	}
	e.OnboardingID = w.st.OnboardingID
	e.Seq = 1
	if n := len(w.st.Timeline); n > 0 {
		e.Seq = w.st.Timeline[n-1].Seq + 1 // the newest entry is never merged
	}
	e.At = workflow.Now(ctx).UTC()
	if e.Attempt == 0 {
		e.Attempt = w.st.Attempt
	}
	if e.IdvSessionID == "" && e.KycDocumentID == "" && w.st.Session != nil {
		e.IdvSessionID = w.st.Session.IdvSessionID
	}
	w.st.Timeline = audit.Compact(append(w.st.Timeline, e), audit.MaxDetail)
	return e
}

// recordedStatus is the status the timeline last recorded (the state's
// status may have been set aside meanwhile: an earlier session made
// current again).
func (w *onboarding) recordedStatus() Status {
	for i := len(w.st.Timeline) - 1; i >= 0; i-- {
		if e := w.st.Timeline[i]; e.Kind == audit.KindStatus {
			return Status(e.NewStatus)
		}
	}
	return StatusStarting
}

// recordCall records a platform's or operator's call that changed no
// status itself (what it leads to is recorded with it as the cause).
func (w *onboarding) recordCall(ctx workflow.Context, c audit.Cause) {
	w.record(ctx, audit.Entry{Kind: audit.KindAction, OldStatus: string(w.st.Status), NewStatus: string(w.st.Status), Cause: c})
}

func (w *onboarding) timelineView() TimelineView {
	return TimelineView{UserID: w.st.UserID, Status: w.st.Status, Entries: w.st.Timeline}
}

// timelineDetails lists the latest transitions for the Web UI's details.
const timelineDetails = 5

func (w *onboarding) timelineSummary() string {
	ts := audit.Transitions(w.st.Timeline)
	if len(ts) == 0 {
		return ""
	}
	b := &strings.Builder{}
	b.WriteString("\n\nLatest status changes (full trail: the timeline query):")
	for _, e := range ts[max(0, len(ts)-timelineDetails):] {
		fmt.Fprintf(b, "\n- %s %s → %s · %s", e.At.UTC().Format(time.RFC3339), e.OldStatus, e.NewStatus, e.Cause)
	}
	return b.String()
}
