package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Errors of the simulator's own operations (the control API and the hosted
// page map them to HTTP statuses).
var (
	ErrNotFound       = errors.New("not found")
	ErrInvalidOutcome = errors.New("invalid outcome")
	ErrWrongState     = errors.New("wrong state")
)

// sessionLifetime is how long a HostedUrl can be submitted (2026 docs): the
// default, and the most, of Settings.SessionLifetimeSeconds.
const sessionLifetime = 7 * 24 * time.Hour

// session is an IDV Session.
type session struct {
	ID           string
	Tag          *string
	HostedURL    string
	ReturnURL    string
	Status       string
	UserID       string
	CreationDate int64
	LastUpdate   *int64
	Checks       []check

	pscs      []*psc // PSC sessions opened by this (main) session
	language  string // SessionLanguage, not echoed by the API
	key       string // the sessionId in the HostedUrl
	submitted bool   // the user submitted; the outcome has not landed yet
	// expiresAt is the end of its lifetime, fixed at creation: a later
	// change of the setting leaves open sessions alone.
	expiresAt time.Time
}

type check struct {
	CheckID      string        `json:"CheckId"`
	Type         string        `json:"Type"`
	CheckStatus  string        `json:"CheckStatus"`
	CreationDate int64         `json:"CreationDate"`
	LastUpdate   int64         `json:"LastUpdate"`
	Data         []checkData   `json:"Data"`
	Reasons      []checkReason `json:"Reasons"`
}

type checkData struct {
	Type  string  `json:"Type"`
	Value *string `json:"Value"`
}

type checkReason struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// The three shapes Mangopay returns for a session: create, view, list.
type sessionCreated struct {
	ID           string  `json:"Id"`
	Tag          *string `json:"Tag"`
	CreationDate int64   `json:"CreationDate"`
	HostedURL    string  `json:"HostedUrl"`
	Status       string  `json:"Status"`
	ReturnURL    string  `json:"ReturnUrl"`
}

type sessionView struct {
	ID           string    `json:"Id"`
	Tag          *string   `json:"Tag"`
	HostedURL    string    `json:"HostedUrl"`
	ReturnURL    string    `json:"ReturnUrl"`
	Status       string    `json:"Status"`
	UserID       string    `json:"UserId"`
	CreationDate int64     `json:"CreationDate"`
	LastUpdate   int64     `json:"LastUpdate"`
	Checks       []check   `json:"Checks"`
	PSCs         []pscView `json:"PSCs"`
}

type sessionListItem struct {
	ID           string `json:"Id"`
	Status       string `json:"Status"`
	CreationDate int64  `json:"CreationDate"`
	LastUpdate   *int64 `json:"LastUpdate"`
}

func (ss *session) view() sessionView {
	last := ss.CreationDate
	if ss.LastUpdate != nil {
		last = *ss.LastUpdate
	}
	checks := ss.Checks
	if checks == nil {
		checks = []check{}
	}
	pscs := make([]pscView, 0, len(ss.pscs))
	for _, p := range ss.pscs {
		pscs = append(pscs, p.view())
	}
	return sessionView{
		ID: ss.ID, Tag: ss.Tag, HostedURL: ss.HostedURL, ReturnURL: ss.ReturnURL, Status: ss.Status,
		UserID: ss.UserID, CreationDate: ss.CreationDate, LastUpdate: last, Checks: checks, PSCs: pscs,
	}
}

type createSessionBody struct {
	ReturnURL       *string `json:"ReturnUrl"`
	Tag             *string `json:"Tag"`
	SessionLanguage *string `json:"SessionLanguage"`
}

// sessionLanguages are the values SessionLanguage accepts (2026-09-15).
var sessionLanguages = []string{"de-DE", "en-US", "es-ES", "fr-FR", "it-IT", "nl-NL", "pt-PT", "zh-Hans-CN"}

func (s *Sandbox) createSession(req apiRequest) reply {
	set := s.currentSettings()
	if !set.IdvActivated {
		return s.featureNotActivated()
	}
	var b createSessionBody
	if bad, ok := s.decodeBody(req.body, &b); !ok {
		return bad
	}
	fe := fieldErrors{}
	fe.required("ReturnUrl", b.ReturnURL, set.ReturnURLMaxLength)
	if _, bad := fe["ReturnUrl"]; !bad {
		if u, err := url.Parse(*b.ReturnURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fe["ReturnUrl"] = "The ReturnUrl field is not a valid fully-qualified http, https URL."
		}
	}
	fe.maxLen("Tag", b.Tag, 255)
	if b.SessionLanguage != nil && !slices.Contains(sessionLanguages, *b.SessionLanguage) {
		fe["SessionLanguage"] = "The SessionLanguage field must be one of " + strings.Join(sessionLanguages, ", ") + "."
	}
	if len(fe) > 0 {
		return s.paramError(fe)
	}

	userID := req.p["userId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[userID]
	if !found {
		return s.errorReply(http.StatusBadRequest, typeParamError, "Missing or incorrect required parameter",
			map[string]string{"UserId": "UserId is not valid"})
	}
	if u.UserCategory != "OWNER" {
		return s.errorReply(http.StatusBadRequest, typeInvalidAction, "This feature is only available for users categorised as Owner.", nil)
	}
	if u.LegalPersonType == "PARTNERSHIP" {
		return s.errorReply(http.StatusBadRequest, typeInvalidAction, fmt.Sprintf(
			"The LegalUserType PARTNERSHIP is not currently supported in the identity verification process. An event will be skipped. PartnerId: %s/ UserExternalId: %s",
			s.cfg.ClientID, u.ID), nil)
	}

	now := s.clock.Now()
	key := s.ids.hex24()
	ss := &session{
		ID: s.ids.ulid("idnver_", now), Tag: b.Tag, ReturnURL: *b.ReturnURL, Status: "PENDING", UserID: u.ID,
		CreationDate: now.Unix(), key: key, expiresAt: now.Add(seconds(set.SessionLifetimeSeconds)),
	}
	ss.HostedURL = s.cfg.PublicURL + hostedPrefix + s.clientHex() + "?sessionId=" + key + "&redirectURL=" + url.QueryEscape(ss.ReturnURL)
	if b.SessionLanguage != nil {
		ss.language = *b.SessionLanguage
		ss.HostedURL += "&lng=" + url.QueryEscape(ss.language)
	}
	s.st.sessions[ss.ID] = ss
	s.st.sessionsByKey[key] = ss
	s.st.userSessions[u.ID] = append(s.st.userSessions[u.ID], ss)
	s.emitLocked("IDENTITY_VERIFICATION_PENDING", ss.ID)
	id := ss.ID
	s.sched.At(ss.expiresAt, func() { s.expire(id) })
	return ok(sessionCreated{ID: ss.ID, Tag: ss.Tag, CreationDate: ss.CreationDate, HostedURL: ss.HostedURL, Status: ss.Status, ReturnURL: ss.ReturnURL})
}

// expire turns a session still pending at the end of its lifetime into EXPIRED
// and notifies IDENTITY_VERIFICATION_EXPIRED (a webhook since 2026-08-18).
func (s *Sandbox) expire(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, found := s.st.sessions[id]; found && ss.Status == "PENDING" && !ss.submitted {
		s.expireLocked(ss)
	}
}

// Expire ends a pending session's lifetime now, as Mangopay does once the
// user has not submitted it in time: one session expires while every other
// keeps Mangopay's lifetime (SessionLifetimeSeconds shortens them all). A
// session already decided or submitted cannot expire.
func (s *Sandbox) Expire(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, found := s.st.sessions[id]
	switch {
	case !found:
		return fmt.Errorf("%w: IDV session %s", ErrNotFound, id)
	case ss.Status != "PENDING" || ss.submitted:
		return fmt.Errorf("%w: IDV session %s is %s (submitted: %t); only a PENDING session that was not submitted expires",
			ErrWrongState, id, ss.Status, ss.submitted)
	}
	s.expireLocked(ss)
	return nil
}

func (s *Sandbox) expireLocked(ss *session) {
	ss.Status = "EXPIRED"
	now := s.clock.Now().Unix()
	ss.LastUpdate = &now
	s.emitLocked("IDENTITY_VERIFICATION_EXPIRED", ss.ID)
}

func (s *Sandbox) getSession(req apiRequest) reply {
	if !s.currentSettings().IdvActivated {
		return s.featureNotActivated()
	}
	id := req.p["id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, found := s.st.sessions[id]
	if !found {
		return s.notFound("IdentityVerification", id)
	}
	return ok(ss.view())
}

func (s *Sandbox) listSessions(req apiRequest) reply {
	if !s.currentSettings().IdvActivated {
		return s.featureNotActivated()
	}
	userID := req.p["userId"]
	s.mu.Lock()
	u, found := s.st.users[userID]
	var items []sessionListItem
	if found {
		for _, ss := range s.st.userSessions[u.ID] {
			items = append(items, sessionListItem{ID: ss.ID, Status: ss.Status, CreationDate: ss.CreationDate, LastUpdate: ss.LastUpdate})
		}
	}
	s.mu.Unlock()
	if !found {
		return s.notFound("User", userID)
	}
	return listReply(items, req.r, s)
}

// SubmitOutcome records the outcome a tester chose for a pending session, as
// the hosted page does on submission. The outcome lands after the configured
// delay, as on the real service. The verified data is the user's own.
func (s *Sandbox) SubmitOutcome(sessionID string, choices map[string]Choice) error {
	return s.SubmitVerification(sessionID, choices, nil)
}

// SubmitVerification is SubmitOutcome with verified data that may differ
// from what the user declared: data maps a Data type (FIRST_NAME,
// COMPANY_NAME, LEGAL_REPRESENTATIVE_LAST_NAME, …) to the value the checks
// find. A VALIDATED session writes it over the user.
func (s *Sandbox) SubmitVerification(sessionID string, choices map[string]Choice, data map[string]string) error {
	s.mu.Lock()
	ss, found := s.st.sessions[sessionID]
	if !found {
		s.mu.Unlock()
		return fmt.Errorf("%w: IDV session %s", ErrNotFound, sessionID)
	}
	if ss.Status != "PENDING" || ss.submitted {
		st := ss.Status
		if ss.submitted {
			st = "PENDING (already submitted, outcome not landed yet)"
		}
		s.mu.Unlock()
		return fmt.Errorf("%w: IDV session %s is %s; only a PENDING session that was not submitted can get an outcome", ErrWrongState, sessionID, st)
	}
	u := s.st.users[ss.UserID]
	res, err := s.resolveChecks(u, choices, data, s.clock.Now().Unix())
	if err != nil {
		s.mu.Unlock()
		return err
	}
	ss.submitted = true
	delay := seconds(s.settings.OutcomeDelaySeconds)
	if delay <= 0 {
		s.landLocked(ss, res)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.sched.At(s.clock.Now().Add(delay), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if cur, ok := s.st.sessions[sessionID]; ok && cur == ss {
			s.landLocked(ss, res)
		}
	})
	return nil
}

// landLocked applies a resolved outcome to a session and emits its webhooks.
func (s *Sandbox) landLocked(ss *session, res resolved) {
	now := s.clock.Now().Unix()
	ss.submitted = false
	ss.Status = res.status
	ss.Checks = res.checks
	ss.LastUpdate = &now
	switch res.status {
	case validated:
		s.sessionValidatedLocked(ss)
	case refused:
		s.emitLocked("IDENTITY_VERIFICATION_FAILED", ss.ID)
	case review:
		s.emitLocked("IDENTITY_VERIFICATION_INCONCLUSIVE", ss.ID)
	}
}

// DecideReview ends the manual review of a session in REVIEW. A validation
// leaves Checks untouched (they may still show REFUSED); a refusal puts the
// reviewer's comment on the refused checks.
func (s *Sandbox) DecideReview(sessionID, decision, comment string) error {
	if decision != validated && decision != refused {
		return fmt.Errorf("%w: Decision must be VALIDATED or REFUSED, got %q", ErrInvalidOutcome, decision)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, found := s.st.sessions[sessionID]
	if !found {
		return fmt.Errorf("%w: IDV session %s", ErrNotFound, sessionID)
	}
	if ss.Status != review {
		return fmt.Errorf("%w: IDV session %s is %s, not REVIEW", ErrWrongState, sessionID, ss.Status)
	}
	now := s.clock.Now().Unix()
	ss.LastUpdate = &now
	ss.Status = decision
	if decision == validated {
		s.sessionValidatedLocked(ss)
		return nil
	}
	if comment == "" {
		comment = "Refused after manual review"
	}
	for i := range ss.Checks {
		c := &ss.Checks[i]
		if c.CheckStatus != refused {
			continue
		}
		reason := refusalReasons[c.Type][0]
		if len(c.Reasons) > 0 {
			reason = c.Reasons[0].Type
		}
		c.Reasons = []checkReason{{Type: reason, Value: comment}}
		c.LastUpdate = now
	}
	s.emitLocked("IDENTITY_VERIFICATION_FAILED", ss.ID)
	return nil
}

// Downgrade makes a REGULAR user LIGHT again, as Mangopay does when verified
// data changes or documents expire: validated sessions become OUT_OF_DATE,
// the identity proof (and a legal user's validated KYB documents) too.
func (s *Sandbox) Downgrade(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[userID]
	if !found {
		return fmt.Errorf("%w: user %s", ErrNotFound, userID)
	}
	if u.KYCLevel != "REGULAR" {
		return fmt.Errorf("%w: user %s has KYCLevel %s; only a REGULAR user can be downgraded", ErrWrongState, userID, u.KYCLevel)
	}
	s.downgradeLocked(u)
	return nil
}

// downgradeLocked makes a REGULAR user LIGHT and outdates what was verified.
func (s *Sandbox) downgradeLocked(u *user) {
	userID := u.ID
	now := s.clock.Now().Unix()
	for _, ss := range s.st.userSessions[userID] {
		if ss.Status == validated {
			ss.Status = "OUT_OF_DATE"
			ss.LastUpdate = &now
			s.emitLocked("IDENTITY_VERIFICATION_OUTDATED", ss.ID)
		}
	}
	for _, d := range s.st.userDocs[userID] {
		outdated := d.Status == validated && (d.Type == "IDENTITY_PROOF" || u.PersonType == "LEGAL") && d.Type != "ADDRESS_PROOF"
		if d.Type == "IDENTITY_PROOF" && d.Status == "VALIDATION_ASKED" {
			outdated = true
		}
		if outdated {
			d.Status = "OUT_OF_DATE"
			s.emitLocked("KYC_OUTDATED", d.ID)
		}
	}
	u.KYCLevel = "LIGHT"
	s.emitLocked("USER_KYC_LIGHT", u.ID)
}
