package sandbox

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// hostedPrefix is where HostedUrl pages live, mirroring
// https://user-verification.sandbox.mangopay.com/<24-hex>?sessionId=<24-hex>&redirectURL=<ReturnUrl>.
const hostedPrefix = "/idv/"

// scaPath is where PendingUserAction.RedirectUrl links point.
const scaPath = "/sca"

//go:embed hosted.html
var hostedHTML string

var hostedTmpl = template.Must(template.New("hosted").Parse(hostedHTML))

// clientHex is the fixed first path segment of this client's HostedUrls.
func (s *Sandbox) clientHex() string {
	sum := sha256.Sum256([]byte(s.cfg.ClientID))
	return hex.EncodeToString(sum[:12])
}

type hostedCheck struct {
	Type      string
	Label     string
	DependsOn string
	Reasons   []string
}

type hostedData struct {
	Type  string
	Value string
}

type hostedPage struct {
	SessionKey string
	SessionID  string
	Language   string // SessionLanguage, or the lng= of the link
	UserKind   string
	Status     string
	ReturnURL  string
	ExpiresAt  string
	Open       bool
	Submitted  bool
	Message    string
	Checks     []hostedCheck
	Data       []hostedData // verified data the tester may change
	// Persons are the persons of significant control the user declares (a
	// business or organization with PSC sessions), plus blank rows.
	Persons   []PscPerson
	SubmitURL string

	// A PSC session's page: one person's liveness check.
	PSC         bool
	PscName     string
	PscType     string
	LivenessURL string
	Liveness    bool // the liveness step has started
}

var checkLabels = map[string]string{
	CheckIdentityDocument: "Identity document and liveness (IDENTITY_DOCUMENT_VERIFICATION)",
	CheckNameMatch:        "Name on the ID matches the user (IDV_NAME_MATCH_CHECK)",
	CheckAge:              "Age check (IDV_AGE_CHECK)",
	CheckBusiness:         "Business registry and KYB documents (BUSINESS_VERIFICATION)",
	CheckBusinessName:     "Business name matches the registry (BUSINESS_NAME_MATCH)",
	CheckBusinessInsights: "Business insights (BUSINESS_INSIGHTS_MATCH)",
	CheckPscRole:          "Declared persons' roles match the registry (PSC_ROLE_CHECK)",
	CheckPscConsistency:   "Declared persons are consistent (PSC_CONSISTENCY_CHECK)",
}

func (s *Sandbox) serveHosted(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, hostedPrefix)
	clientPart, action, _ := strings.Cut(rest, "/")
	if clientPart != s.clientHex() {
		http.NotFound(w, r)
		return
	}
	switch {
	case action == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.renderHosted(w, r.URL.Query().Get("sessionId"), http.StatusOK, "")
	case action == "submit" && r.Method == http.MethodPost:
		s.submitHosted(w, r)
	case action == "liveness" && r.Method == http.MethodPost:
		s.startLivenessHosted(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Sandbox) renderHosted(w http.ResponseWriter, key string, status int, msg string) {
	s.mu.Lock()
	if p, isPsc := s.st.pscsByKey[key]; isPsc {
		page := hostedPage{
			SessionKey: key, SessionID: p.sessionID, Status: p.Status, UserKind: "PSC",
			ExpiresAt: time.Unix(p.linkDate, 0).Add(pscLifetime).UTC().Format(time.RFC1123),
			Open:      p.Status == PscPendingValidation && !p.submitted, Submitted: p.submitted, Message: msg,
			SubmitURL: hostedPrefix + s.clientHex() + "/submit", LivenessURL: hostedPrefix + s.clientHex() + "/liveness",
			PSC: true, PscName: p.FirstName + " " + p.LastName, PscType: p.PscType, Liveness: p.livenessAt != nil,
			Checks: []hostedCheck{{Type: pscLivenessCheck, Label: "Liveness check of the person of significant control"}},
		}
		if ss := s.st.sessions[p.mainSessionID]; ss != nil {
			page.ReturnURL = ss.ReturnURL
		}
		s.mu.Unlock()
		s.writeHosted(w, status, page)
		return
	}
	ss, found := s.st.sessionsByKey[key]
	if !found {
		s.mu.Unlock()
		http.Error(w, "This verification link is not valid.", http.StatusNotFound)
		return
	}
	u := s.st.users[ss.UserID]
	withPscs := s.hasPscsLocked(u)
	var persons []PscPerson
	if withPscs {
		persons = append(slices.Clone(declaredPersons(u)), PscPerson{PscType: PscTypeUBO}, PscPerson{PscType: PscTypeUBO})
	}
	declared := declaredData(u)
	var data []hostedData
	for _, t := range verifiedDataTypes(u) {
		v := ""
		if p := declared[t]; p != nil {
			v = *p
		}
		data = append(data, hostedData{Type: t, Value: v})
	}
	page := hostedPage{
		SessionKey: key, SessionID: ss.ID, Language: ss.language, UserKind: u.kind(), Status: ss.Status, ReturnURL: ss.ReturnURL,
		ExpiresAt: ss.expiresAt.UTC().Format(time.RFC1123),
		Open:      ss.Status == "PENDING" && !ss.submitted, Submitted: ss.submitted, Message: msg,
		SubmitURL: hostedPrefix + s.clientHex() + "/submit", Data: data, Persons: persons,
	}
	s.mu.Unlock()
	for _, t := range checksFor(page.UserKind, withPscs) {
		page.Checks = append(page.Checks, hostedCheck{Type: t, Label: checkLabels[t], DependsOn: dependsOn[t], Reasons: refusalReasons[t]})
	}
	s.writeHosted(w, status, page)
}

func (s *Sandbox) writeHosted(w http.ResponseWriter, status int, page hostedPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := hostedTmpl.Execute(w, page); err != nil {
		s.log.Error("render hosted page", "err", err)
	}
}

// submitHosted takes the form: one select per check ("check.<TYPE>") and a
// reason per refused check ("reason.<TYPE>"), then redirects to the ReturnUrl
// before the outcome is known, as the real page does.
func (s *Sandbox) submitHosted(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	key := r.PostForm.Get("sessionId")
	s.mu.Lock()
	if p, isPsc := s.st.pscsByKey[key]; isPsc {
		id, returnURL := p.ID, ""
		if ss := s.st.sessions[p.mainSessionID]; ss != nil {
			returnURL = ss.ReturnURL
		}
		s.mu.Unlock()
		// The main page's vocabulary (REFUSED) is accepted for REJECTED so
		// one form filler serves both kinds of page.
		outcome := r.PostForm.Get("check." + pscLivenessCheck)
		if outcome == refused {
			outcome = PscRejected
		}
		if outcome == PscAbandoned {
			outcome = "" // only Mangopay abandons a PSC session
		}
		if err := s.DecidePsc(id, outcome); err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrWrongState) {
				status = http.StatusConflict
			}
			s.renderHosted(w, key, status, err.Error())
			return
		}
		http.Redirect(w, r, returnURL, http.StatusSeeOther)
		return
	}
	ss, found := s.st.sessionsByKey[key]
	var id, returnURL, kind string
	var withPscs bool
	var current []PscPerson
	data := map[string]string{}
	if found {
		u := s.st.users[ss.UserID]
		id, returnURL, kind, withPscs = ss.ID, ss.ReturnURL, u.kind(), s.hasPscsLocked(u)
		current = slices.Clone(declaredPersons(u))
		// A field left empty keeps the declared value.
		for _, t := range verifiedDataTypes(u) {
			if v := strings.TrimSpace(r.PostForm.Get("data." + t)); v != "" {
				data[t] = v
			}
		}
	}
	s.mu.Unlock()
	if !found {
		http.Error(w, "This verification link is not valid.", http.StatusNotFound)
		return
	}
	persons, err := formPersons(r.PostForm)
	if err != nil {
		s.renderHosted(w, key, http.StatusBadRequest, err.Error())
		return
	}
	// The page only shows names and roles: a person already declared keeps
	// the rest of their data (email, birthdate, countries).
	for i, p := range persons {
		for _, c := range current {
			if strings.EqualFold(p.FirstName, c.FirstName) && strings.EqualFold(p.LastName, c.LastName) {
				persons[i].Email, persons[i].DateOfBirth, persons[i].Country, persons[i].Nationality = c.Email, c.DateOfBirth, c.Country, c.Nationality
			}
		}
	}
	choices := map[string]Choice{}
	for _, t := range checksFor(kind, withPscs) {
		st := r.PostForm.Get("check." + t)
		if st == "" {
			continue
		}
		c := Choice{Status: st}
		if st == refused {
			c.Reason = r.PostForm.Get("reason." + t)
		}
		choices[t] = c
	}
	// The declaration goes first (an outcome may land at once and open the
	// PSC sessions) and is undone if the submission is refused.
	var previous []PscPerson
	declared := withPscs && len(persons) > 0
	if declared {
		previous = s.swapPersons(id, persons)
	}
	if err := s.SubmitVerification(id, choices, data); err != nil {
		if declared {
			s.swapPersons(id, previous)
		}
		status := http.StatusBadRequest
		if errors.Is(err, ErrWrongState) {
			status = http.StatusConflict
		}
		s.renderHosted(w, key, status, err.Error())
		return
	}
	http.Redirect(w, r, returnURL, http.StatusSeeOther)
}

// swapPersons sets the declared persons of a session's user and returns the
// ones it replaces.
func (s *Sandbox) swapPersons(sessionID string, persons []PscPerson) []PscPerson {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.st.sessions[sessionID]
	if ss == nil {
		return nil
	}
	u := s.st.users[ss.UserID]
	old := u.pscs
	u.pscs = persons
	return old
}

// formPersons reads the persons of significant control declared on a main
// page: rows of psc.FirstName, psc.LastName and psc.PscType; blank rows are
// skipped. No rows means no declaration (the legal representative).
func formPersons(form url.Values) ([]PscPerson, error) {
	first, last, types := form["psc.FirstName"], form["psc.LastName"], form["psc.PscType"]
	var out []PscPerson
	var errs []error
	for i := range first {
		p := PscPerson{FirstName: strings.TrimSpace(first[i])}
		if i < len(last) {
			p.LastName = strings.TrimSpace(last[i])
		}
		if i < len(types) {
			p.PscType = types[i]
		}
		if p.FirstName == "" && p.LastName == "" {
			continue
		}
		errs = append(errs, p.validate(len(out)))
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) > maxPscs {
		return nil, fmt.Errorf("declare at most %d persons", maxPscs)
	}
	return out, nil
}

// pscLivenessCheck names the one choice of a PSC page.
const pscLivenessCheck = "PSC_LIVENESS"

// startLivenessHosted is the PSC page's "start" button: the QR code of the
// liveness step is shown, and the one-hour limit starts.
func (s *Sandbox) startLivenessHosted(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	key := r.PostForm.Get("sessionId")
	s.mu.Lock()
	p, found := s.st.pscsByKey[key]
	var id string
	if found {
		id = p.ID
	}
	s.mu.Unlock()
	if !found {
		http.Error(w, "This verification link is not valid.", http.StatusNotFound)
		return
	}
	status, msg := http.StatusOK, ""
	if err := s.StartPscLiveness(id); err != nil {
		status, msg = http.StatusConflict, err.Error()
	}
	s.renderHosted(w, key, status, msg)
}

// serveSCA stands in for Mangopay's SCA enrolment page: opening the link
// completes the enrolment, activates the user and sends the user on to the
// ReturnUrl the platform appended, if any.
func (s *Sandbox) serveSCA(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	s.mu.Lock()
	userID, found := s.st.scaTokens[tok]
	if found {
		delete(s.st.scaTokens, tok)
		if u := s.st.users[userID]; u != nil && u.UserStatus == "PENDING_USER_ACTION" {
			u.UserStatus = "ACTIVE"
			now := s.clock.Now().Unix()
			u.TermsAndConditionsAcceptedDate = &now
			s.emitLocked("USER_ACCOUNT_ACTIVATED", u.ID)
		}
	}
	s.mu.Unlock()
	if !found {
		http.Error(w, "This SCA link is not valid or was already used.", http.StatusNotFound)
		return
	}
	if ret := r.URL.Query().Get("ReturnUrl"); ret != "" && (strings.HasPrefix(ret, "http://") || strings.HasPrefix(ret, "https://")) {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("SCA enrolment completed (simulated). The user is now ACTIVE.\n"))
}
