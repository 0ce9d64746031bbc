package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PSC (person of significant control) sessions, 2026: once the main session
// of a BUSINESS or ORGANIZATION user is VALIDATED, each UBO and legal
// representative does their own liveness check in a PSC session, and the
// user is only REGULAR once every PSC is VALIDATED.

// PSC statuses, as on the wire.
const (
	PscPendingValidation = "PENDING_VALIDATION"
	PscValidated         = "VALIDATED"
	PscRejected          = "REJECTED"
	PscAbandoned         = "ABANDONED"
)

// PSC types. Mangopay has not published the PscType values; these are the
// simulator's.
const (
	PscTypeLegalRepresentative = "LEGAL_REPRESENTATIVE"
	PscTypeUBO                 = "UBO"
)

// Check types run on the main session of a user with PSC sessions.
const (
	CheckPscRole        = "PSC_ROLE_CHECK"
	CheckPscConsistency = "PSC_CONSISTENCY_CHECK"
)

// Event types of PSC sessions.
const (
	EventPendingPscAction = "IDENTITY_VERIFICATION_PENDING_PSC_ACTION"
	EventPscPending       = "IDENTITY_VERIFICATION_PSC_PENDING"
	EventPscValidated     = "IDENTITY_VERIFICATION_PSC_VALIDATED"
	EventPscRejected      = "IDENTITY_VERIFICATION_PSC_REJECTED"
	EventPscFailed        = "IDENTITY_VERIFICATION_PSC_FAILED"
	EventPscAbandoned     = "IDENTITY_VERIFICATION_PSC_ABANDONED"
)

// PSC expiry: 7 days after the link is created, or 1 hour after the
// liveness step starts.
const (
	pscLifetime         = 7 * 24 * time.Hour
	pscLivenessLifetime = time.Hour
)

// psc is one PSC session.
type psc struct {
	ID             string
	Tag            *string
	CreationDate   int64
	FirstName      string
	LastName       string
	Email          *string
	DateOfBirth    *int64
	Country        *string
	Nationality    *string
	PscType        string
	Status         string
	ValidationDate *int64
	HostedURL      string
	Data           []checkData
	LastUpdate     int64

	userID        string
	mainSessionID string
	sessionID     string // the PSC's own session (SessionId in the list)
	key           string // the sessionId in its HostedUrl
	gen           int    // bumped by a retry: older expiry tasks are stale
	linkDate      int64  // when the current link was created
	livenessAt    *time.Time
	submitted     bool // an outcome is on its way
}

// pscView is a PSC as in PSCs[] of a session and the retry response.
type pscView struct {
	ID             string      `json:"Id"`
	Tag            *string     `json:"Tag"`
	CreationDate   int64       `json:"CreationDate"`
	FirstName      string      `json:"FirstName"`
	LastName       string      `json:"LastName"`
	Email          *string     `json:"Email"`
	DateOfBirth    *int64      `json:"DateOfBirth"`
	Country        *string     `json:"Country"`
	Nationality    *string     `json:"Nationality"`
	PscType        string      `json:"PscType"`
	Status         string      `json:"Status"`
	ValidationDate *int64      `json:"ValidationDate"`
	HostedURL      string      `json:"HostedUrl"`
	Data           []checkData `json:"Data"`
	LastUpdate     int64       `json:"LastUpdate"`
}

// pscListItem is a PSC in GET /users/{UserId}/pscs.
type pscListItem struct {
	pscView
	SessionID     string `json:"SessionId"`
	MainSessionID string `json:"MainSessionId"`
}

func (p *psc) view() pscView {
	data := p.Data
	if data == nil {
		data = []checkData{}
	}
	return pscView{
		ID: p.ID, Tag: p.Tag, CreationDate: p.CreationDate, FirstName: p.FirstName, LastName: p.LastName,
		Email: p.Email, DateOfBirth: p.DateOfBirth, Country: p.Country, Nationality: p.Nationality,
		PscType: p.PscType, Status: p.Status, ValidationDate: p.ValidationDate, HostedURL: p.HostedURL,
		Data: data, LastUpdate: p.LastUpdate,
	}
}

// PscPerson is a person of significant control declared for a user: who
// gets a PSC session once the user's main session is validated.
type PscPerson struct {
	FirstName   string  `json:"FirstName"`
	LastName    string  `json:"LastName"`
	Email       *string `json:"Email,omitempty"`
	DateOfBirth *int64  `json:"DateOfBirth,omitempty"`
	Country     *string `json:"Country,omitempty"`
	Nationality *string `json:"Nationality,omitempty"`
	// PscType is LEGAL_REPRESENTATIVE or UBO (the default).
	PscType string `json:"PscType,omitempty"`
}

// maxPscs bounds the persons a user may declare.
const maxPscs = 20

func (p PscPerson) validate(i int) error {
	var errs []error
	field := func(name string) string { return fmt.Sprintf("Persons[%d].%s", i, name) }
	for name, v := range map[string]string{"FirstName": p.FirstName, "LastName": p.LastName} {
		if strings.TrimSpace(v) == "" || len(v) > 100 {
			errs = append(errs, fmt.Errorf("%s is required (at most 100 characters)", field(name)))
		}
	}
	if p.Email != nil && !emailRe.MatchString(*p.Email) {
		errs = append(errs, fmt.Errorf("%s is not an e-mail address", field("Email")))
	}
	for name, v := range map[string]*string{"Country": p.Country, "Nationality": p.Nationality} {
		if v != nil && !countryRe.MatchString(*v) {
			errs = append(errs, fmt.Errorf("%s must be an ISO 3166-1 alpha-2 code", field(name)))
		}
	}
	if p.PscType != "" && p.PscType != PscTypeUBO && p.PscType != PscTypeLegalRepresentative {
		errs = append(errs, fmt.Errorf("%s must be %s or %s", field("PscType"), PscTypeUBO, PscTypeLegalRepresentative))
	}
	return errors.Join(errs...)
}

// hasPscs reports whether a user's validation goes through PSC sessions.
func (s *Sandbox) hasPscsLocked(u *user) bool {
	return s.settings.PscSessionsActivated && u.PersonType == "LEGAL" &&
		(u.LegalPersonType == "BUSINESS" || u.LegalPersonType == "ORGANIZATION")
}

// DeclarePscs sets the persons of significant control of a BUSINESS or
// ORGANIZATION user, as the user would declare them in the hosted session.
// They get PSC sessions when the next main session is validated. Without a
// declaration the legal representative is the one PSC.
func (s *Sandbox) DeclarePscs(userID string, persons []PscPerson) error {
	if len(persons) == 0 || len(persons) > maxPscs {
		return fmt.Errorf("%w: declare between 1 and %d persons, got %d", ErrInvalidOutcome, maxPscs, len(persons))
	}
	var errs []error
	for i, p := range persons {
		errs = append(errs, p.validate(i))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOutcome, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[userID]
	if !found {
		return fmt.Errorf("%w: user %s", ErrNotFound, userID)
	}
	if u.PersonType != "LEGAL" || (u.LegalPersonType != "BUSINESS" && u.LegalPersonType != "ORGANIZATION") {
		return fmt.Errorf("%w: user %s is not a BUSINESS or ORGANIZATION user; only those have PSC sessions", ErrWrongState, userID)
	}
	u.pscs = slices.Clone(persons)
	return nil
}

// declaredPersonsLocked returns who gets a PSC session: the declared persons,
// or the legal representative.
func declaredPersons(u *user) []PscPerson {
	if len(u.pscs) > 0 {
		return u.pscs
	}
	r := u.LegalRepresentative
	return []PscPerson{{
		FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, DateOfBirth: r.Birthday,
		Country: r.CountryOfResidence, Nationality: r.Nationality, PscType: PscTypeLegalRepresentative,
	}}
}

// sessionValidatedLocked does what a VALIDATED main session does: the
// verified data overwrites the user's, then either the user is verified or,
// for a business or organization, its PSC sessions open.
func (s *Sandbox) sessionValidatedLocked(ss *session) {
	u := s.st.users[ss.UserID]
	s.emitLocked("IDENTITY_VERIFICATION_VALIDATED", ss.ID)
	applyVerifiedData(u, ss.Checks)
	if !s.hasPscsLocked(u) {
		s.verifiedLocked(u)
		return
	}
	s.emitLocked(EventPendingPscAction, ss.ID)
	for _, person := range declaredPersons(u) {
		s.openPscLocked(ss, u, person)
	}
}

func (s *Sandbox) openPscLocked(ss *session, u *user, person PscPerson) {
	now := s.clock.Now()
	typ := person.PscType
	if typ == "" {
		typ = PscTypeUBO
	}
	p := &psc{
		ID: s.ids.ulid("psc_x_", now), CreationDate: now.Unix(), FirstName: person.FirstName, LastName: person.LastName,
		Email: person.Email, DateOfBirth: person.DateOfBirth, Country: person.Country, Nationality: person.Nationality,
		PscType: typ, userID: u.ID, mainSessionID: ss.ID,
	}
	s.st.pscs[p.ID] = p
	ss.pscs = append(ss.pscs, p)
	s.st.userPscs[u.ID] = append(s.st.userPscs[u.ID], p)
	s.newPscLinkLocked(p, ss.ReturnURL)
}

// newPscLinkLocked gives a PSC a fresh session and link, PENDING_VALIDATION,
// expiring 7 days later.
func (s *Sandbox) newPscLinkLocked(p *psc, returnURL string) {
	now := s.clock.Now()
	if p.key != "" {
		delete(s.st.pscsByKey, p.key)
	}
	p.gen++
	p.key = s.ids.hex24()
	p.sessionID = s.ids.ulid("idnver_", now)
	p.HostedURL = s.cfg.PublicURL + hostedPrefix + s.clientHex() + "?sessionId=" + p.key + "&redirectURL=" + url.QueryEscape(returnURL)
	p.Status, p.ValidationDate, p.Data, p.livenessAt, p.submitted = PscPendingValidation, nil, nil, nil, false
	p.LastUpdate, p.linkDate = now.Unix(), now.Unix()
	s.st.pscsByKey[p.key] = p
	s.emitPscLocked(EventPscPending, p)
	id, gen := p.ID, p.gen
	s.sched.At(now.Add(pscLifetime), func() { s.expirePsc(id, gen) })
}

// emitPscLocked notifies a PSC event; its RessourceId is the PSC's id or the
// main session's, as the PscEventResource setting says.
func (s *Sandbox) emitPscLocked(eventType string, p *psc) {
	res := p.ID
	if s.settings.PscEventResource == PscResourceSession {
		res = p.mainSessionID
	}
	s.emitLocked(eventType, res)
}

// expirePsc rejects a PSC session still pending when its link (gen) expires.
func (s *Sandbox) expirePsc(id string, gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, found := s.st.pscs[id]
	if !found || p.gen != gen || p.Status != PscPendingValidation || p.submitted {
		return
	}
	s.decidePscLocked(p, PscRejected)
}

// StartPscLiveness records that a PSC started the liveness step (the QR code
// was shown): the session is rejected if not completed within an hour.
func (s *Sandbox) StartPscLiveness(pscID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, found := s.st.pscs[pscID]
	if !found {
		return fmt.Errorf("%w: PSC %s", ErrNotFound, pscID)
	}
	if p.Status != PscPendingValidation || p.submitted {
		return fmt.Errorf("%w: PSC %s is %s; only a pending PSC session can start its liveness step", ErrWrongState, pscID, p.Status)
	}
	if p.livenessAt != nil {
		return nil
	}
	now := s.clock.Now()
	p.livenessAt = &now
	id, gen := p.ID, p.gen
	s.sched.At(now.Add(pscLivenessLifetime), func() { s.expirePsc(id, gen) })
	return nil
}

// DecidePsc gives a pending PSC session its outcome (VALIDATED, REJECTED or
// ABANDONED), as the PSC's hosted page or Mangopay would. A VALIDATED or
// REJECTED outcome lands after OutcomeDelaySeconds; ABANDONED at once.
func (s *Sandbox) DecidePsc(pscID, outcome string) error {
	if outcome != PscValidated && outcome != PscRejected && outcome != PscAbandoned {
		return fmt.Errorf("%w: Outcome must be VALIDATED, REJECTED or ABANDONED, got %q", ErrInvalidOutcome, outcome)
	}
	s.mu.Lock()
	p, found := s.st.pscs[pscID]
	if !found {
		s.mu.Unlock()
		return fmt.Errorf("%w: PSC %s", ErrNotFound, pscID)
	}
	if p.Status != PscPendingValidation || p.submitted {
		st := p.Status
		if p.submitted {
			st += " (outcome on its way)"
		}
		s.mu.Unlock()
		return fmt.Errorf("%w: PSC %s is %s; only a PENDING_VALIDATION PSC can get an outcome", ErrWrongState, pscID, st)
	}
	delay := seconds(s.settings.OutcomeDelaySeconds)
	if delay <= 0 || outcome == PscAbandoned {
		s.decidePscLocked(p, outcome)
		s.mu.Unlock()
		return nil
	}
	p.submitted = true
	gen := p.gen
	s.mu.Unlock()
	s.sched.At(s.clock.Now().Add(delay), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if p.gen == gen && p.submitted {
			s.decidePscLocked(p, outcome)
		}
	})
	return nil
}

func (s *Sandbox) decidePscLocked(p *psc, outcome string) {
	now := s.clock.Now().Unix()
	p.Status, p.LastUpdate, p.submitted = outcome, now, false
	switch outcome {
	case PscValidated:
		p.ValidationDate = &now
		str := func(v string) *string { return &v }
		var birth *string
		if p.DateOfBirth != nil {
			birth = str(strconv.FormatInt(*p.DateOfBirth, 10))
		}
		p.Data = []checkData{{"FIRST_NAME", str(strings.ToUpper(p.FirstName))}, {"LAST_NAME", str(strings.ToUpper(p.LastName))}, {"BIRTHDATE", birth}}
		s.emitPscLocked(EventPscValidated, p)
		s.pscsCompleteLocked(p.mainSessionID)
	case PscRejected:
		s.emitPscLocked(s.settings.PscRejectedEventType, p)
	case PscAbandoned:
		s.emitPscLocked(EventPscAbandoned, p)
	}
}

// pscsCompleteLocked verifies the user once every PSC of a still VALIDATED
// main session is VALIDATED.
func (s *Sandbox) pscsCompleteLocked(mainSessionID string) {
	ss := s.st.sessions[mainSessionID]
	if ss == nil || ss.Status != validated {
		return
	}
	for _, p := range ss.pscs {
		if p.Status != PscValidated {
			return
		}
	}
	s.verifiedLocked(s.st.users[ss.UserID])
}

// retryPscBody is the optional body of the retry endpoint.
type retryPscBody struct {
	FirstName   *string `json:"FirstName"`
	LastName    *string `json:"LastName"`
	Email       *string `json:"Email"`
	DateOfBirth *int64  `json:"DateOfBirth"`
}

// retryPsc implements PUT /identity-verifications/{id}/pscs/{pscId}/retry:
// the existing link while PENDING_VALIDATION, a new one after VALIDATED or
// REJECTED, refused for ABANDONED. The body may correct the person's data.
func (s *Sandbox) retryPsc(req apiRequest) reply {
	var b retryPscBody
	if len(strings.TrimSpace(string(req.body))) > 0 {
		if bad, ok := s.decodeBody(req.body, &b); !ok {
			return bad
		}
	}
	fe := fieldErrors{}
	if b.FirstName != nil {
		fe.required("FirstName", b.FirstName, 100)
	}
	if b.LastName != nil {
		fe.required("LastName", b.LastName, 100)
	}
	if b.Email != nil {
		fe.email("Email", b.Email)
	}
	if len(fe) > 0 {
		return s.paramError(fe)
	}
	sessionID, pscID := req.p["id"], req.p["pscId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, found := s.st.sessions[sessionID]
	if !found {
		return s.notFound("IdentityVerification", sessionID)
	}
	p, found := s.st.pscs[pscID]
	if !found || p.mainSessionID != ss.ID {
		return s.notFound("Psc", pscID)
	}
	if p.Status == PscAbandoned {
		return s.errorReply(http.StatusBadRequest, typeInvalidAction,
			"This PSC session was abandoned and cannot be retried. Only Mangopay can add a missing PSC.", nil)
	}
	if b.FirstName != nil {
		p.FirstName = *b.FirstName
	}
	if b.LastName != nil {
		p.LastName = *b.LastName
	}
	if b.Email != nil {
		p.Email = b.Email
	}
	if b.DateOfBirth != nil {
		p.DateOfBirth = b.DateOfBirth
	}
	if p.Status == PscPendingValidation {
		p.LastUpdate = s.clock.Now().Unix()
		return ok(p.view())
	}
	s.newPscLinkLocked(p, ss.ReturnURL)
	return ok(p.view())
}

// listUserPscs implements GET /users/{UserId}/pscs.
func (s *Sandbox) listUserPscs(req apiRequest) reply {
	userID := req.p["userId"]
	s.mu.Lock()
	u, found := s.st.users[userID]
	items := []pscListItem{}
	if found {
		for _, p := range s.st.userPscs[u.ID] {
			items = append(items, pscListItem{pscView: p.view(), SessionID: p.sessionID, MainSessionID: p.mainSessionID})
		}
	}
	s.mu.Unlock()
	if !found {
		return s.notFound("User", userID)
	}
	return listReply(items, req.r, s)
}

// PscsRequest is the body of PUT /_sim/users/{id}/pscs.
type PscsRequest struct {
	Persons []PscPerson `json:"Persons"`
}

func (s *Sandbox) ctlDeclarePscs(_ *http.Request, p params, body []byte) (int, any) {
	var rq PscsRequest
	if err := ctlDecode(body, &rq); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if err := s.DeclarePscs(p["userId"], rq.Persons); err != nil {
		return ctlFail(err)
	}
	return http.StatusOK, rq
}

// PscOutcomeRequest is the body of POST /_sim/pscs/{id}/outcome.
type PscOutcomeRequest struct {
	Outcome string `json:"Outcome"`
}

func (s *Sandbox) ctlPscOutcome(_ *http.Request, p params, body []byte) (int, any) {
	var rq PscOutcomeRequest
	if err := ctlDecode(body, &rq); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if err := s.DecidePsc(p["pscId"], rq.Outcome); err != nil {
		return ctlFail(err)
	}
	return s.pscSnapshot(p["pscId"])
}

func (s *Sandbox) ctlPscLiveness(_ *http.Request, p params, _ []byte) (int, any) {
	if err := s.StartPscLiveness(p["pscId"]); err != nil {
		return ctlFail(err)
	}
	return s.pscSnapshot(p["pscId"])
}

// pscSnapshot answers with the PSC as the list endpoint shows it, plus
// whether an outcome is on its way.
func (s *Sandbox) pscSnapshot(id string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.pscs[id]
	return http.StatusOK, struct {
		pscListItem
		OutcomePending bool `json:"OutcomePending"`
	}{pscListItem{pscView: p.view(), SessionID: p.sessionID, MainSessionID: p.mainSessionID}, p.submitted}
}
