package mangopay

import (
	"context"
	"net/http"
	"slices"
)

// IdentityVerification is a hosted IDV session (KYC/KYB). The create
// response carries only ID, Tag, CreationDate, HostedURL, Status and
// ReturnURL; list responses carry only ID, Status, CreationDate and
// LastUpdate.
type IdentityVerification struct {
	ID  string `json:"Id"`
	Tag string `json:"Tag"`
	// HostedURL is where to redirect the user to run the session.
	HostedURL string `json:"HostedUrl"`
	// ReturnURL is where the hosted session sends the user back.
	ReturnURL    string                     `json:"ReturnUrl"`
	Status       IdentityVerificationStatus `json:"Status"`
	UserID       string                     `json:"UserId"`
	CreationDate Timestamp                  `json:"CreationDate"`
	// LastUpdate is nil on a session that never changed (in list responses).
	LastUpdate *Timestamp `json:"LastUpdate"`
	// Checks is empty while the session is PENDING. Checks are not updated
	// after a manual review, so a VALIDATED session may list REFUSED checks.
	Checks []Check `json:"Checks"`
	// PSCs are the PSC sessions a VALIDATED main session of a BUSINESS or
	// ORGANIZATION user opened (2026); empty otherwise.
	PSCs []PSC `json:"PSCs"`
}

// PSC returns the PSC of the session with the given ID.
func (v *IdentityVerification) PSC(id string) (PSC, bool) {
	for _, p := range v.PSCs {
		if p.ID == id {
			return p, true
		}
	}
	return PSC{}, false
}

// Check returns the first check of type t.
func (v *IdentityVerification) Check(t CheckType) (Check, bool) {
	for _, c := range v.Checks {
		if c.Type == t {
			return c, true
		}
	}
	return Check{}, false
}

// Check is one verification step of an IDV session.
type Check struct {
	CheckID      string      `json:"CheckId"`
	Type         CheckType   `json:"Type"`
	CheckStatus  CheckStatus `json:"CheckStatus"`
	CreationDate Timestamp   `json:"CreationDate"`
	LastUpdate   Timestamp   `json:"LastUpdate"`
	// Data holds the data verified by the check.
	Data []CheckData `json:"Data"`
	// Reasons explains a refusal.
	Reasons []CheckReason `json:"Reasons"`
}

// Value returns the value of the first data point of type dataType (for
// example CheckDataFirstName). It reports false when the point is absent or
// null.
func (c *Check) Value(dataType string) (string, bool) {
	for _, d := range c.Data {
		if d.Type == dataType && d.Value != nil {
			return *d.Value, true
		}
	}
	return "", false
}

// CheckData is one verified data point. Value is a string even for dates
// (Unix seconds, for example "775958800") and may be null or empty.
type CheckData struct {
	Type  string  `json:"Type"`
	Value *string `json:"Value"`
}

// CheckReason is one refusal reason of a check. Type is a RefusedReasonType
// value; Value is a preset text or a reviewer's comment.
type CheckReason struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// CreateIdentityVerificationParams creates an IDV session.
type CreateIdentityVerificationParams struct {
	// ReturnURL is where the hosted session sends the user back. Required.
	ReturnURL string `json:"ReturnUrl"`
	Tag       string `json:"Tag,omitempty"`
	// SessionLanguage is the language of the hosted page (since 2026-09-15);
	// empty lets Mangopay choose. Mangopay refuses values other than the
	// SessionLanguage constants with a 400; the value is not echoed back, but
	// the HostedURL carries it as lng=.
	SessionLanguage SessionLanguage `json:"SessionLanguage,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header when set.
	IdempotencyKey string `json:"-"`
}

// SessionLanguage is the language of a hosted IDV session.
type SessionLanguage string

// The session languages Mangopay accepts.
const (
	SessionLanguageGerman            SessionLanguage = "de-DE"
	SessionLanguageEnglish           SessionLanguage = "en-US"
	SessionLanguageSpanish           SessionLanguage = "es-ES"
	SessionLanguageFrench            SessionLanguage = "fr-FR"
	SessionLanguageItalian           SessionLanguage = "it-IT"
	SessionLanguageDutch             SessionLanguage = "nl-NL"
	SessionLanguagePortuguese        SessionLanguage = "pt-PT"
	SessionLanguageChineseSimplified SessionLanguage = "zh-Hans-CN"
)

// SessionLanguages lists the accepted session languages.
var SessionLanguages = []SessionLanguage{
	SessionLanguageGerman, SessionLanguageEnglish, SessionLanguageSpanish, SessionLanguageFrench,
	SessionLanguageItalian, SessionLanguageDutch, SessionLanguagePortuguese, SessionLanguageChineseSimplified,
}

// IsKnown reports whether l is one of the accepted languages (exact case).
// The client sends any value as given; use IsKnown to reject bad input
// before calling Mangopay.
func (l SessionLanguage) IsKnown() bool {
	return slices.Contains(SessionLanguages, l)
}

// CreateIdentityVerification creates a hosted IDV session for an OWNER user
// (POST /users/{UserId}/identity-verifications). Redirect the user to
// HostedURL; the outcome arrives later through IDENTITY_VERIFICATION_*
// webhooks.
func (c *Client) CreateIdentityVerification(ctx context.Context, userID string, params *CreateIdentityVerificationParams) (*IdentityVerification, error) {
	ep := &endpoint{method: http.MethodPost, tmpl: "/users/{UserId}/identity-verifications"}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	ep.path = "/users/" + id + "/identity-verifications"
	ep.body, ep.idempotencyKey = params, params.IdempotencyKey
	return doResource[IdentityVerification](ctx, c, ep)
}

// GetIdentityVerification returns an IDV session with its checks (GET
// /identity-verifications/{IdvSessionId}).
func (c *Client) GetIdentityVerification(ctx context.Context, id string) (*IdentityVerification, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/identity-verifications/{IdvSessionId}"}
	escaped, err := pathID("identity verification id", id)
	if err != nil {
		return nil, ep.wrap(err)
	}
	ep.path = "/identity-verifications/" + escaped
	return doResource[IdentityVerification](ctx, c, ep)
}

// ListIdentityVerifications lists a user's IDV sessions in their reduced
// shape (GET /users/{UserId}/identity-verifications).
func (c *Client) ListIdentityVerifications(ctx context.Context, userID string, opts *ListOptions) ([]IdentityVerification, *Pagination, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/users/{UserId}/identity-verifications"}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, nil, ep.wrap(err)
	}
	ep.path = "/users/" + id + "/identity-verifications"
	return doList[IdentityVerification](ctx, c, ep, opts)
}
