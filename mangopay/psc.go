package mangopay

import (
	"context"
	"net/http"
	"strings"
)

// PSC is the session of one person of significant control (a UBO of 25% or
// more, or a legal representative) of a BUSINESS or ORGANIZATION user. Since
// 2026-11-04 Mangopay opens PSC sessions once the user's main IDV session is
// VALIDATED; each person does their own liveness check at HostedURL
// (Mangopay emails them the link unless the platform opted to send it). The
// user's KYCLevel becomes REGULAR once every PSC is VALIDATED.
type PSC struct {
	// ID looks like psc_x_01KZXBT5F8FGGSK9JXGCYMNWRP.
	ID           string    `json:"Id"`
	Tag          string    `json:"Tag"`
	CreationDate Timestamp `json:"CreationDate"`
	FirstName    string    `json:"FirstName"`
	LastName     string    `json:"LastName"`
	Email        string    `json:"Email"`
	// DateOfBirth is nil when unknown.
	DateOfBirth *Timestamp `json:"DateOfBirth"`
	// Country and Nationality are ISO 3166-1 alpha-2 codes.
	Country     string `json:"Country"`
	Nationality string `json:"Nationality"`
	// PscType is the person's role; Mangopay has not published its values.
	PscType string    `json:"PscType"`
	Status  PSCStatus `json:"Status"`
	// ValidationDate is set once the PSC is VALIDATED.
	ValidationDate *Timestamp `json:"ValidationDate"`
	// HostedURL is the person's own verification link.
	HostedURL string `json:"HostedUrl"`
	// Data holds the verified data of a VALIDATED PSC (FIRST_NAME, …).
	Data       []CheckData `json:"Data"`
	LastUpdate *Timestamp  `json:"LastUpdate"`
	// SessionID is the PSC's own session and MainSessionID the user's main
	// IDV session; both are only in ListUserPSCs results.
	SessionID     string `json:"SessionId"`
	MainSessionID string `json:"MainSessionId"`
}

// PSCStatus is the Status of a PSC session.
type PSCStatus string

// Known PSC statuses.
const (
	// PSCPendingValidation means the person has not completed the session.
	PSCPendingValidation PSCStatus = "PENDING_VALIDATION"
	// PSCValidated means the person is verified.
	PSCValidated PSCStatus = "VALIDATED"
	// PSCRejected means the checks failed or the session timed out (7 days
	// after creation, or 1 hour after the liveness step started); it can be
	// retried.
	PSCRejected PSCStatus = "REJECTED"
	// PSCAbandoned means Mangopay dropped the session (for example a
	// duplicate); it cannot be retried.
	PSCAbandoned PSCStatus = "ABANDONED"
)

// Normalize maps REFUSED (the main sessions' word) to REJECTED.
func (s PSCStatus) Normalize() PSCStatus {
	if strings.EqualFold(string(s), "REFUSED") {
		return PSCRejected
	}
	return s
}

// IsFinal reports whether the person is done: VALIDATED, REJECTED or
// ABANDONED. PENDING_VALIDATION and unknown values are not final.
func (s PSCStatus) IsFinal() bool {
	switch s.Normalize() {
	case PSCValidated, PSCRejected, PSCAbandoned:
		return true
	default:
		return false
	}
}

// CanRetry reports whether RetryPSC accepts the PSC: anything but
// ABANDONED.
func (s PSCStatus) CanRetry() bool {
	return s.Normalize() != PSCAbandoned
}

// AllPSCsValidated reports whether every PSC of the list is VALIDATED (and
// there is at least one).
func AllPSCsValidated(pscs []PSC) bool {
	if len(pscs) == 0 {
		return false
	}
	for _, p := range pscs {
		if p.Status != PSCValidated {
			return false
		}
	}
	return true
}

// RetryPSCParams optionally corrects the person's data when retrying a PSC
// session. Empty fields are not sent; a zero RetryPSCParams sends {}.
type RetryPSCParams struct {
	FirstName   string     `json:"FirstName,omitempty"`
	LastName    string     `json:"LastName,omitempty"`
	Email       string     `json:"Email,omitempty"`
	DateOfBirth *Timestamp `json:"DateOfBirth,omitempty"`
}

// RetryPSC retries a PSC session (PUT
// /identity-verifications/{IdvSessionId}/pscs/{PscId}/retry) and returns the
// PSC: with its existing HostedURL while PENDING_VALIDATION, with a new one
// after VALIDATED or REJECTED. Mangopay refuses an ABANDONED PSC with a 400
// (permanent); a missing PSC can only be added by Mangopay. params may be
// nil.
func (c *Client) RetryPSC(ctx context.Context, sessionID, pscID string, params *RetryPSCParams) (*PSC, error) {
	ep := &endpoint{method: http.MethodPut, tmpl: "/identity-verifications/{IdvSessionId}/pscs/{PscId}/retry"}
	sid, err := pathID("identity verification id", sessionID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	pid, err := pathID("psc id", pscID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	if params == nil {
		params = &RetryPSCParams{}
	}
	ep.path = "/identity-verifications/" + sid + "/pscs/" + pid + "/retry"
	ep.body = params
	return doResource[PSC](ctx, c, ep)
}

// ListUserPSCs lists every PSC session of a user, across its main sessions
// (GET /users/{UserId}/pscs). opts may be nil.
func (c *Client) ListUserPSCs(ctx context.Context, userID string, opts *ListOptions) ([]PSC, *Pagination, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/users/{UserId}/pscs"}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, nil, ep.wrap(err)
	}
	ep.path = "/users/" + id + "/pscs"
	return doList[PSC](ctx, c, ep, opts)
}

// IsPSCID reports whether id is a PSC's ID (psc_…) rather than a session's
// (idnver_…), for routing webhooks whose RessourceId may be either.
func IsPSCID(id string) bool {
	return strings.HasPrefix(id, "psc_")
}
