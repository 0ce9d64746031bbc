package workflows_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// The onboarding says what Mangopay says of the user. Each test
// here pins one defect of the 2026 lifecycle (renewal, PSC sessions, KYC
// documents) and was seen failing before its fix.

// verifiedNatural runs a natural user to VERIFIED at one minute.
func verifiedNatural(t *testing.T) *harness {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	return h
}

func (h *harness) requireRenewal(d time.Duration, days int) {
	h.at(d, func() {
		_, err := h.sim.RequireRenewal(h.userID, days)
		require.NoError(h.t, err)
		h.deliver() // USER_KYC_RENEWAL_REQUIRED
	})
}

// submitIdentityProof submits an IDENTITY_PROOF the simulator accepts.
func (h *harness) submitIdentityProof(d time.Duration) *updateResult[workflows.SubmitDocumentResult] {
	res := &updateResult[workflows.SubmitDocumentResult]{}
	h.at(d, func() {
		k, err := h.pages.Put(context.Background(), append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
		require.NoError(h.t, err)
		h.update(workflows.UpdateSubmitDocument, res, workflows.SubmitDocumentRequest{Type: "IDENTITY_PROOF", Tag: "accept", Pages: []string{k}})
	})
	return res
}

func count(events []string, typ string) int {
	n := 0
	for _, e := range events {
		if e == typ {
			n++
		}
	}
	return n
}

// A renewal session that expires leaves a REGULAR user
// RENEWAL_REQUIRED (not EXPIRED); the reminders go on; the next
// ensure-session opens a fresh renewal session.
func TestRenewalSessionExpiryKeepsTheRenewal(t *testing.T) {
	h := verifiedNatural(t)
	h.requireRenewal(time.Hour, 90)
	first := h.ensure(day, workflows.EnsureSessionRequest{})
	var expired workflows.StateView
	h.at(9*day, func() { h.deliver() }) // IDENTITY_VERIFICATION_EXPIRED
	h.at(9*day+time.Minute, func() { expired = h.state() })
	var remindersBefore int
	h.at(9*day+time.Hour, func() { remindersBefore = count(h.platform.events(), "onboarding.renewal_reminder") })
	again := h.ensure(62*day, workflows.EnsureSessionRequest{})
	h.cancel(63 * day)
	h.run(workflows.Config{})

	require.NoError(t, first.err)
	assert.Equal(t, workflows.StatusRenewal, first.value.Status, "the renewal session, the user still REGULAR")
	assert.NotEmpty(t, first.value.HostedURL)
	assert.Equal(t, workflows.StatusRenewal, expired.Status, "Mangopay still says REGULAR, deadline ahead")
	assert.Contains(t, expired.Reason, "expired")
	assert.NotEmpty(t, expired.RenewalDeadline)
	assert.Equal(t, 0, remindersBefore)
	assert.Equal(t, 1, count(h.platform.events(), "onboarding.renewal_reminder"), "the reminder 30 days before the deadline went out")
	require.NoError(t, again.err)
	assert.Equal(t, workflows.StatusRenewal, again.value.Status)
	assert.NotEmpty(t, again.value.HostedURL)
	assert.Equal(t, first.value.Attempt+1, again.value.Attempt, "a fresh renewal session")
	assert.NotContains(t, h.platform.events(), "onboarding.expired")
}

// After the deadline: USER_KYC_LIGHT reaches an onboarding whose
// renewal session expired; the stale deadline goes and a new session opens.
func TestDowngradeAfterAnExpiredRenewalSession(t *testing.T) {
	h := verifiedNatural(t)
	h.requireRenewal(time.Hour, 10)
	h.ensure(day, workflows.EnsureSessionRequest{})
	h.at(9*day, func() { h.deliver() }) // the renewal session expired
	var after workflows.StateView
	h.at(12*day, func() { h.deliver() }) // downgraded at the end of the deadline day
	h.at(12*day+time.Hour, func() { after = h.state() })
	h.cancel(13 * day)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusAwaitingUser, after.Status, "LIGHT: a new session")
	assert.Empty(t, after.RenewalDeadline, "the deadline is history")
}

// Refused renewal sessions never end or demote a REGULAR user;
// the reason is shown; ensure-session offers a new session each time.
func TestRefusedRenewalSessionsNeverDemote(t *testing.T) {
	h := verifiedNatural(t)
	h.requireRenewal(time.Hour, 90)
	var views []workflows.StateView
	var answers []*updateResult[workflows.EnsureSessionResult]
	for i := range 4 { // one more than MaxAttempts
		at := day + time.Duration(i)*day
		answers = append(answers, h.ensure(at, workflows.EnsureSessionRequest{}))
		h.at(at+time.Minute, func() { h.decide(faceMismatch); h.deliver() })
		h.at(at+time.Hour, func() { views = append(views, h.state()) })
	}
	h.cancel(10 * day)
	h.run(workflows.Config{RetryBackoff: time.Minute})

	require.Len(t, views, 4)
	for i, v := range views {
		assert.Equal(t, workflows.StatusRenewal, v.Status, "refusal %d: Mangopay still says REGULAR", i+1)
		assert.Contains(t, v.Reason, "FACE_MATCH_FAIL", "the refusal reason is shown")
		require.NoError(t, answers[i].err)
		assert.Equal(t, workflows.StatusRenewal, answers[i].value.Status, "ensure-session %d: the user is still REGULAR", i+1)
		assert.NotEmpty(t, answers[i].value.HostedURL, "ensure-session %d offers a session", i+1)
	}
	events := h.platform.events()
	assert.NotContains(t, events, "onboarding.failed")
	assert.NotContains(t, events, "onboarding.refused")
}

// A user who becomes REGULAR through KYC documents alone is
// VERIFIED, and the pending session expiring later changes nothing.
func TestRegularThroughKYCDocumentsIsVerified(t *testing.T) {
	h := newHarness(t, "NATURAL")
	h.ensure(0, workflows.EnsureSessionRequest{})
	h.submitIdentityProof(time.Hour)
	var verified, later workflows.StateView
	h.at(2*time.Hour, func() { h.deliver() }) // KYC_SUCCEEDED, USER_KYC_REGULAR
	h.at(3*time.Hour, func() { verified = h.state() })
	h.at(9*day, func() { h.deliver() }) // the session expired meanwhile
	h.at(9*day+time.Hour, func() { later = h.state() })
	h.cancel(10 * day)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusVerified, verified.Status, "KYCLevel REGULAR means VERIFIED")
	assert.Equal(t, workflows.StatusVerified, later.Status)
	assert.Len(t, h.sessions(), 1, "no needless new session")
	assert.Contains(t, workflows.HookEventTypes, mangopay.EventUserKYCRegular, "the bridge subscribes to it")
}

// A moved renewal deadline is followed, without a burst of
// reminders.
func TestMovedRenewalDeadlineIsFollowed(t *testing.T) {
	h := verifiedNatural(t)
	h.requireRenewal(time.Hour, 90)
	var first, moved workflows.StateView
	var remindersBefore, remindersAfter int
	h.at(2*time.Hour, func() { first = h.state() })
	// 70 days later (the 30-day reminder sent) Mangopay moves it 5 days
	// ahead: the 30- and 7-day reminders of the new one are past.
	h.at(70*day, func() { remindersBefore = count(h.platform.events(), "onboarding.renewal_reminder") })
	h.requireRenewal(70*day+time.Minute, 5)
	h.at(70*day+time.Hour, func() {
		moved = h.state()
		remindersAfter = count(h.platform.events(), "onboarding.renewal_reminder")
	})
	h.cancel(75*day - time.Hour)
	h.run(workflows.Config{})

	require.NotEmpty(t, first.RenewalDeadline)
	assert.Equal(t, workflows.StatusRenewal, moved.Status)
	assert.NotEqual(t, first.RenewalDeadline, moved.RenewalDeadline, "Mangopay's latest deadline")
	d, err := time.Parse(time.RFC3339, moved.RenewalDeadline)
	require.NoError(t, err)
	assert.WithinDuration(t, h.start.Add(76*day), d, 2*day)
	assert.Equal(t, 1, remindersBefore)
	assert.Equal(t, remindersBefore, remindersAfter, "no burst of past reminders")
	assert.Equal(t, 2, count(h.platform.events(), "onboarding.renewal_reminder"), "the 1-day reminder of the new deadline")
	assert.Equal(t, 2, count(h.platform.events(), "onboarding.renewal_required"), "the platform is told the deadline moved")
}

// Settled: a deadline already past while Mangopay has not downgraded yet
// (the grouped downgrades of 2026-12-01) is a renewal due, not a stale one:
// RENEWAL_REQUIRED, never a spurious "verified", until Mangopay downgrades.
func TestOverdueRenewalIsNotDeclaredDone(t *testing.T) {
	h := verifiedNatural(t)
	var overdue, stillDue, after workflows.StateView
	const at = 200 * day // verified long before the deadline
	h.at(at, func() {
		_, err := h.sim.RequireOverdueRenewal(h.userID, 2, 3*day)
		require.NoError(t, err)
		h.deliver()
	})
	h.at(at+time.Hour, func() { overdue = h.state() })
	h.at(at+2*day, func() { stillDue = h.state() })
	h.at(at+3*day+2*time.Hour, func() { h.deliver() }) // USER_KYC_LIGHT
	h.at(at+3*day+3*time.Hour, func() { after = h.state() })
	h.cancel(at + 4*day)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusRenewal, overdue.Status)
	assert.NotEmpty(t, overdue.RenewalDeadline)
	assert.Equal(t, workflows.StatusRenewal, stillDue.Status, "the daily checks find the user REGULAR, the renewal not done")
	assert.Equal(t, workflows.StatusAwaitingUser, after.Status, "downgraded: a new session")
	events := h.platform.events()
	assert.Equal(t, 1, count(events, "onboarding.verified"), "no spurious verified")
}

// Settled: a second "verified" on the same attempt (a renewal Mangopay
// lifted, twice) is a new notification, not a duplicate id the platform
// drops.
func TestSecondVerifiedOnTheSameAttemptIsANewNotification(t *testing.T) {
	h := verifiedNatural(t)
	lift := func(d time.Duration) {
		h.at(d, func() {
			require.NoError(t, h.sim.LiftRenewal(h.userID))
			h.deliver() // USER_KYC_RENEWED
		})
	}
	h.requireRenewal(time.Hour, 90)
	lift(2 * day)
	h.requireRenewal(10*day, 90)
	lift(11 * day)
	var end workflows.StateView
	h.at(12*day, func() { end = h.state() })
	h.cancel(13 * day)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusVerified, end.Status)
	assert.Equal(t, 1, end.Attempt, "no session: renewed by documents")
	assert.Equal(t, 3, count(h.platform.events(), "onboarding.verified"), "verified, renewed, renewed again")
}

// Settled: a business's renewal PSC sessions keep a still-REGULAR business
// RENEWAL_REQUIRED (not AWAITING_PSCS), with its reminders and deadline;
// the PSC sessions of the earlier main session are history; the platform
// hears onboarding.awaiting_pscs before any psc.* of the first session.
func TestBusinessRenewalPSCs(t *testing.T) {
	// The renewal deadline is a date: the test holds at any hour of the
	// day it starts (it failed when started after 21:00 UTC, its renewal
	// notice then coming after midnight and its reminder a day later).
	// Days after the harness's own start, so that the simulator's clock
	// is never ahead.
	later := time.Now().UTC().Truncate(24 * time.Hour).Add(3 * 24 * time.Hour)
	for _, start := range []time.Duration{30 * time.Minute, 12 * time.Hour, 21*time.Hour + 30*time.Minute, 23*time.Hour + 50*time.Minute} {
		t.Run(fmt.Sprintf("started at %s UTC", later.Add(start).Format("15:04")), func(t *testing.T) {
			businessRenewalPSCs(t, later.Add(start))
		})
	}
}

func businessRenewalPSCs(t *testing.T, start time.Time) {
	h := newHarness(t, "BUSINESS")
	h.pinStart(start)
	h.ensure(0, workflows.EnsureSessionRequest{})
	var awaiting, verified, renewing, renewed workflows.StateView
	h.at(time.Minute, func() { h.decide(businessValidated); h.deliver() })
	h.at(2*time.Minute, func() { awaiting = h.state() })
	h.at(time.Hour, func() {
		require.Len(t, awaiting.PSCs, 1)
		require.NoError(t, h.sim.DecidePsc(awaiting.PSCs[0].PscID, "VALIDATED"))
		h.deliver()
	})
	h.at(2*time.Hour, func() { verified = h.state() })
	h.requireRenewal(3*time.Hour, 90)
	h.ensure(day, workflows.EnsureSessionRequest{})
	h.at(day+time.Minute, func() { h.decide(businessValidated); h.deliver() })
	h.at(day+time.Hour, func() { renewing = h.state() })
	// The renewal PSC's link expires (REJECTED after 7 days); the platform
	// retries it after the 30-day reminder. The deadline is a date, so the
	// reminder comes at a midnight: 61 days after the renewal notice when
	// it came before midnight, 62 days less a few hours when it came after
	// (the harness starts at the wall clock's time). Day 62 plus an hour is
	// after the first reminder and long before the 7-day one, at any hour.
	var expiredPSC workflows.StateView
	h.at(9*day, func() { h.deliver() })
	h.at(62*day, func() { expiredPSC = h.state() })
	retried := &updateResult[workflows.PSC]{}
	h.at(62*day+time.Minute, func() {
		require.Len(t, renewing.PSCs, 1)
		h.update(workflows.UpdateRetryPSC, retried, workflows.RetryPSCRequest{PscID: renewing.PSCs[0].PscID})
	})
	h.at(62*day+time.Hour, func() {
		require.NoError(t, h.sim.DecidePsc(renewing.PSCs[0].PscID, "VALIDATED"))
		h.deliver() // IDENTITY_VERIFICATION_PSC_VALIDATED, USER_KYC_RENEWED
	})
	h.at(62*day+2*time.Hour, func() { renewed = h.state() })
	h.cancel(63 * day)
	h.run(workflows.Config{})

	assert.Equal(t, workflows.StatusAwaitingPSCs, awaiting.Status)
	assert.Equal(t, workflows.StatusVerified, verified.Status)
	assert.Equal(t, workflows.StatusRenewal, renewing.Status, "Mangopay still says REGULAR")
	assert.NotEmpty(t, renewing.RenewalDeadline)
	require.Len(t, renewing.PSCs, 1, "only the renewal's PSC session")
	assert.NotEqual(t, awaiting.PSCs[0].PscID, renewing.PSCs[0].PscID)
	assert.Equal(t, workflows.StatusRenewal, expiredPSC.Status)
	require.Len(t, expiredPSC.PSCs, 1)
	assert.Equal(t, "REJECTED", expiredPSC.PSCs[0].Status)
	require.NoError(t, retried.err)
	assert.Equal(t, "PENDING_VALIDATION", retried.value.Status)
	assert.Equal(t, workflows.StatusVerified, renewed.Status)
	events := h.platform.events()
	assert.Equal(t, 1, count(events, "onboarding.awaiting_pscs"))
	assert.Equal(t, 1, count(events, "onboarding.renewal_reminder"), "the reminders went on")
	firstPSC := slices.IndexFunc(events, func(e string) bool { return strings.HasPrefix(e, "psc.") })
	assert.Less(t, slices.Index(events, "onboarding.awaiting_pscs"), firstPSC, "awaiting_pscs first, then its PSC sessions: %v", events)
}

// A business verified when its last PSC is validated, then again on
// Mangopay's USER_KYC_REGULAR (the same status for another reason), is
// notified verified once: two ids for one change are two changes to the
// platform (the load harness's double-transition).
func TestVerifiedForTwoReasonsIsNotifiedOnce(t *testing.T) {
	h := newHarness(t, "BUSINESS")
	h.ensure(0, workflows.EnsureSessionRequest{})
	var awaiting, verified workflows.StateView
	h.at(time.Minute, func() { h.decide(businessValidated); h.deliver() })
	h.at(2*time.Minute, func() { awaiting = h.state() })
	h.at(time.Hour, func() {
		require.Len(t, awaiting.PSCs, 1)
		require.NoError(t, h.sim.DecidePsc(awaiting.PSCs[0].PscID, "VALIDATED"))
		// Mangopay's USER_KYC_REGULAR overtakes the PSC's webhook.
		h.deliverOnly("USER_KYC_REGULAR")
	})
	h.at(time.Hour+time.Minute, func() {
		h.signal("IDENTITY_VERIFICATION_PSC_VALIDATED", awaiting.PSCs[0].PscID)
	})
	h.at(2*time.Hour, func() { verified = h.state() })
	h.cancel(3 * time.Hour)
	h.run(workflows.Config{})

	require.Equal(t, workflows.StatusVerified, verified.Status)
	assert.Equal(t, 1, count(h.platform.events(), "onboarding.verified"), "%v", h.platform.events())
}
