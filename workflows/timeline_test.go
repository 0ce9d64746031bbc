package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/workflows"
)

// timelineOf queries the timeline of h's run.
func timelineOf(t *testing.T, h *harness) workflows.TimelineView {
	t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryTimeline)
	require.NoError(t, err)
	var tl workflows.TimelineView
	require.NoError(t, v.Get(&tl))
	return tl
}

// wakeToContinue makes the run continue as new at d: the server suggests
// it, and a webhook for no known resource wakes the loop.
func wakeToContinue(h *harness, d time.Duration) {
	h.at(d, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.signal("KYC_SUCCEEDED", "kyc_m_unknown")
	})
}

// TestTimelineAcrossContinueAsNew follows one onboarding over three runs:
// refused, the user back (the platform's call and its Idempotency-Key),
// refused again, reopened by an operator (who and why), verified, then
// cancelled by an operator. The last run's timeline lists every transition
// in order, each with its cause, and every notification the platform took
// carries the entry that caused it.
func TestTimelineAcrossContinueAsNew(t *testing.T) {
	cfg := workflows.Config{RetryBackoff: time.Hour}
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{IdempotencyKey: "signup-1"})
	var session1, session2, session3 string
	h.at(time.Minute, func() { session1 = h.state().IdvSessionID; h.decide(faceMismatch); h.deliver() })
	h.ensure(2*time.Minute, workflows.EnsureSessionRequest{IdempotencyKey: "back-1"})
	wakeToContinue(h, 3*time.Minute)
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL, Config: cfg})
	next := nextInput(t, h.env.GetWorkflowError())

	h2 := h.nextRun()
	h2.at(time.Minute, func() { session2 = h2.state().IdvSessionID; h2.decide(faceMismatch); h2.deliver() })
	h2.ensure(2*time.Minute, workflows.EnsureSessionRequest{Actor: "operator:alice", Reason: "appeal upheld"})
	wakeToContinue(h2, 3*time.Minute)
	h2.env.ExecuteWorkflow(workflows.KYCOnboarding, next)
	next = nextInput(t, h2.env.GetWorkflowError())

	h3 := h2.nextRun()
	h3.at(time.Minute, func() { session3 = h3.state().IdvSessionID; h3.decide(validated); h3.deliver() })
	cancelled := &updateResult[workflows.StateView]{}
	h3.at(time.Hour, func() {
		h3.update(workflows.UpdateCancel, cancelled, workflows.CancelRequest{Actor: "operator:bob", Reason: "compliance request 42"})
	})
	h3.env.ExecuteWorkflow(workflows.KYCOnboarding, next)
	require.True(t, h3.env.IsWorkflowCompleted())
	require.NoError(t, cancelled.err)

	tl := timelineOf(t, h3)
	assert.Equal(t, workflows.StatusCancelled, tl.Status)
	event := func(typ, resource string) audit.Cause {
		return audit.Cause{Kind: audit.CauseMangopayEvent, EventType: typ, ResourceID: resource}
	}
	type step struct {
		from, to workflows.Status
		cause    audit.Cause
		session  string
	}
	want := []step{
		{workflows.StatusStarting, workflows.StatusAwaitingUser, audit.Cause{Kind: audit.CauseWorkflow, Action: "start"}, session1},
		{workflows.StatusAwaitingUser, workflows.StatusRefused, event("IDENTITY_VERIFICATION_FAILED", session1), session1},
		{workflows.StatusRefused, workflows.StatusAwaitingUser,
			audit.Cause{Kind: audit.CausePlatform, Action: workflows.UpdateEnsureSession, Actor: audit.ActorPlatform, IdempotencyKey: "back-1"}, session2},
		{workflows.StatusAwaitingUser, workflows.StatusRefused, event("IDENTITY_VERIFICATION_FAILED", session2), session2},
		{workflows.StatusRefused, workflows.StatusAwaitingUser,
			audit.Cause{Kind: audit.CauseOperator, Action: "reopen", Actor: "operator:alice", Reason: "appeal upheld"}, session3},
		{workflows.StatusAwaitingUser, workflows.StatusVerified, event("IDENTITY_VERIFICATION_VALIDATED", session3), session3},
		{workflows.StatusVerified, workflows.StatusCancelled,
			audit.Cause{Kind: audit.CauseOperator, Action: workflows.UpdateCancel, Actor: "operator:bob", Reason: "compliance request 42"}, session3},
	}
	var got []step
	for _, e := range audit.Transitions(tl.Entries) {
		got = append(got, step{workflows.Status(e.OldStatus), workflows.Status(e.NewStatus), e.Cause, e.IdvSessionID})
	}
	assert.Equal(t, want, got)
	for i, e := range tl.Entries {
		if i > 0 {
			// (Each run's test environment starts its clock anew, so
			// times are compared on a real server: the bridge's test.)
			assert.Greater(t, e.Seq, tl.Entries[i-1].Seq, "entries in order")
		}
	}
	// The signup is recorded with its key, and the operator's reopen as an
	// action of its own, whatever it led to.
	assert.Contains(t, tl.Entries, findEntry(tl.Entries, func(e audit.Entry) bool {
		return e.Kind == audit.KindAction && e.Cause.IdempotencyKey == "signup-1"
	}))
	assert.Contains(t, tl.Entries, findEntry(tl.Entries, func(e audit.Entry) bool {
		return e.Kind == audit.KindAction && e.Cause.Actor == "operator:alice" && e.Cause.Reason == "appeal upheld"
	}))

	// Every notification carries its entry: that of the timeline.
	taken := h.platform.all()
	require.NotEmpty(t, taken)
	for _, ev := range taken {
		require.NotNil(t, ev.Entry, "%s carries its timeline entry", ev.Type)
		assert.Equal(t, *ev.Entry, findEntry(tl.Entries, func(e audit.Entry) bool { return e.Seq == ev.Entry.Seq }),
			"%s carries the timeline's entry", ev.Type)
		if ev.Entry.Kind == audit.KindStatus {
			assert.Equal(t, ev.Status, ev.Entry.NewStatus)
		}
	}
}

// TestTimelineKeysNeverRepeatForAUser: the platform stores each entry under
// (UserId, OnboardingId, Seq). A reopen that could not read the closed
// onboarding's trail (past retention, a timeout) starts its Seq at 1 again
// under a new OnboardingId; one that read it goes on under the same one.
// No key repeats across the user's onboardings.
func TestTimelineKeysNeverRepeatForAUser(t *testing.T) {
	h1 := newHarness(t, "NATURAL")
	h1.ensure(0, workflows.EnsureSessionRequest{})
	h1.cancel(time.Hour)
	h1.run(workflows.Config{})
	first := timelineOf(t, h1).Entries

	// Reopened without the closed trail.
	h2 := h1.nextRun()
	h2.ensure(0, workflows.EnsureSessionRequest{Actor: "operator:alice", Reason: "appeal upheld"})
	h2.cancel(time.Hour)
	h2.run(workflows.Config{})
	second := timelineOf(t, h2).Entries
	require.Equal(t, 1, second[0].Seq, "no trail to go on from: Seq starts again")

	// Reopened with it.
	h3 := h2.nextRun()
	h3.ensure(0, workflows.EnsureSessionRequest{Actor: "operator:alice", Reason: "appeal upheld again"})
	h3.cancel(time.Hour)
	h3.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h3.userID, ReturnURL: returnURL, PriorTimeline: second})
	require.True(t, h3.env.IsWorkflowCompleted())
	third := timelineOf(t, h3).Entries

	for _, tl := range [][]audit.Entry{first, second, third} {
		for _, e := range tl {
			require.NotEmpty(t, e.OnboardingID, "every entry names its onboarding")
			assert.Equal(t, tl[0].OnboardingID, e.OnboardingID, "one trail, one OnboardingId")
		}
	}
	assert.NotEqual(t, first[0].OnboardingID, second[0].OnboardingID, "a new trail, a new OnboardingId")
	assert.Equal(t, second[0].OnboardingID, third[0].OnboardingID, "a trail gone on from keeps its OnboardingId")
	assert.Greater(t, third[len(second)].Seq, second[len(second)-1].Seq, "and its Seq")

	// What the platform stored, by its key: no entry overwrote another.
	type key struct {
		onboarding string
		seq        int
	}
	stored := map[key]audit.Entry{}
	for _, ev := range h1.platform.all() {
		require.NotNil(t, ev.Entry)
		k := key{ev.Entry.OnboardingID, ev.Entry.Seq}
		if prev, ok := stored[k]; ok {
			assert.Equal(t, prev, *ev.Entry, "a key names one entry (a redelivery is the same)")
		}
		stored[k] = *ev.Entry
	}
	assert.Len(t, stored, len(h1.platform.all()), "every notification's entry is stored under its own key")
}

func findEntry(es []audit.Entry, f func(audit.Entry) bool) audit.Entry {
	for _, e := range es {
		if f(e) {
			return e
		}
	}
	return audit.Entry{Kind: "none found"}
}

// TestOperatorActionsAreValidated: who and why are bounded like any input,
// and an operator's action says who and why.
func TestOperatorActionsAreValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  workflows.CancelRequest
		want string
	}{
		{"actor too long", workflows.CancelRequest{Actor: "operator:" + strings.Repeat("a", workflows.MaxActor), Reason: "x"}, "Actor is longer"},
		{"operator without a reason", workflows.CancelRequest{Actor: "operator:alice"}, "a Reason"},
		{"operator without a name", workflows.CancelRequest{Actor: "operator:", Reason: "compliance"}, "operator's name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "NATURAL")
			bad := &updateResult[workflows.StateView]{}
			reopen := &updateResult[workflows.EnsureSessionResult]{}
			h.ensure(0, workflows.EnsureSessionRequest{})
			h.at(time.Minute, func() {
				h.update(workflows.UpdateCancel, bad, tc.req)
				h.update(workflows.UpdateEnsureSession, reopen, workflows.EnsureSessionRequest{Actor: tc.req.Actor, Reason: tc.req.Reason})
			})
			h.cancel(time.Hour)
			h.run(workflows.Config{})
			require.True(t, bad.done)
			assert.ErrorContains(t, bad.rejected, tc.want)
			require.True(t, reopen.done)
			assert.ErrorContains(t, reopen.rejected, tc.want)
			assert.Equal(t, workflows.StatusCancelled, h.result().Status, "the rejected calls changed nothing")
		})
	}
}

// TestTimelineCompactionInALongLivedOnboarding carries a long trail into a
// run (hundreds of transitions, more detail entries than the bound, as an
// onboarding watched for years would have): the run keeps every
// transition, in order, adds its own, and merges only the oldest detail
// entries beyond audit.MaxDetail, counting each.
func TestTimelineCompactionInALongLivedOnboarding(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	wakeToContinue(h, time.Minute)
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL})
	next := nextInput(t, h.env.GetWorkflowError())
	require.Equal(t, workflows.StatusAwaitingUser, next.State.Status)

	// Years of an onboarding: 300 transitions, a document's moves between
	// them, ending where the run stands (AWAITING_USER).
	var long []audit.Entry
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(e audit.Entry) {
		e.Seq, e.At = len(long)+1, at.Add(time.Duration(len(long))*time.Hour)
		long = append(long, e)
	}
	from, details := string(workflows.StatusStarting), 0
	for i := range 300 {
		to := []string{"AWAITING_USER", "VERIFIED", "OUT_OF_DATE"}[i%3]
		if i == 299 {
			to = "AWAITING_USER"
		}
		add(audit.Entry{Kind: audit.KindStatus, OldStatus: from, NewStatus: to, Cause: audit.Cause{Kind: audit.CauseMangopayEvent, EventType: "USER_KYC_LIGHT"}})
		from = to
		add(audit.Entry{Kind: audit.KindDocument, NewStatus: "VALIDATED", KycDocumentID: "kyc_old", Cause: audit.Cause{Kind: audit.CauseMangopayEvent, EventType: "KYC_SUCCEEDED"}})
		details++
	}
	next.State.Timeline = long

	h2 := h.nextRun()
	h2.at(time.Minute, func() { h2.decide(validated); h2.deliver() })
	h2.cancel(time.Hour)
	h2.env.ExecuteWorkflow(workflows.KYCOnboarding, next)
	require.True(t, h2.env.IsWorkflowCompleted())
	tl := timelineOf(t, h2)

	trs := audit.Transitions(tl.Entries)
	require.Len(t, trs, 302, "the 300 carried transitions, then VERIFIED and CANCELLED")
	assert.Equal(t, audit.Transitions(long), trs[:300], "every carried transition kept as it was")
	assert.Equal(t, []string{"AWAITING_USER→VERIFIED", "VERIFIED→CANCELLED"},
		[]string{trs[300].OldStatus + "→" + trs[300].NewStatus, trs[301].OldStatus + "→" + trs[301].NewStatus})
	full, merged := 0, 0
	for i, e := range tl.Entries {
		if i > 0 {
			require.Greater(t, e.Seq, tl.Entries[i-1].Seq)
		}
		switch e.Kind {
		case audit.KindCompacted:
			merged += e.Count
		case audit.KindStatus:
		default:
			full++
		}
	}
	assert.Equal(t, audit.MaxDetail, full, "the latest detail entries are kept in full, up to the bound")
	assert.Greater(t, merged, 0)
	assert.GreaterOrEqual(t, full+merged, details, "every detail entry is kept or counted")
	assert.LessOrEqual(t, len(tl.Entries), 2*len(trs)+1+audit.MaxDetail, "the documented bound")
}
