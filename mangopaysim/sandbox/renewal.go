package sandbox

import (
	"fmt"
	"net/http"
	"time"
)

// dateLayout is the YYYY-MM-DD (UTC, date only) format of LastKycDate and
// KycRenewalDeadline.
const dateLayout = "2006-01-02"

// renewal is a user's continuous-KYC state. The deadline is a date: the user
// stays verified through that whole day (UTC) and is downgraded when it ends.
type renewal struct {
	lastKYC  *time.Time // day of the last successful verification
	deadline *time.Time // KycRenewalDeadline, midnight UTC
	required bool       // USER_KYC_RENEWAL_REQUIRED sent, not yet renewed
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func dateString(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(dateLayout)
	return &s
}

// regulatoryStatus is the body of GET /users/{UserId}/Regulatory: the
// blocking status documented since 2024 plus, since 2026, KycInformation.
type regulatoryStatus struct {
	ID             string         `json:"Id"`
	ActionCode     *string        `json:"ActionCode"`
	ScopeBlocked   scopeBlocked   `json:"ScopeBlocked"`
	KycInformation kycInformation `json:"KycInformation"`
}

type scopeBlocked struct {
	Inflows  bool `json:"Inflows"`
	Outflows bool `json:"Outflows"`
}

type kycInformation struct {
	LastKycDate        *string `json:"LastKycDate"`
	KycRenewalDeadline *string `json:"KycRenewalDeadline"`
}

func (s *Sandbox) getRegulatory(req apiRequest) reply {
	id := req.p["userId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[id]
	if !found {
		return s.notFound("User", id)
	}
	var action *string
	if u.actionCode != "" {
		action = &u.actionCode
	}
	return ok(regulatoryStatus{
		ID: u.ID, ActionCode: action, ScopeBlocked: u.blocked,
		KycInformation: kycInformation{
			LastKycDate: dateString(u.renewal.lastKYC), KycRenewalDeadline: dateString(u.renewal.deadline),
		},
	})
}

// maxRenewalDays bounds DeadlineInDays (ten years).
const maxRenewalDays = 3650

// renewalNoticeDays: Mangopay sends USER_KYC_RENEWAL_REQUIRED this many days
// before an OWNER's KycRenewalDeadline (the renewal guide); before that the
// deadline is on record but no renewal is asked for.
const renewalNoticeDays = 90

// defaultRenewalPeriodDays is the default of Settings.KycRenewalPeriodDays.
const defaultRenewalPeriodDays = 365

// RequireRenewal gives a verified OWNER a KycRenewalDeadline days from now.
// As Mangopay does, USER_KYC_RENEWAL_REQUIRED comes 90 days before the
// deadline: at once when the deadline is that close, else on that day. If
// the user is still not renewed when the deadline day ends, the user is
// downgraded. Calling it again moves the deadline.
func (s *Sandbox) RequireRenewal(userID string, days int) (time.Time, error) {
	if days < 1 || days > maxRenewalDays {
		return time.Time{}, fmt.Errorf("%w: DeadlineInDays must be between 1 and %d, got %d", ErrInvalidOutcome, maxRenewalDays, days)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.renewableLocked(userID)
	if err != nil {
		return time.Time{}, err
	}
	deadline := day(s.clock.Now()).AddDate(0, 0, days)
	s.setDeadlineLocked(u, deadline)
	return deadline, nil
}

// setDeadlineLocked gives u the deadline and arms its notice and its
// downgrade. Each scheduled task checks that the deadline is still the
// user's, so moving it (or renewing) makes the older tasks no-ops.
func (s *Sandbox) setDeadlineLocked(u *user, deadline time.Time) {
	u.renewal.deadline, u.renewal.required = &deadline, false
	userID := u.ID
	notice := deadline.AddDate(0, 0, -renewalNoticeDays)
	if !s.clock.Now().Before(notice) {
		s.renewalNoticeLocked(u)
	} else {
		s.sched.At(notice, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if u, found := s.st.users[userID]; found && u.renewal.deadline != nil && u.renewal.deadline.Equal(deadline) &&
				!u.renewal.required && u.KYCLevel == "REGULAR" {
				s.renewalNoticeLocked(u)
			}
		})
	}
	s.sched.At(deadline.Add(24*time.Hour), func() { s.renewalDeadlinePassed(userID, deadline) })
}

// renewalNoticeLocked asks u to renew (USER_KYC_RENEWAL_REQUIRED).
func (s *Sandbox) renewalNoticeLocked(u *user) {
	u.renewal.required = true
	s.emitLocked("USER_KYC_RENEWAL_REQUIRED", u.ID)
}

// RequireOverdueRenewal gives a verified OWNER a KycRenewalDeadline that
// passed daysAgo days ago, notifies USER_KYC_RENEWAL_REQUIRED, and downgrades
// the user only after downgradeIn unless renewed: Mangopay ran its first
// grouped downgrades on 2026-12-01 for every deadline up to 2026-11-30, so a
// deadline on record may be past while the user is still REGULAR.
func (s *Sandbox) RequireOverdueRenewal(userID string, daysAgo int, downgradeIn time.Duration) (time.Time, error) {
	if daysAgo < 1 || daysAgo > maxRenewalDays || downgradeIn <= 0 {
		return time.Time{}, fmt.Errorf("%w: DaysAgo must be between 1 and %d and the downgrade ahead, got %d and %v",
			ErrInvalidOutcome, maxRenewalDays, daysAgo, downgradeIn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.renewableLocked(userID)
	if err != nil {
		return time.Time{}, err
	}
	deadline := day(s.clock.Now()).AddDate(0, 0, -daysAgo)
	u.renewal.deadline = &deadline
	s.renewalNoticeLocked(u)
	s.sched.At(s.clock.Now().Add(downgradeIn), func() { s.renewalDeadlinePassed(userID, deadline) })
	return deadline, nil
}

// LiftRenewal clears a user's pending renewal without a new verification
// and notifies USER_KYC_RENEWED, as Mangopay may when its risk assessment of
// the user changes: the next deadline is set a renewal period later.
func (s *Sandbox) LiftRenewal(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[userID]
	if !found {
		return fmt.Errorf("%w: user %s", ErrNotFound, userID)
	}
	if !u.renewal.required {
		return fmt.Errorf("%w: user %s has no renewal due", ErrWrongState, userID)
	}
	u.renewal.required = false
	s.emitLocked("USER_KYC_RENEWED", u.ID)
	s.setDeadlineLocked(u, day(s.clock.Now()).AddDate(0, 0, s.settings.KycRenewalPeriodDays))
	return nil
}

// renewalDeadlinePassed downgrades a user whose deadline day ended without a
// renewal.
func (s *Sandbox) renewalDeadlinePassed(userID string, deadline time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[userID]
	if !found || u.renewal.deadline == nil || !u.renewal.deadline.Equal(deadline) {
		return
	}
	u.renewal.required = false
	if u.KYCLevel == "REGULAR" {
		s.downgradeLocked(u)
	}
}

// RenewalRequest is the body of POST /_sim/users/{id}/renewal.
type RenewalRequest struct {
	DeadlineInDays int `json:"DeadlineInDays"`
}

func (s *Sandbox) ctlRenewal(_ *http.Request, p params, body []byte) (int, any) {
	var rq RenewalRequest
	if err := ctlDecode(body, &rq); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if _, err := s.RequireRenewal(p["userId"], rq.DeadlineInDays); err != nil {
		return ctlFail(err)
	}
	return s.getRegulatory(apiRequest{p: params{"userId": p["userId"]}}).ctl()
}

// ctl turns an API reply into a control API answer.
func (rp reply) ctl() (int, any) { return rp.status, rp.body }

// verifiedLocked records a completed verification: KYCLevel REGULAR
// (USER_KYC_REGULAR when it changes), today as LastKycDate, when a renewal
// was due the renewal done (USER_KYC_RENEWED), and for an OWNER the next
// KycRenewalDeadline, a renewal period from today (every OWNER has one).
func (s *Sandbox) verifiedLocked(u *user) {
	today := day(s.clock.Now())
	u.renewal.lastKYC = &today
	if u.KYCLevel != "REGULAR" {
		u.KYCLevel = "REGULAR"
		s.emitLocked("USER_KYC_REGULAR", u.ID)
	}
	if u.renewal.required {
		u.renewal.required = false
		s.emitLocked("USER_KYC_RENEWED", u.ID)
	}
	if u.UserCategory == "OWNER" {
		s.setDeadlineLocked(u, today.AddDate(0, 0, s.settings.KycRenewalPeriodDays))
	}
}

// BlocksRequest is the body of POST /_sim/users/{id}/blocks: the flows
// Mangopay blocks from now on (ScopeBlocked) and, optionally, the
// ActionCode that explains the block.
type BlocksRequest struct {
	Inflows    bool   `json:"Inflows"`
	Outflows   bool   `json:"Outflows"`
	ActionCode string `json:"ActionCode,omitempty"`
}

// defaultBlockActionCode explains a block set without an ActionCode (the
// code of Mangopay's documented example).
const defaultBlockActionCode = "008715"

// SetBlocks sets which of a user's flows Mangopay blocks, as its compliance
// team does, and notifies each change: USER_INFLOWS_BLOCKED or
// USER_INFLOWS_UNBLOCKED, USER_OUTFLOWS_BLOCKED or USER_OUTFLOWS_UNBLOCKED.
// Setting what is already set notifies nothing.
func (s *Sandbox) SetBlocks(userID string, rq BlocksRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[userID]
	if !found {
		return fmt.Errorf("%w: user %s", ErrNotFound, userID)
	}
	was := u.blocked
	u.blocked = scopeBlocked{Inflows: rq.Inflows, Outflows: rq.Outflows}
	switch {
	case !rq.Inflows && !rq.Outflows:
		u.actionCode = ""
	case rq.ActionCode != "":
		u.actionCode = rq.ActionCode
	case u.actionCode == "":
		u.actionCode = defaultBlockActionCode
	}
	notify := func(before, after bool, blocked, unblocked string) {
		switch {
		case !before && after:
			s.emitLocked(blocked, u.ID)
		case before && !after:
			s.emitLocked(unblocked, u.ID)
		}
	}
	notify(was.Inflows, rq.Inflows, "USER_INFLOWS_BLOCKED", "USER_INFLOWS_UNBLOCKED")
	notify(was.Outflows, rq.Outflows, "USER_OUTFLOWS_BLOCKED", "USER_OUTFLOWS_UNBLOCKED")
	return nil
}

func (s *Sandbox) ctlBlocks(_ *http.Request, p params, body []byte) (int, any) {
	var rq BlocksRequest
	if err := ctlDecode(body, &rq); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if err := s.SetBlocks(p["userId"], rq); err != nil {
		return ctlFail(err)
	}
	return s.getRegulatory(apiRequest{p: params{"userId": p["userId"]}}).ctl()
}

// renewableLocked is the user a renewal deadline can be given to: a
// verified (REGULAR) OWNER.
func (s *Sandbox) renewableLocked(userID string) (*user, error) {
	u, found := s.st.users[userID]
	if !found {
		return nil, fmt.Errorf("%w: user %s", ErrNotFound, userID)
	}
	if u.UserCategory != "OWNER" || u.KYCLevel != "REGULAR" {
		return nil, fmt.Errorf("%w: user %s is a %s with KYCLevel %s; only a verified (REGULAR) OWNER has a renewal deadline",
			ErrWrongState, userID, u.UserCategory, u.KYCLevel)
	}
	return u, nil
}
