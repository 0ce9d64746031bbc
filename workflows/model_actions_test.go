package workflows_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// The model's actions. Each draws from the seed's generator only, so a seed
// replays the same decisions.

type modelAction struct {
	name   string
	weight int
	do     func(m *model)
}

var modelActions = []modelAction{
	{"ensure-session", 12, (*model).actEnsure},
	{"login storm", 4, (*model).actEnsureStorm},
	{"submit-document", 5, (*model).actSubmit},
	{"cancel", 1, (*model).actCancel},
	{"outcome", 16, (*model).actOutcome},
	{"review decision", 6, (*model).actReview},
	{"downgrade", 3, (*model).actDowngrade},
	{"deliver webhooks", 22, (*model).actDeliver},
	{"stale webhooks", 5, (*model).actStale},
	{"forged webhook", 6, (*model).actForge},
	{"other user", 2, (*model).actOtherUser},
	{"faults", 6, (*model).actFaults},
	{"continue-as-new suggested", 3, (*model).actSuggestCAN},
	{"PSC outcome", 6, (*model).actPSC},
	{"retry-psc", 2, (*model).actRetryPSC},
	{"renewal required", 3, (*model).actRenewal},
	{"quiet point", 2, (*model).actQuiet},
}

func (m *model) randomStep() {
	n := 1
	if m.rng.Float64() < 0.3 {
		n = 2
	}
	total := 0
	for _, a := range modelActions {
		total += a.weight
	}
	for range n {
		if m.phase != phaseRandom {
			return // a quiet point began: nothing more until it is judged
		}
		r := m.rng.IntN(total)
		for _, a := range modelActions {
			if r < a.weight {
				a.do(m)
				break
			}
			r -= a.weight
		}
	}
}

// delay picks the time to the next step, favouring the workflow's
// boundaries: reconcile polls, review polls, retry backoffs, the expiry.
func (m *model) delay() time.Duration {
	jitter := func(d, spread time.Duration) time.Duration {
		return d - spread + time.Duration(m.rng.Int64N(int64(2*spread)+1))
	}
	switch r := m.rng.IntN(100); {
	case r < 35:
		return time.Second + time.Duration(m.rng.Int64N(int64(5*time.Minute)))
	case r < 60:
		b := []time.Duration{15 * time.Minute, time.Hour, 6 * time.Hour, 12 * time.Hour, 2 * time.Minute, 10 * time.Minute}[m.rng.IntN(6)]
		return jitter(b, time.Minute)
	case r < 75:
		return jitter(24*time.Hour, time.Hour)
	case r < 88:
		// Right around the current session's expiry.
		if m.view != nil && m.view.ExpiresAt != "" {
			if exp, err := time.Parse(time.RFC3339, m.view.ExpiresAt); err == nil {
				at := exp.Add([]time.Duration{-2 * time.Minute, -time.Second, 0, time.Second, 2 * time.Minute, 20 * time.Minute}[m.rng.IntN(6)])
				if d := at.Sub(m.env.Now()); d > 0 {
					return d
				}
			}
		}
		return jitter(7*24*time.Hour, time.Hour)
	default:
		return time.Duration(3+m.rng.IntN(40)) * 24 * time.Hour
	}
}

func (m *model) actEnsure() {
	n := 1
	if m.rng.Float64() < 0.3 {
		n = 2 + m.rng.IntN(2) // concurrent calls: a double click, two tabs
	}
	for range n {
		req := workflows.EnsureSessionRequest{}
		switch r := m.rng.IntN(10); {
		case r < 5:
			req.ReturnURL = modelReturnURL
		case r < 6:
			req.ReturnURL = "https://platform.example/kyc/again"
		case r < 7:
			req.ReturnURL = "javascript:alert(1)" // must be rejected
		}
		u := m.update(workflows.UpdateEnsureSession, req)
		m.logf("ensure-session %s %q", u.id, req.ReturnURL)
	}
}

// actEnsureStorm: a platform that calls ensure-session on every login.
func (m *model) actEnsureStorm() {
	n := 5 + m.rng.IntN(36)
	for range n {
		m.update(workflows.UpdateEnsureSession, workflows.EnsureSessionRequest{})
	}
	m.logf("login storm: %d ensure-session updates", n)
}

func (m *model) actSubmit() {
	if m.rng.Float64() < 0.15 {
		// The platform retries an earlier call with its Idempotency-Key.
		for _, u := range slices.Backward(m.updates) {
			if u.name == workflows.UpdateSubmitDocument {
				m.logf("submit-document retried with the same id %s", u.id)
				m.sendUpdate(u)
				return
			}
		}
	}
	req := workflows.SubmitDocumentRequest{Type: []string{"IDENTITY_PROOF", "ADDRESS_PROOF"}[m.rng.IntN(2)], Tag: []string{"accept", "refuse_unreadable"}[m.rng.IntN(2)]}
	if m.rng.Float64() < 0.1 {
		req.Type = "SELFIE" // must be rejected
		req.Pages = []string{"kycflow:page:0123456789abcdef0123456789abcdef"}
	} else {
		for range 1 + m.rng.IntN(2) {
			k, err := m.pages.Put(context.Background(), append([]byte("%PDF-1.4\n"), make([]byte, 40<<10)...))
			if err != nil {
				m.fail("claim-check put: %v", err)
				return
			}
			req.Pages = append(req.Pages, k)
		}
	}
	u := m.update(workflows.UpdateSubmitDocument, req)
	m.logf("submit-document %s %s (%s, %d pages)", u.id, req.Type, req.Tag, len(req.Pages))
}

func (m *model) actCancel() {
	if m.rng.Float64() < 0.6 {
		// Keep most onboardings alive to the quiet comparison.
		m.logf("cancel: not this time")
		return
	}
	if m.rng.Float64() < 0.2 {
		m.logf("cancelled from Temporal (Web UI)")
		m.cancelRequested, m.temporalCancel, m.temporalCancelAt = true, true, m.env.Now()
		m.env.CancelWorkflow()
		return
	}
	if m.rng.Float64() < 0.1 {
		u := m.update(workflows.UpdateCancel, workflows.CancelRequest{Reason: strings.Repeat("x", 600)})
		m.logf("cancel %s with an over-long reason (must be rejected)", u.id)
		return
	}
	m.cancel("the user closed the account")
}

func (m *model) cancel(reason string) {
	m.cancelRequested = true
	u := m.update(workflows.UpdateCancel, workflows.CancelRequest{Reason: reason})
	m.logf("cancel %s", u.id)
}

// actOutcome: the user submits the newest PENDING session on the hosted page.
func (m *model) actOutcome() {
	var id string
	for _, s := range slices.Backward(m.simSessions()) {
		if s.Status == mangopay.IdentityVerificationPending {
			id = s.ID
			break
		}
	}
	if id == "" {
		m.logf("outcome: no PENDING session")
		return
	}
	legal := m.kind != "NATURAL" && m.kind != "PAYER"
	var choices map[string]sandbox.Choice
	name := ""
	switch r := m.rng.IntN(100); {
	case r < 40:
		name, choices = "VALIDATED", map[string]sandbox.Choice{}
	case r < 60:
		name, choices = "REFUSED FACE_MATCH_FAIL", map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "FACE_MATCH_FAIL"}}
	case r < 68:
		name, choices = "REFUSED DOCUMENT_UNREADABLE", map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "DOCUMENT_UNREADABLE"}}
	case r < 74:
		name, choices = "REFUSED DOCUMENT_FALSIFIED (final)", map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "DOCUMENT_FALSIFIED"}}
	case r < 78:
		name, choices = "REFUSED age check (final)", map[string]sandbox.Choice{sandbox.CheckAge: {Status: "REFUSED"}}
	case legal:
		name, choices = "REVIEW", map[string]sandbox.Choice{sandbox.CheckBusiness: {Status: "REFUSED"}}
	default:
		name, choices = "VALIDATED", map[string]sandbox.Choice{}
	}
	err := m.sim.SubmitOutcome(id, choices)
	m.logf("outcome %s for %s (%v)", name, id, errOrOK(err))
}

func (m *model) actReview() {
	for _, s := range m.simSessions() {
		if s.Status == mangopay.IdentityVerificationReview {
			d := []string{"VALIDATED", "REFUSED"}[m.rng.IntN(2)]
			err := m.sim.DecideReview(s.ID, d, "registry extract unreadable")
			m.logf("review of %s: %s (%v)", s.ID, d, errOrOK(err))
			return
		}
	}
	m.logf("review: no session in REVIEW")
}

func (m *model) actDowngrade() {
	err := m.sim.Downgrade(m.userID)
	m.logf("downgrade (%v)", errOrOK(err))
}

// actDeliver sends the webhooks Mangopay emitted since the last delivery,
// as the bridge would: some lost, some twice, some out of order, and some of
// another user's misrouted here.
func (m *model) actDeliver() {
	log := m.sim.EventLog()
	batch := log[m.logSeen:]
	m.logSeen = len(log)
	mine := m.ownership()
	var out []webhookstream.MangopayEvent
	var notes []string
	for _, ev := range batch {
		if !slices.Contains(workflows.HookEventTypes, mangopay.EventType(ev.EventType)) {
			continue
		}
		me := webhookstream.MangopayEvent{EventType: mangopay.EventType(ev.EventType), ResourceID: ev.ResourceID, Date: ev.Date}
		if !mine[ev.ResourceID] {
			if m.rng.Float64() < 0.2 {
				out = append(out, me)
				notes = append(notes, "misrouted "+ev.EventType)
			}
			continue
		}
		switch r := m.rng.Float64(); {
		case r < 0.12:
			notes = append(notes, "lost "+ev.EventType)
		case r < 0.22:
			out = append(out, me, me)
			notes = append(notes, "twice "+ev.EventType)
		default:
			out = append(out, me)
			notes = append(notes, ev.EventType)
		}
	}
	if len(out) > 1 && m.rng.Float64() < 0.3 {
		m.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		notes = append(notes, "reordered")
	}
	for _, ev := range out {
		m.signal(ev)
	}
	m.logf("deliver: %s", strings.Join(notes, ", "))
}

// actStale re-sends webhooks already delivered (Mangopay's retries).
func (m *model) actStale() {
	log := m.sim.EventLog()[:m.logSeen]
	mine := m.ownership()
	var cands []sandbox.Event
	for _, ev := range log {
		if mine[ev.ResourceID] && slices.Contains(workflows.HookEventTypes, mangopay.EventType(ev.EventType)) {
			cands = append(cands, ev)
		}
	}
	if len(cands) == 0 {
		m.logf("stale: nothing delivered yet")
		return
	}
	ev := cands[m.rng.IntN(len(cands))]
	m.signal(webhookstream.MangopayEvent{EventType: mangopay.EventType(ev.EventType), ResourceID: ev.ResourceID, Date: ev.Date})
	m.logf("stale: %s %s again", ev.EventType, ev.ResourceID)
}

var modelForgedTypes = []string{
	"IDENTITY_VERIFICATION_VALIDATED", "IDENTITY_VERIFICATION_FAILED", "IDENTITY_VERIFICATION_INCONCLUSIVE",
	"IDENTITY_VERIFICATION_OUTDATED", "IDENTITY_VERIFICATION_EXPIRED", "IDENTITY_VERIFICATION_PENDING",
	"USER_KYC_LIGHT", "USER_KYC_REGULAR", "KYC_SUCCEEDED", "KYC_FAILED", "KYC_OUTDATED", "PAYIN_NORMAL_SUCCEEDED",
	"IDENTITY_VERIFICATION_PENDING_PSC_ACTION", "IDENTITY_VERIFICATION_PSC_VALIDATED", "IDENTITY_VERIFICATION_PSC_REJECTED",
	"IDENTITY_VERIFICATION_PSC_ABANDONED", "USER_KYC_RENEWAL_REQUIRED", "USER_KYC_RENEWED",
}

// actForge sends a webhook Mangopay never emitted, or emitted about
// something else, with a fresh date (so it is not deduplicated).
func (m *model) actForge() {
	typ := modelForgedTypes[m.rng.IntN(len(modelForgedTypes))]
	var cands []string
	if m.view != nil && m.view.IdvSessionID != "" {
		cands = append(cands, m.view.IdvSessionID, m.view.IdvSessionID)
	}
	if m.view != nil {
		for _, h := range m.view.History {
			cands = append(cands, h.IdvSessionID)
		}
		for _, p := range m.view.PSCs {
			cands = append(cands, p.PscID)
		}
		for _, d := range m.view.Documents {
			cands = append(cands, d.KycDocumentID)
		}
	}
	cands = append(cands, m.userID, m.other, "idnver_01FORGED0000000000000000000", "kyc_forged")
	res := cands[m.rng.IntN(len(cands))]
	date := m.env.Now().Unix() + int64(m.rng.IntN(7200)) - 3600
	m.signal(webhookstream.MangopayEvent{EventType: mangopay.EventType(typ), ResourceID: res, Date: date})
	m.logf("forged: %s %s", typ, res)
}

// actOtherUser gives the other user a session and an outcome, so that its
// webhooks exist (and may be misrouted).
func (m *model) actOtherUser() {
	err := m.own(func() error {
		iv, err := m.mp.CreateIdentityVerification(context.Background(), m.other, &mangopay.CreateIdentityVerificationParams{ReturnURL: modelReturnURL})
		if err != nil {
			return err
		}
		return m.sim.SubmitOutcome(iv.ID, map[string]sandbox.Choice{})
	})
	m.logf("other user verified (%v)", errOrOK(err))
}

func (m *model) actFaults() {
	f := sandbox.Faults{}
	set := m.simSet
	name := ""
	window := time.Duration(10+m.rng.IntN(110)) * time.Minute
	switch r := m.rng.IntN(100); {
	case r < 25:
		name, f.APIErrorRate = "5xx 30%", 0.3
	case r < 45:
		name, f.APIErrorRate, f.APIErrorStatus = "429 30%", 0.3, 429
	case r < 65:
		name, f.APIErrorRate, f.APIErrorAfterCommit = "lost responses 50%", 0.5, true
	case r < 73:
		name, f.APILatencyMs = "latency", 5+m.rng.IntN(20)
	case r < 83:
		name, f.APIErrorRate, f.APIErrorStatus = "outage (503)", 1, 503
		window = time.Duration(5+m.rng.IntN(25)) * time.Minute
	case r < 88:
		status := []int{401, 403}[m.rng.IntN(2)]
		name, f.APIErrorRate, f.APIErrorStatus = fmt.Sprintf("credentials (%d) 30%%", status), 0.3, status
		m.denied = append(m.denied, timeWindow{m.env.Now(), m.env.Now().Add(window)})
	case r < 91:
		// A credential rollout or an IP allowlist gone wrong, for weeks.
		status := []int{401, 403}[m.rng.IntN(2)]
		window = time.Duration(7+m.rng.IntN(21)) * 24 * time.Hour
		name, f.APIErrorRate, f.APIErrorStatus = fmt.Sprintf("credentials (%d) for weeks", status), 1, status
		m.denied = append(m.denied, timeWindow{m.env.Now(), m.env.Now().Add(window)})
	case r < 95:
		name, set.IdvActivated = "IDV feature not activated", false
		m.denied = append(m.denied, timeWindow{m.env.Now(), m.env.Now().Add(window)}) // a 403
	default:
		// The platform's webhook endpoint is down, for up to a day, or
		// for days while the onboarding goes on.
		window = time.Duration(10+m.rng.IntN(1800)) * time.Minute
		if m.rng.IntN(3) == 0 {
			// Days, short of the 72 h a notification is retried for (past
			// them it is given up by design, and the platform reads the
			// state through the API).
			window = time.Duration(36+m.rng.IntN(34)) * time.Hour
		}
		name = "platform down"
		m.sink.down.Store(true)
		m.platformDown = append(m.platformDown, timeWindow{m.env.Now(), m.env.Now().Add(window)})
	}
	m.setFaults(f, set)
	m.faultsUntil = m.env.Now().Add(window)
	m.armFaultsEnd()
	m.logf("faults: %s for %v", name, window)
}

// armFaultsEnd ends the faults on time in the current run's environment.
func (m *model) armFaultsEnd() {
	until := m.faultsUntil
	if until.IsZero() {
		return
	}
	m.env.RegisterDelayedCallback(func() {
		if m.faultsUntil.Equal(until) {
			m.syncSim()
			m.clearFaults()
		}
	}, max(until.Sub(m.env.Now()), time.Millisecond))
}

func (m *model) clearFaults() {
	set := m.simSet
	set.IdvActivated = true
	m.setFaults(sandbox.Faults{}, set)
	m.sink.down.Store(false)
	if n := len(m.platformDown); n > 0 && m.platformDown[n-1].to.After(m.env.Now()) {
		m.platformDown[n-1].to = m.env.Now() // the platform is back early
	}
	if n := len(m.denied); n > 0 && m.denied[n-1].to.After(m.env.Now()) {
		m.denied[n-1].to = m.env.Now() // the access is back early
	}
	if !m.faultsUntil.IsZero() {
		m.logf("faults cleared")
	}
	m.faultsUntil = time.Time{}
}

func (m *model) setFaults(f sandbox.Faults, set sandbox.Settings) {
	m.faults, m.simSet = f, set
	m.sim.SetFaults(f)
	if err := m.sim.SetSettings(set); err != nil {
		m.fail("simulator settings: %v", err)
	}
}

func (m *model) actSuggestCAN() {
	m.env.SetContinueAsNewSuggested(true)
	m.logf("the server suggests continue-as-new")
}

// inFlightAction acts while an activity is running: the moments that
// scripted tests never reach.
func (m *model) inFlightAction(activity string) {
	switch r := m.rng.IntN(40); {
	case r < 2:
		m.logf("while %s runs:", activity)
		m.cancel("cancelled while " + activity + " ran")
	case r < 19:
		u := m.update(workflows.UpdateEnsureSession, workflows.EnsureSessionRequest{})
		m.logf("while %s runs: ensure-session %s", activity, u.id)
	case r < 20:
		m.logf("while %s runs: cancelled from Temporal", activity)
		m.cancelRequested, m.temporalCancel, m.temporalCancelAt = true, true, m.env.Now()
		m.env.CancelWorkflow()
	default:
		if m.view != nil && m.view.IdvSessionID != "" {
			typ := modelForgedTypes[m.rng.IntN(6)]
			m.signal(webhookstream.MangopayEvent{EventType: mangopay.EventType(typ), ResourceID: m.view.IdvSessionID, Date: m.env.Now().Unix() + int64(m.rng.IntN(1000))})
			m.logf("while %s runs: webhook %s", activity, typ)
		}
	}
}

// drainAll delivers every webhook about this user's resources, in order:
// what Mangopay's retries and the fleet reconciliation (Events API)
// eventually deliver. Duplicates are the workflow's to drop.
func (m *model) drainAll() {
	log := m.sim.EventLog()
	m.logSeen = len(log)
	mine := m.ownership()
	n := 0
	for _, ev := range log {
		if mine[ev.ResourceID] && slices.Contains(workflows.HookEventTypes, mangopay.EventType(ev.EventType)) {
			m.signal(webhookstream.MangopayEvent{EventType: mangopay.EventType(ev.EventType), ResourceID: ev.ResourceID, Date: ev.Date})
			n++
		}
	}
	m.logf("drain: %d webhooks of this user re-delivered", n)
}

// ownership is the set of this user's resources at Mangopay.
func (m *model) ownership() map[string]bool {
	mine := map[string]bool{m.userID: true}
	for _, s := range m.simSessions() {
		mine[s.ID] = true
	}
	for _, d := range m.simDocs() {
		mine[d.ID] = true
	}
	for _, p := range m.simPSCs() {
		mine[p.ID] = true
	}
	return mine
}

// actPSC: a person of significant control of a business completes (or
// drops) their own session.
func (m *model) actPSC() {
	for _, p := range m.simPSCs() {
		if p.Status != mangopay.PSCPendingValidation {
			continue
		}
		outcome := []string{sandbox.PscValidated, sandbox.PscValidated, sandbox.PscValidated, sandbox.PscRejected, sandbox.PscAbandoned}[m.rng.IntN(5)]
		err := m.sim.DecidePsc(p.ID, outcome)
		m.logf("PSC %s: %s (%v)", p.ID, outcome, errOrOK(err))
		return
	}
	m.logf("PSC outcome: no pending PSC session")
}

// actRetryPSC: the platform asks for a new try of a rejected PSC session
// (or of one it should not: the update must be rejected).
func (m *model) actRetryPSC() {
	id := "psc_x_01UNKNOWN0000000000000000000"
	if m.view != nil && m.rng.Float64() < 0.85 {
		for _, p := range m.view.PSCs {
			if p.Status != string(mangopay.PSCValidated) && p.Status != string(mangopay.PSCPendingValidation) {
				id = p.PscID
				break
			}
		}
	}
	u := m.update(workflows.UpdateRetryPSC, workflows.RetryPSCRequest{PscID: id})
	m.logf("retry-psc %s %s", u.id, id)
}

// actRenewal: Mangopay requires a verified user to renew their KYC.
func (m *model) actRenewal() {
	if m.rng.Float64() < 0.25 {
		// A deadline already past while the user is still REGULAR:
		// Mangopay downgrades later (the grouped downgrades of 2026-12-01).
		ago := 1 + m.rng.IntN(20)
		in := time.Duration(1+m.rng.IntN(120)) * time.Hour
		_, err := m.sim.RequireOverdueRenewal(m.userID, ago, in)
		m.logf("renewal required, deadline %d days ago, downgrade in %v (%v)", ago, in, errOrOK(err))
		return
	}
	// Called again, it moves the deadline earlier or later. A deadline
	// 120 days away is on record without a notice for 30 days; one already
	// due is not moved out of its notice (Mangopay documents no such move,
	// and would say nothing of it).
	choices := []int{1, 3, 7, 30, 45, 90, 120}
	if t, ok := m.truth(); ok && t.renewalDue() {
		choices = choices[:6]
	}
	days := choices[m.rng.IntN(len(choices))]
	_, err := m.sim.RequireRenewal(m.userID, days)
	m.logf("renewal required within %d days (%v)", days, errOrOK(err))
}

// actQuiet makes a quiet point in the middle of the seed: faults off,
// every webhook delivered, time passes, then the oracle judges the state
// and the random steps go on.
func (m *model) actQuiet() {
	if m.phase != phaseRandom || m.resume {
		return
	}
	m.logf("quiet point: faults off, every webhook delivered, time passes")
	m.clearFaults()
	m.drainAll()
	m.resume = true
	m.phase = phaseQuiet1
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}
