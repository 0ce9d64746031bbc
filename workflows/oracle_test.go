package workflows_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// The oracle says which onboarding statuses Mangopay's facts allow. It is
// written from Mangopay's documented semantics only (shared/reference:
// mangopay-api.md, mangopay-2026.md, the seeds), never from the workflow's
// code: it must be able to disagree with the workflow.
//
// What it encodes:
//   - the user's KYCLevel is the truth: REGULAR is verified, LIGHT is not,
//     whatever its sessions, PSC sessions or documents say;
//   - every OWNER has a KycRenewalDeadline on record; Mangopay asks for the
//     renewal (USER_KYC_RENEWAL_REQUIRED) 90 days before it, so a REGULAR
//     user is renewal due from then on while the last KYC is not newer
//     than the deadline (Mangopay downgrades once it has passed, possibly
//     later than the day itself: the first grouped downgrades ran on
//     2026-12-01 for deadlines up to 2026-11-30); a deadline further away
//     is the next renewal, not one due;
//   - a renewal session (pending, in review, refused, expired) never ends
//     or demotes a REGULAR user: it is what the user may do, not what
//     Mangopay says of them, so the status stays RENEWAL_REQUIRED;
//   - for a LIGHT user, the newest IDV session at Mangopay is the attempt in
//     progress: PENDING (within its 7 days) waits for the user, REVIEW for
//     Mangopay's analysts, EXPIRED for the user to come back, VALIDATED of a
//     business or organization for its PSC sessions;
//   - a HostedUrl is usable only while its session is PENDING and before its
//     ExpiresAt (CreationDate + 7 days).

// mangopayTruth is what Mangopay says of one user at one instant.
type mangopayTruth struct {
	Now             time.Time
	UserCategory    mangopay.UserCategory
	PersonType      mangopay.PersonType
	LegalPersonType mangopay.LegalPersonType
	KYCLevel        mangopay.KYCLevel
	// RenewalDeadline is KycRenewalDeadline (a day, UTC; zero: none);
	// LastKYCDate is LastKycDate.
	RenewalDeadline time.Time
	LastKYCDate     time.Time
	// Sessions are the user's IDV sessions, oldest first.
	Sessions []truthSession
	// PSCs are the PSC sessions of the user, all generations.
	PSCs []mangopay.PSC
	// SessionLifetime is how long a HostedUrl can be used (7 days).
	SessionLifetime time.Duration
}

type truthSession struct {
	ID        string
	Status    mangopay.IdentityVerificationStatus
	CreatedAt time.Time
}

// platformDid is what the platform (or an operator) did to the onboarding.
type platformDid struct {
	// Cancelled: the cancel update, or a cancel from Temporal.
	Cancelled bool
	// EnsuredAt is when an ensure-session was last answered (zero: never):
	// one answered after the newest session ended asked for a new one.
	EnsuredAt time.Time
}

// expectation is the oracle's answer.
type expectation struct {
	Allowed []workflows.Status
	// RenewalDeadline is the renewal deadline the onboarding must show
	// (when the user stops being verified: the end of the deadline day),
	// zero when none; only judged while the onboarding is not final.
	RenewalDeadline time.Time
	// Why says which facts decided, for the failure message.
	Why string
	// usable: session id → its HostedUrl may be shown.
	usable map[string]bool
}

// Allows tells whether the status is one the facts allow.
func (e expectation) Allows(s workflows.Status) bool { return slices.Contains(e.Allowed, s) }

// LinkAllowed tells whether the HostedUrl of that session may be shown.
func (e expectation) LinkAllowed(sessionID string) bool { return e.usable[sessionID] }

// renewalNotice: Mangopay asks for a renewal this long before the deadline.
const renewalNotice = 90 * 24 * time.Hour

// renewalDue tells whether Mangopay asks the user to renew: a deadline
// within its 90 days' notice (or past), and no successful KYC after it (a
// re-verification after a missed deadline leaves the old date behind).
func (t mangopayTruth) renewalDue() bool {
	return !t.RenewalDeadline.IsZero() && !t.Now.Before(t.RenewalDeadline.Add(-renewalNotice)) &&
		!t.LastKYCDate.After(t.RenewalDeadline)
}

// newest is the newest IDV session, if any.
func (t mangopayTruth) newest() (truthSession, bool) {
	if len(t.Sessions) == 0 {
		return truthSession{}, false
	}
	return t.Sessions[len(t.Sessions)-1], true
}

// pscsApply: BUSINESS and ORGANIZATION users verify their PSCs in PSC
// sessions once the main session is VALIDATED (2026).
func (t mangopayTruth) pscsApply() bool {
	return t.LegalPersonType == mangopay.LegalBusiness || t.LegalPersonType == mangopay.LegalOrganization
}

// expected is the oracle: the statuses Mangopay's facts allow, and which
// HostedUrls may be shown.
func expected(t mangopayTruth, did platformDid) expectation {
	e := expectation{usable: map[string]bool{}}
	for _, s := range t.Sessions {
		if s.Status == mangopay.IdentityVerificationPending && t.Now.Before(s.CreatedAt.Add(t.SessionLifetime)) {
			e.usable[s.ID] = true
		}
	}
	allow := func(why string, s ...workflows.Status) {
		e.Allowed = append(e.Allowed, s...)
		e.Why = why
	}
	switch {
	case t.UserCategory != mangopay.UserCategoryOwner || t.LegalPersonType == mangopay.LegalPartnership:
		allow("the user is a "+string(t.UserCategory)+" "+string(t.LegalPersonType)+": not verifiable by hosted KYC", workflows.StatusNotEligible)
	case t.KYCLevel == mangopay.KYCLevelRegular && t.renewalDue():
		e.RenewalDeadline = t.RenewalDeadline.Add(24 * time.Hour)
		why := "the user is REGULAR with a renewal deadline " + t.RenewalDeadline.Format(time.DateOnly) + " on record"
		// Whatever its renewal session does (pending, in review): the
		// design's "VERIFIED or RENEWAL_REQUIRED"; the link of a pending
		// one is shown with it.
		allow(why, workflows.StatusRenewal)
	case t.KYCLevel == mangopay.KYCLevelRegular:
		allow("the user is REGULAR with no renewal due", workflows.StatusVerified)
	default:
		s, ok := t.newest()
		if !ok {
			allow("the user is "+string(t.KYCLevel)+" with no IDV session", workflows.StatusExpired)
			break
		}
		why := "the user is " + string(t.KYCLevel) + " and the newest session " + s.ID + " is " + string(s.Status)
		switch s.Status {
		case mangopay.IdentityVerificationPending:
			if e.usable[s.ID] {
				allow(why, workflows.StatusAwaitingUser)
			} else { // past its lifetime: Mangopay expires it any moment
				allow(why+" past its lifetime", workflows.StatusAwaitingUser, workflows.StatusExpired)
			}
		case mangopay.IdentityVerificationReview:
			allow(why, workflows.StatusInReview)
		case mangopay.IdentityVerificationExpired, mangopay.IdentityVerificationTimeout:
			if end := s.CreatedAt.Add(t.SessionLifetime); did.EnsuredAt.After(end) {
				// The platform asked for a session once this one had
				// ended: a new one was owed.
				allow(why + " but an ensure-session at " + did.EnsuredAt.Format(time.RFC3339) + ", after it ended, asked for a new one")
			} else {
				allow(why, workflows.StatusExpired)
			}
		case mangopay.IdentityVerificationValidated:
			if t.pscsApply() {
				allow(why+": its PSC sessions are not all done", workflows.StatusAwaitingPSCs)
			} else {
				allow(why)
			}
		case mangopay.IdentityVerificationRefused, mangopay.IdentityVerificationError:
			// Quiet, a refusal with attempts left has led to a new
			// session; at the cap (checked by justifyFinal) it is FAILED.
			allow(why, workflows.StatusFailed)
		default: // OUT_OF_DATE: a new session follows
			allow(why)
		}
	}
	if did.Cancelled {
		e.Allowed = append(e.Allowed, workflows.StatusCancelled)
		e.Why += "; the platform cancelled"
	}
	return e
}

// truth reads what Mangopay says of the model's user now.
func (m *model) truth() (mangopayTruth, bool) {
	u := m.simUser()
	if u == nil {
		return mangopayTruth{}, false
	}
	t := mangopayTruth{
		Now: m.env.Now(), UserCategory: u.UserCategory, PersonType: u.PersonType, LegalPersonType: u.LegalPersonType,
		KYCLevel: u.KYCLevel, SessionLifetime: 7 * 24 * time.Hour, PSCs: m.simPSCs(),
	}
	if r := m.simRegulatory(); r != nil {
		t.RenewalDeadline, t.LastKYCDate = r.KYC.RenewalDeadline.Time, r.KYC.LastKYCDate.Time
	}
	for _, s := range m.simSessions() {
		t.Sessions = append(t.Sessions, truthSession{ID: s.ID, Status: s.Status.Normalize(), CreatedAt: s.CreationDate.Time()})
	}
	slices.SortStableFunc(t.Sessions, func(a, b truthSession) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return t, true
}

// platformDid is what the model's platform did: a cancel, and its last
// ensure-session answered without error.
func (m *model) platformDid() platformDid {
	did := platformDid{Cancelled: m.cancelRequested}
	for _, u := range m.updates {
		if u.name == workflows.UpdateEnsureSession && u.done && u.err == nil && u.doneAt.After(did.EnsuredAt) {
			did.EnsuredAt = u.doneAt
		}
	}
	return did
}

// checkOracle holds the workflow's view to the oracle: at a quiet point
// (every webhook delivered, no fault, time passed) the status, the renewal
// deadline and the HostedUrl must be what Mangopay's facts allow.
func (m *model) checkOracle(v workflows.StateView) bool {
	t, ok := m.truth()
	if !ok {
		return false
	}
	e := expected(t, m.platformDid())
	if !e.Allows(v.Status) {
		m.fail("oracle: quiet, the workflow says %s (%s) but %s: allowed %v", v.Status, v.Reason, e.Why, e.Allowed)
		return false
	}
	if !v.Status.Final() {
		shown := ""
		if v.RenewalDeadline != "" {
			shown = v.RenewalDeadline
		}
		want := ""
		if !e.RenewalDeadline.IsZero() {
			want = e.RenewalDeadline.UTC().Format(time.RFC3339)
		}
		if shown != want {
			m.fail("oracle: quiet, the workflow shows renewal deadline %q but %s (want %q)", shown, e.Why, want)
			return false
		}
	}
	if v.HostedURL != "" && !e.LinkAllowed(v.IdvSessionID) {
		m.fail("oracle: quiet, the workflow shows the HostedUrl of session %s (status %s) but that session is not PENDING within its lifetime", v.IdvSessionID, v.Status)
		return false
	}
	return true
}

// checkLink holds a HostedUrl shown outside the state (an ensure-session
// answer, a notification) to Mangopay's facts at the instant it was given:
// the link of a session Mangopay has for the user, before that session's
// ExpiresAt (CreationDate + 7 days), which an ExpiresAt given with it must
// be. Whether the session was still PENDING then is judged only at quiet
// points (checkOracle): a submission may be on its way.
func (m *model) checkLink(where, sessionID, hostedURL, expiresAt string, at time.Time) {
	if hostedURL == "" {
		return
	}
	if sessionID == "" {
		m.fail("oracle: %s gives a HostedUrl without its session", where)
		return
	}
	for _, s := range m.simSessions() {
		if s.ID != sessionID {
			continue
		}
		end := s.CreationDate.Time().Add(7 * 24 * time.Hour)
		if !at.Before(end) {
			m.fail("oracle: %s at %s gives the HostedUrl of session %s past its lifetime (it ended %s)",
				where, fmtSince(at.Sub(modelStart)), sessionID, fmtSince(end.Sub(modelStart)))
		} else if expiresAt != "" && expiresAt != end.UTC().Format(time.RFC3339) {
			m.fail("oracle: %s gives ExpiresAt %s for session %s, but it ends %s", where, expiresAt, sessionID, end.UTC().Format(time.RFC3339))
		}
		return
	}
	m.fail("oracle: %s gives the HostedUrl of session %s, which Mangopay does not have for the user", where, sessionID)
}

// checkFinalOracle: a final status is judged by the oracle at the moment it
// is first seen (it is quiet by definition: nothing changes it).
func (m *model) checkFinalOracle(s workflows.Status) {
	if s == workflows.StatusCancelled || s == workflows.StatusNotEligible && m.simUser() == nil {
		return
	}
	t, ok := m.truth()
	if !ok {
		return
	}
	e := expected(t, m.platformDid())
	if !e.Allows(s) {
		m.fail("oracle: the onboarding ended %s (%s) but %s: allowed %v", s, m.reason(), e.Why, e.Allowed)
	}
}

func (e expectation) String() string {
	names := make([]string, len(e.Allowed))
	for i, s := range e.Allowed {
		names[i] = string(s)
	}
	return fmt.Sprintf("{%s} (%s)", strings.Join(names, ","), e.Why)
}

// checkTransition applies the oracle between quiet points, where it can: a
// status the workflow moved to since the last step, while Mangopay said
// REGULAR at both steps and the workflow knew it (VERIFIED, or a renewal
// due), can only be one a REGULAR user allows. A webhook still on its way
// cannot excuse it. AWAITING_PSCS needs no knowing: it is only reached by
// reading the user's level.
func (m *model) checkTransition(prev *workflows.StateView, v workflows.StateView) {
	level := mangopay.KYCLevel("")
	if u := m.simUser(); u != nil {
		level = u.KYCLevel
	}
	prevLevel, prevAt := m.lastLevel, m.lastStepAt
	m.lastLevel, m.lastStepAt = level, m.env.Now()
	if prevLevel != mangopay.KYCLevelRegular || level != mangopay.KYCLevelRegular || prevAt.IsZero() {
		return
	}
	updated, err := time.Parse(time.RFC3339, v.UpdatedAt)
	if err != nil || updated.Before(prevAt.Truncate(time.Second)) {
		return
	}
	// Knowing means: on the same attempt (a new one means the workflow saw
	// a downgrade, after which a re-verification may not have reached it).
	knew := prev != nil && prev.Attempt == v.Attempt &&
		(prev.Status == workflows.StatusVerified || prev.Status == workflows.StatusRenewal || prev.RenewalDeadline != "")
	switch v.Status {
	case workflows.StatusRefused, workflows.StatusExpired, workflows.StatusFailed:
		if knew {
			m.fail("oracle: the workflow moved to %s (%s) while Mangopay said the user is REGULAR throughout", v.Status, v.Reason)
		}
	case workflows.StatusAwaitingPSCs:
		m.fail("oracle: the workflow moved to %s (%s) while Mangopay said the user is REGULAR throughout", v.Status, v.Reason)
	}
}
