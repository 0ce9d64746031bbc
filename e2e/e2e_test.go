package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/adoption"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

// checkBusiness is the hosted page's check that sends a legal user to manual
// review when refused.
const checkBusiness = "BUSINESS_VERIFICATION"

// Webhooks the scenarios look for in the simulator's delivery log.
const (
	evValidated = "IDENTITY_VERIFICATION_VALIDATED"
	evOutdated  = "IDENTITY_VERIFICATION_OUTDATED"
	evKYCLight  = "USER_KYC_LIGHT"
	evKYCOK     = "KYC_SUCCEEDED"
)

// shortReconcile re-reads a pending session every second instead of after
// 15 minutes: for the scenarios where no webhook will come.
var shortReconcile = workflows.Config{ReconcileSchedule: []time.Duration{time.Second}}

// scenario is one onboarding path, driven from the outside.
type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

// scenarios run in this order, one at a time, on one stack: some change what
// the whole simulator does (faults, its clock), so none runs beside another.
// Expiry moves the simulator's clock 7 days ahead for good, after which the
// bridge rightly refuses the simulator's webhooks as dated in the future: it
// comes last, and needs no webhook itself.
var scenarios = []scenario{
	{"natural user verified through the hosted page", naturalVerified},
	{"legal user through review to validated", legalReviewValidated},
	{"refused then verified on the second attempt", refusedThenVerified},
	{"downgrade after verification then re-verified", downgradedReverified},
	{"extra document accepted", documentAccepted},
	{"every webhook dropped, finished by reconciliation", webhooksDropped},
	{"every webhook duplicated, no double transition", webhooksDuplicated},
	{"downgrade with every webhook lost, found by the fleet reconciliation", downgradeFoundByReconciliation},
	{"a pending session's lost webhook, found by the fleet reconciliation", lostWebhookFoundByReconciliation},
	{"business through PSC sessions, one rejected and retried", businessThroughPSCs},
	{"KYC renewal before the deadline", renewalBeforeDeadline},
	{"users verified before kycflow adopted", adoptVerifiedUsers},
	{"KYC renewal deadline missed, downgraded, re-verified", renewalDeadlineMissed},
	{"expiry by the simulator's clock then a fresh session", expiredThenFresh},
}

func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end tests start the whole system: skipped with -short")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skip("the Temporal CLI is not installed (make temporal-cli, or set TEMPORAL_CLI): end-to-end tests skipped")
	} else if err != nil {
		t.Fatalf("find the Temporal CLI: %v", err)
	}
	e := startEnv(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, e) })
	}
}

// naturalVerified: the signup flow gets a HostedUrl, the user validates every
// check, the simulator's webhook reaches the bridge, and the onboarding is
// VERIFIED for the platform and in Temporal's visibility.
func naturalVerified(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	s := e.startOnboarding(t, user)
	requireAwaitingUser(t, s, 1)
	require.Equal(t, user, s.UserID)
	// The signup's Mangopay calls (read the user, create the session) run
	// inside its first workflow task: one task, no activity dispatched
	// before the HostedUrl.
	tasks, scheduled := e.signupTasks(t, user)
	assert.Equal(t, 1, tasks, "workflow tasks before the HostedUrl")
	assert.Zero(t, scheduled, "activities scheduled before the HostedUrl")

	e.completePage(t, s.HostedURL, nil)

	e.waitDeliveries(t, evValidated, s.IdvSessionID, sandbox.Delivered, 1)
	o := e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, 1, o.Attempt)
	assert.Equal(t, s.IdvSessionID, o.IdvSessionID)
	assert.Equal(t, "NATURAL", o.UserType)
	e.waitEvents(t, user, "onboarding.awaiting_user", "onboarding.verified")
	e.waitEvent(t, user, "onboarding.awaiting_user with the HostedUrl", func(ev notify.Event) bool {
		return ev.Type == "onboarding.awaiting_user" && ev.Attempt == 1 && ev.HostedURL == s.HostedURL
	})
	e.waitVisible(t, user, `KycStatus="VERIFIED"`)
}

// legalReviewValidated: a BUSINESS user whose business check is refused on
// the page goes to manual review; Mangopay's reviewer validates it.
func legalReviewValidated(t *testing.T, e *env) {
	user := e.newLegalUser(t, mangopay.LegalBusiness)
	s := e.startOnboarding(t, user)
	requireAwaitingUser(t, s, 1)

	e.completePage(t, s.HostedURL, map[string]string{checkBusiness: ""})

	o := e.waitStatus(t, user, workflows.StatusInReview)
	assert.Equal(t, "BUSINESS", o.UserType)
	assert.NotEmpty(t, o.ReviewSince, "ReviewSince of %+v", o)
	e.waitVisible(t, user, `KycStatus="IN_REVIEW" AND KycUserType="BUSINESS"`)

	e.sim(t, http.MethodPost, "/_sim/identity-verifications/"+s.IdvSessionID+"/review", map[string]string{"Decision": "VALIDATED"}, nil)

	// Since 2026 a business is verified once its PSCs are: by default its
	// legal representative.
	o = e.waitState(t, user, "its PSC session", func(o onboarding) bool {
		return o.Status == workflows.StatusAwaitingPSCs && len(o.PSCs) == 1
	})
	e.sim(t, http.MethodPost, "/_sim/pscs/"+o.PSCs[0].PscID+"/outcome", map[string]string{"Outcome": "VALIDATED"}, nil)
	o = e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, 1, o.Attempt)
	e.waitEvents(t, user, "onboarding.in_review", "onboarding.awaiting_pscs", "onboarding.verified")
}

// businessThroughPSCs: a business with two persons of significant control;
// one PSC is rejected, the platform gets it a new link, and once both are
// validated Mangopay says REGULAR: VERIFIED.
func businessThroughPSCs(t *testing.T, e *env) {
	user := e.newLegalUser(t, mangopay.LegalBusiness)
	e.sim(t, http.MethodPut, "/_sim/users/"+user+"/pscs", map[string]any{"Persons": []map[string]string{
		{"FirstName": "Ada", "LastName": "Owner", "PscType": "UBO"},
		{"FirstName": "Bob", "LastName": "Director", "PscType": "LEGAL_REPRESENTATIVE"},
	}}, nil)
	s := e.startOnboarding(t, user)
	e.completePage(t, s.HostedURL, nil)

	o := e.waitState(t, user, "two PSC sessions", func(o onboarding) bool {
		return o.Status == workflows.StatusAwaitingPSCs && len(o.PSCs) == 2
	})
	ada, bob := o.PSCs[0], o.PSCs[1]
	require.NotEmpty(t, bob.HostedURL)
	e.waitEvent(t, user, "psc.pending_validation with the link", func(ev notify.Event) bool {
		return ev.Type == "psc.pending_validation" && ev.PscID == bob.PscID && ev.HostedURL == bob.HostedURL
	})
	e.sim(t, http.MethodPost, "/_sim/pscs/"+ada.PscID+"/outcome", map[string]string{"Outcome": "VALIDATED"}, nil)
	e.sim(t, http.MethodPost, "/_sim/pscs/"+bob.PscID+"/outcome", map[string]string{"Outcome": "REJECTED"}, nil)
	e.waitState(t, user, "Bob's PSC rejected", func(o onboarding) bool {
		return len(o.PSCs) == 2 && o.PSCs[1].Status == "REJECTED" && o.Status == workflows.StatusAwaitingPSCs
	})
	e.waitEvents(t, user, "psc.rejected")

	var retried workflows.PSC
	e.api(t, http.MethodPost, "/v1/onboardings/"+user+"/pscs/"+bob.PscID+"/retry", nil, &retried)
	assert.Equal(t, "PENDING_VALIDATION", retried.Status)
	require.NotEqual(t, bob.HostedURL, retried.HostedURL, "a new link")

	e.sim(t, http.MethodPost, "/_sim/pscs/"+bob.PscID+"/outcome", map[string]string{"Outcome": "VALIDATED"}, nil)
	o = e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, 1, o.Attempt)
	e.waitVisible(t, user, `KycStatus="VERIFIED" AND KycUserType="BUSINESS"`)
}

// renewalBeforeDeadline: Mangopay asks a verified user to renew; the platform
// hears it, the user opens a renewal session and passes: VERIFIED again, no
// deadline.
func renewalBeforeDeadline(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	first := e.startOnboarding(t, user)
	e.completePage(t, first.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)

	e.sim(t, http.MethodPost, "/_sim/users/"+user+"/renewal", map[string]int{"DeadlineInDays": 90}, nil)
	o := e.waitStatus(t, user, workflows.StatusRenewal)
	require.NotEmpty(t, o.RenewalDeadline)
	ev := e.waitEvent(t, user, "onboarding.renewal_required", func(ev notify.Event) bool { return ev.Type == "onboarding.renewal_required" })
	assert.Contains(t, ev.Type, "renewal")
	e.waitVisible(t, user, `KycStatus="RENEWAL_REQUIRED"`)

	renewal := e.startOnboarding(t, user)
	// Still REGULAR: RENEWAL_REQUIRED, with the renewal session's link.
	requireSessionStatus(t, renewal, workflows.StatusRenewal, 2)
	e.completePage(t, renewal.HostedURL, nil)
	o = e.waitState(t, user, "renewed", func(o onboarding) bool {
		return o.Status == workflows.StatusVerified && o.RenewalDeadline == ""
	})
	assert.Equal(t, 2, o.Attempt)
}

// renewalDeadlineMissed: the user does not renew; at the deadline Mangopay
// downgrades them, the onboarding opens a new session, the user passes.
func renewalDeadlineMissed(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	first := e.startOnboarding(t, user)
	e.completePage(t, first.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)
	e.sim(t, http.MethodPost, "/_sim/users/"+user+"/renewal", map[string]int{"DeadlineInDays": 1}, nil)
	e.waitStatus(t, user, workflows.StatusRenewal)

	e.sim(t, http.MethodPost, "/_sim/clock/advance", map[string]int{"Seconds": 3 * 24 * 3600}, nil)

	o := e.waitState(t, user, "downgraded, attempt 2 awaiting the user", func(o onboarding) bool {
		return o.Attempt == 2 && o.Status == workflows.StatusAwaitingUser
	})
	e.waitEvents(t, user, "onboarding.renewal_required", "onboarding.out_of_date")
	e.completePage(t, o.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)
}

// adoptVerifiedUsers: a platform adopting kycflow has users verified without
// it; adoption starts a watching onboarding for each (VERIFIED without a
// session), and running it again changes nothing.
func adoptVerifiedUsers(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	iv, err := e.s.Mangopay.CreateIdentityVerification(ctx, user, &mangopay.CreateIdentityVerificationParams{ReturnURL: e.returnURL})
	require.NoError(t, err)
	e.sim(t, http.MethodPost, "/_sim/identity-verifications/"+iv.ID+"/outcome", map[string]string{"Outcome": "VALIDATED"}, nil)
	e.waitDeliveries(t, evValidated, iv.ID, sandbox.Delivered, 1) // the outcome has landed: REGULAR

	a := &adoption.Adopter{Temporal: e.s.Temporal, PerSecond: 100}
	rep, err := a.Users(ctx, []string{user})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Started)
	o := e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, 0, o.Attempt, "verified before kycflow: no session")
	rep, err = a.Users(ctx, []string{user})
	require.NoError(t, err)
	assert.Equal(t, adoption.Report{Running: 1}, rep, "idempotent")
}

// refusedThenVerified: the first session is refused for a face mismatch; the
// user comes back at once (the platform asks again, skipping the backoff),
// gets a new session and passes.
func refusedThenVerified(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	first := e.startOnboarding(t, user)
	requireAwaitingUser(t, first, 1)

	e.sim(t, http.MethodPost, "/_sim/identity-verifications/"+first.IdvSessionID+"/outcome",
		map[string]string{"Outcome": "REFUSED", "Reason": "FACE_MATCH_FAIL"}, nil)

	o := e.waitStatus(t, user, workflows.StatusRefused)
	assert.Equal(t, 1, o.Attempt)
	assert.Contains(t, o.Reason, "FACE_MATCH_FAIL")
	ev := e.waitEvent(t, user, "onboarding.refused", func(ev notify.Event) bool { return ev.Type == "onboarding.refused" })
	assert.Contains(t, ev.Reasons, "FACE_MATCH_FAIL", "the reasons the platform was told")

	second := e.startOnboarding(t, user)
	requireAwaitingUser(t, second, 2)
	assert.NotEqual(t, first.IdvSessionID, second.IdvSessionID, "a new session")
	assert.NotEqual(t, first.HostedURL, second.HostedURL, "a new HostedUrl")

	e.completePage(t, second.HostedURL, nil)

	o = e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, 2, o.Attempt)
	assert.Equal(t, second.IdvSessionID, o.IdvSessionID)
	require.Len(t, o.History, 1, "attempts before the current one")
	assert.Equal(t, first.IdvSessionID, o.History[0].IdvSessionID)
	assert.Equal(t, "REFUSED", o.History[0].Status)
	assert.Contains(t, o.History[0].Reasons, "FACE_MATCH_FAIL")
}

// downgradedReverified: Mangopay downgrades a verified user (outdated
// session, KYC level back to LIGHT); the onboarding opens a new session by
// itself and the user passes it.
func downgradedReverified(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	first := e.startOnboarding(t, user)
	e.completePage(t, first.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)

	e.sim(t, http.MethodPost, "/_sim/users/"+user+"/downgrade", nil, nil)

	e.waitDeliveries(t, evOutdated, first.IdvSessionID, sandbox.Delivered, 1)
	e.waitDeliveries(t, evKYCLight, user, sandbox.Delivered, 1)
	o := e.waitState(t, user, "attempt 2 awaiting the user", func(o onboarding) bool {
		return o.Attempt == 2 && o.Status == workflows.StatusAwaitingUser
	})
	require.NotEqual(t, first.IdvSessionID, o.IdvSessionID, "a new session")
	require.NotEmpty(t, o.HostedURL)
	require.NotEqual(t, first.HostedURL, o.HostedURL, "a new HostedUrl")
	e.waitEvents(t, user, "onboarding.out_of_date")
	e.waitEvent(t, user, "onboarding.awaiting_user with the new HostedUrl", func(ev notify.Event) bool {
		return ev.Type == "onboarding.awaiting_user" && ev.Attempt == 2 && ev.HostedURL == o.HostedURL
	})

	e.completePage(t, o.HostedURL, nil)

	o = e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, 2, o.Attempt)
	require.Len(t, o.History, 1)
	assert.Equal(t, first.IdvSessionID, o.History[0].IdvSessionID)
	// History[0].Status is not checked: it is the session's status as the
	// workflow last read it, OUT_OF_DATE when IDENTITY_VERIFICATION_OUTDATED
	// is handled first, still VALIDATED when USER_KYC_LIGHT is (the user's
	// downgrade is confirmed by reading the user, not the session).
}

// documentAccepted: a verified user sends an extra identity proof through
// the platform API; Mangopay (the Sandbox's "accept" Tag) validates it and
// the webhook updates the onboarding's documents.
func documentAccepted(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	s := e.startOnboarding(t, user)
	e.completePage(t, s.HostedURL, nil)
	e.waitStatus(t, user, workflows.StatusVerified)

	doc := e.submitDocument(t, user, "IDENTITY_PROOF", "accept", pdfPage(40<<10), pdfPage(33<<10))
	require.NotEmpty(t, doc.KycDocumentID)
	// VALIDATION_ASKED when the update answers; the simulator's processing
	// delay makes it so, but a VALIDATED already there would be right too.
	assert.Contains(t, []string{"VALIDATION_ASKED", "VALIDATED"}, doc.Status)

	e.waitDeliveries(t, evKYCOK, doc.KycDocumentID, sandbox.Delivered, 1)
	o := e.waitState(t, user, "document "+doc.KycDocumentID+" VALIDATED", func(o onboarding) bool {
		i := slices.IndexFunc(o.Documents, func(d document) bool { return d.KycDocumentID == doc.KycDocumentID })
		return i >= 0 && o.Documents[i].Status == "VALIDATED"
	})
	require.Len(t, o.Documents, 1)
	assert.Equal(t, "IDENTITY_PROOF", o.Documents[0].Type)
	assert.Equal(t, workflows.StatusVerified, o.Status, "a document changes no onboarding status")
	e.waitEvent(t, user, "document.validated", func(ev notify.Event) bool {
		return ev.Type == "document.validated" && ev.DocumentID == doc.KycDocumentID
	})
}

// webhooksDropped: the simulator sends no webhook at all; the workflow's
// reconciliation reads the outcome from the API.
func webhooksDropped(t *testing.T, e *env) {
	e.setFaults(t, map[string]any{"WebhookDropRate": 1})
	user := e.newNaturalUser(t)
	s := e.startWithConfig(t, user, shortReconcile)
	requireAwaitingUser(t, s, 1)

	e.completePage(t, s.HostedURL, nil)

	o := e.waitStatus(t, user, workflows.StatusVerified)
	assert.Equal(t, s.IdvSessionID, o.IdvSessionID)
	dropped := e.waitDeliveries(t, evValidated, s.IdvSessionID, sandbox.Dropped, 1)
	assert.Len(t, dropped, 1)
	assert.Empty(t, slices.DeleteFunc(e.deliveries(t, evValidated, s.IdvSessionID), func(d sandbox.Delivery) bool {
		return d.Result == sandbox.Dropped
	}), "no webhook of the outcome left the simulator")
}

// webhooksDuplicated: the simulator sends every webhook twice; the bridge
// drops the second copy and the onboarding becomes VERIFIED once.
func webhooksDuplicated(t *testing.T, e *env) {
	e.setFaults(t, map[string]any{"WebhookDuplicateRate": 1})
	dupsBefore := e.metric(t, "kycflow_webhooks_duplicates_total")
	user := e.newNaturalUser(t)
	s := e.startOnboarding(t, user)
	requireAwaitingUser(t, s, 1)

	e.completePage(t, s.HostedURL, nil)

	e.waitStatus(t, user, workflows.StatusVerified)
	sent := e.waitDeliveries(t, evValidated, s.IdvSessionID, sandbox.Delivered, 2)
	assert.True(t, slices.ContainsFunc(sent, func(d sandbox.Delivery) bool { return d.Duplicate }), "a copy marked duplicate: %+v", sent)
	eventually(t, "the bridge to count the duplicate", func() (bool, string) {
		n := e.metric(t, "kycflow_webhooks_duplicates_total")
		return n > dupsBefore, fmt.Sprintf("kycflow_webhooks_duplicates_total stayed at %v", n)
	})
	assert.Equal(t, 1, e.statusUpserts(t, user, workflows.StatusVerified), "KycStatus=VERIFIED upserts in the workflow history")
	e.waitEvents(t, user, "onboarding.verified")
	verified := slices.DeleteFunc(e.events(user), func(ev notify.Event) bool { return ev.Type != "onboarding.verified" })
	assert.Len(t, verified, 1, "onboarding.verified notifications")
}

// expiredThenFresh: the user never opens the page; 7 days later (the
// simulator's clock) Mangopay has expired the session (with, since 2026-08,
// an IDENTITY_VERIFICATION_EXPIRED webhook: a hint like any other), the
// workflow finds it, and the user's return gets a fresh session.
func expiredThenFresh(t *testing.T, e *env) {
	user := e.newNaturalUser(t)
	first := e.startWithConfig(t, user, shortReconcile)
	requireAwaitingUser(t, first, 1)

	e.sim(t, http.MethodPost, "/_sim/clock/advance", map[string]int64{"Seconds": 7*24*3600 + 60}, nil)

	o := e.waitStatus(t, user, workflows.StatusExpired)
	assert.Equal(t, 1, o.Attempt)
	for _, d := range e.deliveries(t, "", first.IdvSessionID) {
		assert.Equal(t, "IDENTITY_VERIFICATION_EXPIRED", d.EventType, "the only webhook of a session nobody opened")
	}
	e.waitEvents(t, user, "onboarding.expired")

	second := e.startOnboarding(t, user)
	requireAwaitingUser(t, second, 2)
	assert.NotEqual(t, first.IdvSessionID, second.IdvSessionID, "a fresh session")
	assert.NotEqual(t, first.HostedURL, second.HostedURL, "a fresh HostedUrl")
	o = e.state(t, user)
	require.Len(t, o.History, 1)
	assert.Equal(t, "EXPIRED", o.History[0].Status)
}
