package workflows_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// Bounds of the model's invariants, in simulated time.
const (
	// updateBound: every update completes or is rejected within a day
	// (faults last two hours at most).
	updateBound = 24 * time.Hour
	// historySlack: events a run may add after it should have continued
	// as new (the current wake-up, in-flight handlers).
	historySlack = 150
	// hotLoopAtOneInstant: Mangopay activity attempts at one instant,
	// beyond those the model's own stimuli explain.
	hotLoopAtOneInstant = 40
)

// checkStep runs at every step, when no activity is in flight.
func (m *model) checkStep() {
	prev := m.view
	v := m.query()
	m.seen[v.Status] = true
	if m.view == nil || m.view.Status != v.Status || m.view.IdvSessionID != v.IdvSessionID {
		m.logf("workflow: %s attempt %d session %s (%s)", v.Status, v.Attempt, v.IdvSessionID, v.Reason)
	}
	m.view = &v
	m.checkFinal(v.Status)
	m.checkNotifications()
	m.checkAnswers()
	m.checkSessions(v)
	m.checkUpdates()
	m.checkRates()
	m.checkTransition(prev, v)
	m.checkTimeline(v)
	// Every run is held to the bound, one that lived through a 401/403
	// wait of weeks included: the wait runs in the main loop, which
	// continues as new.
	if limit := m.historyLimit(); m.hist.estimate() > limit {
		m.fail("history of run %d is about %d events, past the continue-as-new point %d plus %d: the run does not continue as new",
			m.runs, m.hist.estimate(), limit-historySlack, historySlack)
	}
}

func (m *model) historyLimit() int {
	limit := serverSuggestsAt
	if m.cfg.MaxHistoryEvents > 0 {
		limit = min(limit, m.cfg.MaxHistoryEvents)
	}
	return limit + historySlack
}

func (m *model) query() workflows.StateView {
	val, err := m.env.QueryWorkflow(workflows.QueryState)
	if err != nil {
		m.fail("query state: %v", err)
		return workflows.StateView{}
	}
	var v workflows.StateView
	if err := val.Get(&v); err != nil {
		m.fail("decode state: %v", err)
	}
	return v
}

// checkFinal: a final status never changes, and is only reached for a
// reason Mangopay (or the platform) gave.
//
// "A run completes within FinalNotifyWait of its final status" (longer
// while its notifications wait for the platform) is checked once the run
// ends (checkCompletionBound).
func (m *model) checkFinal(s workflows.Status) {
	if m.final != "" {
		if s != m.final {
			m.fail("the final status %s changed to %s", m.final, s)
		}
		return
	}
	if s.Final() {
		m.final = s
		m.logf("final status %s (%s)", s, m.reason())
		m.justifyFinal(s)
	}
}

func (m *model) reason() string {
	if m.result != nil {
		return m.result.Reason
	}
	if m.view != nil {
		return m.view.Reason
	}
	return ""
}

// justifyFinal checks a final status against Mangopay's facts.
func (m *model) justifyFinal(s workflows.Status) {
	switch s {
	case workflows.StatusCancelled:
		if !m.cancelRequested {
			m.fail("CANCELLED but nobody cancelled")
		}
	case workflows.StatusNotEligible:
		u := m.simUser()
		if u != nil && u.UserCategory == mangopay.UserCategoryOwner && u.LegalPersonType != mangopay.LegalPartnership {
			m.fail("NOT_ELIGIBLE (%s) but Mangopay says the user is an OWNER it can verify", m.reason())
		}
	case workflows.StatusFailed:
		if why := m.failedJustified(); why != "" {
			m.fail("FAILED (%s) but %s", m.reason(), why)
		}
	}
	if m.env != nil && m.violation == "" {
		m.checkFinalOracle(s)
	}
}

// failedJustified returns why FAILED is wrong, or "" when Mangopay refused
// for a final reason or refused MaxAttempts sessions since the last
// validation.
func (m *model) failedJustified() string {
	sessions := m.simSessions()
	refusedInARow := 0
	for _, s := range sessions {
		switch s.Status.Normalize() {
		case mangopay.IdentityVerificationRefused:
			refusedInARow++
		case mangopay.IdentityVerificationValidated, mangopay.IdentityVerificationOutOfDate:
			refusedInARow = 0
		}
	}
	maxAttempts := m.cfg.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = workflows.DefaultConfig().MaxAttempts
	}
	if refusedInARow >= maxAttempts {
		return ""
	}
	if len(sessions) > 0 {
		last := sessions[len(sessions)-1]
		if last.Status.Normalize() == mangopay.IdentityVerificationRefused {
			var iv *mangopay.IdentityVerification
			_ = m.own(func() (err error) { iv, err = m.mp.GetIdentityVerification(context.Background(), last.ID); return err })
			if iv != nil && finalReason(iv) {
				return ""
			}
		}
	}
	return "Mangopay shows no final refusal and only " + strconv.Itoa(refusedInARow) + " refused session(s) in a row"
}

func finalReason(iv *mangopay.IdentityVerification) bool {
	for _, c := range iv.Checks {
		if c.CheckStatus != mangopay.CheckStatusRefused {
			continue
		}
		if c.Type == mangopay.CheckAge {
			return true
		}
		for _, r := range c.Reasons {
			if r.Type == string(mangopay.RefusedDocumentFalsified) || r.Type == string(mangopay.RefusedUnderagePerson) {
				return true
			}
		}
	}
	return false
}

// checkNotifications: the platform hears of status changes in the order
// they happened, and of no change after a final status.
func (m *model) checkNotifications() {
	all := m.sink.all()
	for _, ev := range all[min(m.linksChecked, len(all)):] {
		if ev.PscID == "" {
			m.checkLink("notification "+ev.Type, ev.IdvSessionID, ev.HostedURL, ev.ExpiresAt, ev.OccurredAt)
		}
	}
	m.linksChecked = len(all)
	var final string
	var last time.Time
	var lastType string
	for _, ev := range m.sink.all() {
		if !strings.HasPrefix(ev.Type, "onboarding.") {
			continue
		}
		if ev.OccurredAt.Before(last) {
			m.fail("the platform was told %s (of %s) after %s (of %s): notifications out of order",
				ev.Type, fmtSince(ev.OccurredAt.Sub(modelStart)), lastType, fmtSince(last.Sub(modelStart)))
			return
		}
		last, lastType = ev.OccurredAt, ev.Type
		if final != "" && ev.Type != final {
			m.fail("the platform was told %s after %s", ev.Type, final)
			return
		}
		if workflows.Status(ev.Status).Final() {
			final = ev.Type
		}
	}
}

// checkAnswers holds the HostedUrl of each ensure-session answered since
// the last step to the oracle, at the instant it answered (outside the
// test environment's callbacks, which run inside a workflow task).
func (m *model) checkAnswers() {
	for _, u := range m.updates {
		if u.linkChecked || !u.done || u.doneAt.IsZero() {
			continue
		}
		u.linkChecked = true
		if r, ok := u.value.(workflows.EnsureSessionResult); ok && u.err == nil {
			m.checkLink("ensure-session "+u.id, r.IdvSessionID, r.HostedURL, r.ExpiresAt, u.doneAt)
		}
	}
}

// checkSessions: at most one PENDING session at Mangopay, and none the
// workflow does not know.
func (m *model) checkSessions(v workflows.StateView) {
	known := map[string]bool{v.IdvSessionID: true}
	for _, h := range v.History {
		known[h.IdvSessionID] = true
	}
	pending := 0
	creating := m.runningSince("CreateSession")
	for _, s := range m.simSessions() {
		if s.Status == mangopay.IdentityVerificationPending {
			pending++
		}
		if !known[s.ID] && !creating.IsZero() && !s.CreationDate.Time().Before(creating.Truncate(time.Second)) {
			creating = time.Time{} // the running CreateSession made it; it may be retrying
			continue
		}
		if !known[s.ID] {
			m.fail("Mangopay has session %s (%s) that the workflow does not know (status %s)", s.ID, s.Status, v.Status)
		}
	}
	if pending > 1 {
		m.fail("%d PENDING sessions at Mangopay for one user (workflow status %s)", pending, v.Status)
	}
	for _, d := range v.Documents {
		m.knownDocs[d.KycDocumentID] = true
	}
	creating = m.runningSince("CreateDocument")
	for _, d := range m.simDocs() {
		if !m.knownDocs[d.ID] && !creating.IsZero() && !d.CreationDate.Time().Before(creating.Truncate(time.Second)) {
			creating = time.Time{}
			continue
		}
		if !m.knownDocs[d.ID] {
			m.fail("Mangopay has KYC document %s (%s) that the workflow does not know", d.ID, d.Status)
		}
	}
}

// runningSince tells when the earliest running activity of that name
// started (zero: none runs).
func (m *model) runningSince(name string) time.Time {
	var at time.Time
	for _, a := range m.running {
		if a.name == name && (at.IsZero() || a.since.Before(at)) {
			at = a.since
		}
	}
	return at
}

// checkUpdates: every update completes or is rejected in bounded time.
func (m *model) checkUpdates() {
	now := m.env.Now()
	for _, u := range m.updates {
		// Mangopay denying kycflow access (weeks of 401/403) holds what
		// needs Mangopay: the bound counts from the access coming back.
		from := u.sentAt
		if end := m.deniedSince(u.sentAt); end.After(from) {
			from = end
		}
		if !u.settled() && now.Sub(from) > updateBound {
			m.fail("update %s (%s) sent at %s has not completed after %v (accepted: %v; workflow %s)",
				u.id, u.name, fmtSince(u.sentAt.Sub(modelStart)), now.Sub(u.sentAt).Round(time.Minute), u.accepted, m.statusNow())
		}
	}
}

// checkRates: Mangopay activity attempts, Mangopay calls and timers per
// simulated day stay within what the model's stimuli explain.
func (m *model) checkRates() {
	now := m.env.Now()
	since := now.Add(-24 * time.Hour)
	inDay := func(ts []time.Time) int {
		i, _ := slices.BinarySearchFunc(ts, since, func(a, b time.Time) int { return a.Compare(b) })
		return len(ts) - i
	}
	stimuli := inDay(m.stimuli)
	if !m.deniedSince(since).IsZero() {
		// Every activity waits out a 401/403 with its own retries (up to
		// one try per 10 minutes each): the per-day bounds do not apply
		// to a day with an access outage; the hot-loop check still does.
		return
	}
	if n, limit := inDay(m.mpAttempts), 150+12*stimuli; n > limit {
		m.fail("%d Mangopay activity attempts in the last simulated day (limit %d for %d stimuli): a hot loop", n, limit, stimuli)
	}
	if n, limit := inDay(m.timers), 100+6*stimuli; n > limit {
		m.fail("%d timers in the last simulated day (limit %d for %d stimuli)", n, limit, stimuli)
	}
	calls := m.calls.Load()
	m.callSample = append(m.callSample, callSample{now, calls})
	for _, s := range m.callSample {
		if !s.at.Before(since) {
			if n, limit := calls-s.calls, int64(500+40*stimuli); n > limit {
				m.fail("%d Mangopay calls in the last simulated day (limit %d for %d stimuli)", n, limit, stimuli)
			}
			break
		}
	}
}

// checkHotLoop runs at each Mangopay activity attempt: many at one
// simulated instant is a loop that time-skipping would never leave.
func (m *model) checkHotLoop(now time.Time) {
	n := 0
	for _, at := range slices.Backward(m.mpAttempts) {
		if !at.Equal(now) {
			break
		}
		n++
	}
	stimuli := 0
	for _, at := range slices.Backward(m.stimuli) {
		if !at.Equal(now) {
			break
		}
		stimuli++
	}
	if limit := hotLoopAtOneInstant + 6*stimuli; n > limit {
		m.fail("%d Mangopay activity attempts at one simulated instant (status %s): a hot loop", n, m.statusNow())
	}
}

// checkAgreement: once quiet, the workflow says what Mangopay says.
func (m *model) checkAgreement() {
	v := m.query()
	m.view = &v
	u := m.simUser()
	if u == nil {
		return
	}
	// The oracle (oracle_test.go) says which statuses Mangopay's facts
	// allow; it is not written from the workflow's code.
	if !m.checkOracle(v) {
		return
	}
	for _, d := range v.Documents {
		var doc *mangopay.KYCDocument
		if err := m.own(func() (err error) { doc, err = m.mp.GetKYCDocument(context.Background(), d.KycDocumentID); return err }); err != nil {
			m.fail("read KYC document %s: %v", d.KycDocumentID, err)
			return
		}
		if string(doc.Status.Normalize()) != d.Status {
			m.fail("quiet, the workflow says document %s is %s but Mangopay says %s", d.KycDocumentID, d.Status, doc.Status)
		}
	}
	// The platform was up through the quiet time: it knows the status.
	var told string
	for _, ev := range m.sink.all() {
		if strings.HasPrefix(ev.Type, "onboarding.") {
			told = ev.Status
		}
	}
	if told != string(v.Status) {
		m.fail("quiet, the workflow says %s but the platform was last told %q", v.Status, told)
		return
	}
	m.agreed = true
	m.logf("quiet: workflow %s agrees with Mangopay (user %s) and the platform", v.Status, u.KYCLevel)
}

// checkCompletionBound: a run completes within FinalNotifyWait of its final
// status (plus the minute finish gives a stopped handler to answer) when the
// platform took its notifications; within a retry of the platform's return
// when they met an outage; and within FinalDeliveryWait (plus that minute)
// when it ends with notifications undelivered or the platform still down: a
// platform that is down gets its notifications' whole retry schedule. The final status's UpdatedAt (whole
// seconds) is when it was reached.
func (m *model) checkCompletionBound(end time.Time) {
	if m.env == nil || m.violation != "" {
		return
	}
	v := m.query()
	if !v.Status.Final() {
		return // endChecks says why
	}
	reached, err := time.Parse(time.RFC3339, v.UpdatedAt)
	if err != nil {
		m.fail("the final state's UpdatedAt %q: %v", v.UpdatedAt, err)
		return
	}
	wait, what := m.cfg.FinalNotifyWait, "FinalNotifyWait"
	if wait <= 0 {
		wait = 10 * time.Minute // the workflow's default
	}
	// A notification refused while the platform was down is retried for
	// its whole schedule (activities.NotifyDeliveryWindow), a retry at
	// most NotifyRetryMax (±20%) after the last: a run whose notifications
	// met an outage may linger until the platform is back and the next
	// retry delivers them, and no longer.
	var back time.Time // when the platform last came back
	for _, w := range m.platformDown {
		if w.to.After(reached.Add(-activities.NotifyDeliveryWindow)) && w.from.Before(end) && w.to.After(back) {
			back = w.to
		}
	}
	switch {
	case m.temporalCancel:
		// An operator's cancel in Temporal ends the wait for deliveries:
		// FinalNotifyWait after it, whatever the platform does.
		if d := m.temporalCancelAt.Sub(reached); d > 0 {
			wait, what = wait+d, "the Temporal cancel and FinalNotifyWait"
		}
	case v.Undelivered != nil || back.After(end):
		wait, what = max(m.cfg.FinalDeliveryWait, wait), "FinalDeliveryWait"
		if m.cfg.FinalDeliveryWait <= 0 {
			wait = max(workflows.DefaultFinalDeliveryWait, wait)
		}
	case !back.IsZero():
		if retried := back.Add(activities.NotifyRetryMax * 12 / 10).Sub(reached); retried > wait {
			wait, what = retried, "the platform's return and a retry"
		}
	}
	if bound := wait + time.Minute + time.Second; end.Sub(reached) > bound {
		m.fail("the run completed %v after its final status %s (at %s): past %s %v plus the handlers' minute",
			end.Sub(reached), v.Status, v.UpdatedAt, what, wait)
	}
}

func (m *model) endChecks() {
	if m.runErr != nil {
		// In the trace before any verdict: an update left unanswered by
		// a run that failed (a deadlock the SDK detected, a panic) says
		// little without the run's error.
		m.logf("the workflow ended with: %v", m.runErr)
	}
	// A run released for the next onboarding (an ensure-session answered
	// OnboardingClosing) completes at once: an ensure-session still on its
	// way to it is answered by Temporal that the run has completed, which
	// EnsureSession turns into the next onboarding (the dev-server tests
	// of the client cover that path). Any other update must be answered.
	released := slices.ContainsFunc(m.updates, func(u *modelUpdate) bool {
		return u.err != nil && strings.Contains(u.err.Error(), workflows.ErrTypeOnboardingClosing)
	})
	for _, u := range m.updates {
		if !u.settled() && !(released && u.name == workflows.UpdateEnsureSession) {
			m.fail("update %s (%s) never completed; the workflow ended", u.id, u.name)
		}
	}
	if m.runErr != nil {
		if m.temporalCancel && strings.Contains(m.runErr.Error(), "canceled") {
			m.settleFinal(workflows.StatusCancelled)
			return
		}
		m.fail("the workflow failed: %v", m.runErr)
		return
	}
	if m.result == nil {
		m.fail("the workflow ended without a result")
		return
	}
	if !m.result.Status.Final() {
		m.fail("the workflow completed in status %s", m.result.Status)
		return
	}
	m.settleFinal(m.result.Status)
	m.checkNotifications()
	if m.violation == "" {
		m.logf("ended %s (%s) after %d run(s)", m.result.Status, m.result.Reason, m.runs)
	}
}

func (m *model) settleFinal(s workflows.Status) {
	m.env = nil // the environment is over: fail must not abort
	if m.final != "" && s != m.final {
		m.fail("the final status %s changed to %s", m.final, s)
		return
	}
	if m.final == "" {
		m.final = s
		m.justifyFinal(s)
	}
}

// own runs the test's own Mangopay calls with faults lifted, so that they
// neither fail nor draw from the simulator's fault generator.
func (m *model) own(fn func() error) error {
	m.sim.SetFaults(sandbox.Faults{})
	set := m.simSet
	on := set
	on.IdvActivated = true
	_ = m.sim.SetSettings(on)
	defer func() {
		m.sim.SetFaults(m.faults)
		_ = m.sim.SetSettings(set)
	}()
	return fn()
}

func (m *model) simSessions() []mangopay.IdentityVerification {
	var list []mangopay.IdentityVerification
	if err := m.own(func() (err error) {
		list, _, err = m.mp.ListIdentityVerifications(context.Background(), m.userID, &mangopay.ListOptions{PerPage: 100})
		return err
	}); err != nil {
		m.fail("list sessions: %v", err)
	}
	return list
}

func (m *model) simDocs() []mangopay.KYCDocument {
	var list []mangopay.KYCDocument
	if err := m.own(func() (err error) {
		list, _, err = m.mp.ListKYCDocuments(context.Background(), m.userID, &mangopay.ListKYCDocumentsOptions{ListOptions: mangopay.ListOptions{PerPage: 100}})
		return err
	}); err != nil {
		m.fail("list KYC documents: %v", err)
	}
	return list
}

func (m *model) simPSCs() []mangopay.PSC {
	var list []mangopay.PSC
	if err := m.own(func() (err error) {
		list, _, err = m.mp.ListUserPSCs(context.Background(), m.userID, &mangopay.ListOptions{PerPage: 100})
		return err
	}); err != nil && !mangopay.IsNotFound(err) {
		m.fail("list PSC sessions: %v", err)
	}
	return list
}

func (m *model) simRegulatory() *mangopay.RegulatoryStatus {
	var r *mangopay.RegulatoryStatus
	if err := m.own(func() (err error) { r, err = m.mp.GetRegulatoryStatus(context.Background(), m.userID); return err }); err != nil {
		m.fail("read regulatory status: %v", err)
	}
	return r
}

func (m *model) simUser() *mangopay.User {
	var u *mangopay.User
	if err := m.own(func() (err error) { u, err = m.mp.GetUserSCA(context.Background(), m.userID); return err }); err != nil {
		m.fail("read user: %v", err)
	}
	return u
}
