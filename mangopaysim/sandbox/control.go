package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ctlFunc is a control API handler; it returns a status and a JSON body.
type ctlFunc func(r *http.Request, p params, body []byte) (int, any)

// ctlError is the control API's error body.
type ctlError struct {
	Error string `json:"Error"`
}

func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if !s.cfg.AllowRemoteControl && !isLoopback(r.RemoteAddr) {
		writeJSON(http.StatusForbidden, ctlError{"the control API only answers loopback clients"})
		return
	}
	h, p, _, matched, found := s.ctl.match(r.Method, r.URL.Path)
	if !matched {
		if found {
			writeJSON(http.StatusMethodNotAllowed, ctlError{r.Method + " is not allowed on " + r.URL.Path})
			return
		}
		writeJSON(http.StatusNotFound, ctlError{"no control endpoint at " + r.URL.Path})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSON(http.StatusRequestEntityTooLarge, ctlError{"request body too large"})
		return
	}
	status, v := h(r, p, body)
	writeJSON(status, v)
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ctlDecode parses a strict JSON body: unknown fields are errors so a typo
// in a test does not silently do nothing.
func ctlDecode(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("invalid JSON body: " + err.Error())
	}
	return nil
}

// ctlFail maps the simulator's errors to statuses.
func ctlFail(err error) (int, any) {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, ctlError{err.Error()}
	case errors.Is(err, ErrWrongState):
		return http.StatusConflict, ctlError{err.Error()}
	default:
		return http.StatusBadRequest, ctlError{err.Error()}
	}
}

// OutcomeRequest is the body of POST /_sim/identity-verifications/{id}/outcome:
// either a one-word Outcome (with an optional Reason) or a status per check.
type OutcomeRequest struct {
	Outcome string            `json:"Outcome,omitempty"`
	Reason  string            `json:"Reason,omitempty"`
	Checks  map[string]string `json:"Checks,omitempty"`
	// Reasons optionally gives the reason type of each refused check.
	Reasons map[string]string `json:"Reasons,omitempty"`
	// Data optionally sets the verified data where it differs from what the
	// user declared, by Data type: FIRST_NAME, LAST_NAME, BIRTHDATE (Unix
	// seconds) for natural users; COMPANY_NAME, COMPANY_NUMBER and
	// LEGAL_REPRESENTATIVE_FIRST_NAME, _LAST_NAME, _BIRTHDATE for legal ones.
	Data map[string]string `json:"Data,omitempty"`
}

// choices turns the request into per-check choices for a user kind.
func (o OutcomeRequest) choices(kind string) (map[string]Choice, error) {
	if (o.Outcome == "") == (len(o.Checks) == 0) {
		return nil, errors.Join(ErrInvalidOutcome, errors.New("give either Outcome or Checks"))
	}
	out := map[string]Choice{}
	if len(o.Checks) > 0 {
		if o.Reason != "" {
			return nil, errors.Join(ErrInvalidOutcome, errors.New("Reason goes with Outcome; use Reasons with Checks"))
		}
		for name, st := range o.Checks {
			out[name] = Choice{Status: st, Reason: o.Reasons[name]}
		}
		for name := range o.Reasons {
			if _, ok := o.Checks[name]; !ok {
				return nil, errors.Join(ErrInvalidOutcome, errors.New("Reasons names check "+name+" that is not in Checks"))
			}
		}
		return out, nil
	}
	switch o.Outcome {
	case validated:
		if o.Reason != "" {
			return nil, errors.Join(ErrInvalidOutcome, errors.New("a VALIDATED outcome takes no Reason"))
		}
	case refused:
		// Refusing the ID document refuses the session for every user type.
		reason := o.Reason
		if reason != "" && !slices.Contains(refusalReasons[CheckIdentityDocument], reason) {
			return nil, errors.Join(ErrInvalidOutcome, errors.New("Reason for a one-word REFUSED must be one of "+
				strings.Join(refusalReasons[CheckIdentityDocument], ", ")+"; use Checks to refuse another check"))
		}
		out[CheckIdentityDocument] = Choice{Status: refused, Reason: reason}
	case review:
		if kind == "NATURAL" {
			return nil, errors.Join(ErrInvalidOutcome, errors.New("natural users never go to REVIEW: only legal users do"))
		}
		reason := o.Reason
		if reason != "" && !slices.Contains(refusalReasons[CheckBusiness], reason) {
			return nil, errors.Join(ErrInvalidOutcome, errors.New("Reason for REVIEW must be one of "+strings.Join(refusalReasons[CheckBusiness], ", ")))
		}
		out[CheckBusiness] = Choice{Status: refused, Reason: reason}
	default:
		return nil, errors.Join(ErrInvalidOutcome, errors.New("Outcome must be VALIDATED, REFUSED or REVIEW, got "+o.Outcome))
	}
	return out, nil
}

func (s *Sandbox) ctlOutcome(_ *http.Request, p params, body []byte) (int, any) {
	var o OutcomeRequest
	if err := ctlDecode(body, &o); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	id := p["id"]
	kind, err := s.sessionUserKind(id)
	if err != nil {
		return ctlFail(err)
	}
	choices, err := o.choices(kind)
	if err != nil {
		return ctlFail(err)
	}
	if err := s.SubmitVerification(id, choices, o.Data); err != nil {
		return ctlFail(err)
	}
	return s.sessionSnapshot(id)
}

func (s *Sandbox) sessionUserKind(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, found := s.st.sessions[id]
	if !found {
		return "", errors.Join(ErrNotFound, errors.New("IDV session "+id))
	}
	return s.st.users[ss.UserID].kind(), nil
}

// sessionSnapshot answers with the session as the API shows it now.
func (s *Sandbox) sessionSnapshot(id string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.st.sessions[id]
	return http.StatusOK, struct {
		sessionView
		OutcomePending bool `json:"OutcomePending"`
	}{ss.view(), ss.submitted}
}

// ReviewRequest is the body of POST /_sim/identity-verifications/{id}/review.
type ReviewRequest struct {
	Decision string `json:"Decision"`
	Comment  string `json:"Comment,omitempty"`
}

func (s *Sandbox) ctlReview(_ *http.Request, p params, body []byte) (int, any) {
	var rq ReviewRequest
	if err := ctlDecode(body, &rq); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if err := s.DecideReview(p["id"], rq.Decision, rq.Comment); err != nil {
		return ctlFail(err)
	}
	return s.sessionSnapshot(p["id"])
}

// ctlExpire ends one pending session's lifetime now (Expire).
func (s *Sandbox) ctlExpire(_ *http.Request, p params, _ []byte) (int, any) {
	if err := s.Expire(p["id"]); err != nil {
		return ctlFail(err)
	}
	return s.sessionSnapshot(p["id"])
}

func (s *Sandbox) ctlDowngrade(_ *http.Request, p params, _ []byte) (int, any) {
	if err := s.Downgrade(p["userId"]); err != nil {
		return ctlFail(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, s.st.users[p["userId"]].view(true, "")
}

// ClockResponse tells the simulated time.
type ClockResponse struct {
	Now  time.Time `json:"Now"`
	Unix int64     `json:"Unix"`
}

// AdvanceRequest is the body of POST /_sim/clock/advance.
type AdvanceRequest struct {
	Seconds int64 `json:"Seconds"`
}

func (s *Sandbox) ctlAdvance(_ *http.Request, _ params, body []byte) (int, any) {
	var rq AdvanceRequest
	if err := ctlDecode(body, &rq); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if rq.Seconds <= 0 || rq.Seconds > 10*365*86400 {
		return http.StatusBadRequest, ctlError{"Seconds must be a positive number of seconds (at most ten years); the clock only moves forward"}
	}
	now := s.Advance(time.Duration(rq.Seconds) * time.Second)
	return http.StatusOK, ClockResponse{Now: now, Unix: now.Unix()}
}

// Advance moves the simulated clock forward and runs everything that became
// due (expiries, delayed outcomes, webhook retries) before returning.
func (s *Sandbox) Advance(d time.Duration) time.Time {
	now := s.clock.Advance(d)
	s.sched.RunDue()
	return now
}

func (s *Sandbox) ctlClock(*http.Request, params, []byte) (int, any) {
	now := s.clock.Now()
	return http.StatusOK, ClockResponse{Now: now, Unix: now.Unix()}
}

func (s *Sandbox) ctlSetFaults(_ *http.Request, _ params, body []byte) (int, any) {
	var f Faults
	if err := ctlDecode(body, &f); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if err := f.validate(); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	s.SetFaults(f)
	return http.StatusOK, f
}

// SetFaults replaces the injected faults.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

func (s *Sandbox) ctlGetFaults(*http.Request, params, []byte) (int, any) {
	return http.StatusOK, s.currentFaults()
}

func (s *Sandbox) ctlSetSettings(_ *http.Request, _ params, body []byte) (int, any) {
	set := s.currentSettings()
	// Fields absent from the body keep their value.
	if err := ctlDecode(body, &set); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	if err := set.validate(); err != nil {
		return http.StatusBadRequest, ctlError{err.Error()}
	}
	s.mu.Lock()
	s.settings = set
	s.mu.Unlock()
	return http.StatusOK, set
}

func (set Settings) validate() error {
	var errs []error
	if set.ReturnURLMaxLength < 10 || set.ReturnURLMaxLength > 2048 {
		errs = append(errs, errors.New("ReturnUrlMaxLength must be between 10 and 2048"))
	}
	if set.OutcomeDelaySeconds < 0 || set.KycProcessingDelaySeconds < 0 {
		errs = append(errs, errors.New("delays cannot be negative"))
	}
	if set.TokenTTLSeconds < 1 {
		errs = append(errs, errors.New("TokenTtlSeconds must be positive"))
	}
	if set.WebhookTimeoutSeconds <= 0 || set.WebhookTimeoutSeconds > 60 {
		errs = append(errs, errors.New("WebhookTimeoutSeconds must be in (0, 60]"))
	}
	if set.PscRejectedEventType != EventPscRejected && set.PscRejectedEventType != EventPscFailed {
		errs = append(errs, errors.New("PscRejectedEventType must be "+EventPscRejected+" or "+EventPscFailed))
	}
	if set.PscEventResource != PscResourcePSC && set.PscEventResource != PscResourceSession {
		errs = append(errs, errors.New("PscEventResource must be PSC or SESSION"))
	}
	if set.SessionLifetimeSeconds <= 0 || set.SessionLifetimeSeconds > sessionLifetime.Seconds() {
		errs = append(errs, fmt.Errorf("SessionLifetimeSeconds must be in (0, %.0f] (Mangopay's 7 days at most)", sessionLifetime.Seconds()))
	}
	if set.KycRenewalPeriodDays <= renewalNoticeDays || set.KycRenewalPeriodDays > maxRenewalDays {
		errs = append(errs, fmt.Errorf("KycRenewalPeriodDays must be in (%d, %d]: USER_KYC_RENEWAL_REQUIRED comes %d days before the deadline",
			renewalNoticeDays, maxRenewalDays, renewalNoticeDays))
	}
	for _, n := range set.RateLimits {
		if n < 1 {
			errs = append(errs, errors.New("every RateLimits window needs a positive limit"))
			break
		}
	}
	return errors.Join(errs...)
}

// Settings returns a copy of the current settings (a test that changes one
// puts them back).
func (s *Sandbox) Settings() Settings { return s.currentSettings() }

// SetSettings replaces the settings (tests use it to shorten delays).
func (s *Sandbox) SetSettings(set Settings) error {
	set = set.withDefaultChoices()
	if err := set.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.settings = set
	s.mu.Unlock()
	return nil
}

func (s *Sandbox) ctlGetSettings(*http.Request, params, []byte) (int, any) {
	return http.StatusOK, s.currentSettings()
}

func (s *Sandbox) ctlWebhooks(r *http.Request, _ params, _ []byte) (int, any) {
	q := r.URL.Query()
	return http.StatusOK, s.Deliveries(q.Get("EventType"), q.Get("ResourceId"))
}

// ctlCalls answers APICalls: how a simulator run in its own process (the
// load harness) is asked what the Mangopay calls cost.
func (s *Sandbox) ctlCalls(*http.Request, params, []byte) (int, any) {
	return http.StatusOK, s.APICalls()
}

// Deliveries returns the delivery log, optionally filtered.
func (s *Sandbox) Deliveries(eventType, resourceID string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Delivery{}
	for _, d := range s.st.deliveries {
		if (eventType == "" || d.EventType == eventType) && (resourceID == "" || d.ResourceID == resourceID) {
			out = append(out, d)
		}
	}
	return out
}

func (s *Sandbox) ctlReset(*http.Request, params, []byte) (int, any) {
	s.Reset()
	return http.StatusOK, map[string]string{"Status": "reset"}
}

// Reset forgets every user, session, document, hook, event, token and
// pending task, and clears the faults. Settings and the clock are kept.
func (s *Sandbox) Reset() {
	s.sched.Reset()
	s.mu.Lock()
	s.st = newState()
	s.faults = Faults{}
	s.limits = rateWindows{}
	s.calls = map[string]int{}
	s.callLog, s.callsDropped = nil, 0
	s.mu.Unlock()
}
