package mangopay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Date is a calendar day (UTC), such as KycRenewalDeadline and LastKycDate,
// sent by Mangopay as "YYYY-MM-DD". Decoding also accepts an RFC 3339 time
// or Unix seconds, since the 2026 fields' shape is only partly published.
// The zero Date means unset; JSON null and "" decode to it.
type Date struct {
	time.Time
}

// dateLayout is Mangopay's date-only format.
const dateLayout = "2006-01-02"

// String formats d as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(dateLayout)
}

// MarshalJSON encodes d as "YYYY-MM-DD", or null when unset.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.Format(dateLayout))
}

// UnmarshalJSON decodes "YYYY-MM-DD", an RFC 3339 time, or Unix seconds
// (number or string); null and "" leave d unset.
func (d *Date) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		*d = Date{}
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("date: %w", err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*d = Date{}
			return nil
		}
		for _, layout := range []string{dateLayout, time.RFC3339} {
			if t, err := time.Parse(layout, s); err == nil {
				*d = Date{dayOf(t)}
				return nil
			}
		}
		data = []byte(s)
	}
	var ts Timestamp
	if err := ts.UnmarshalJSON(data); err != nil {
		return fmt.Errorf("date: %s is neither YYYY-MM-DD nor a Unix time", data)
	}
	*d = Date{dayOf(ts.Time())}
	return nil
}

func dayOf(t time.Time) time.Time {
	y, m, dd := t.UTC().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

// RegulatoryStatus is a user's regulatory status (GET
// /users/{UserId}/Regulatory): whether Mangopay blocks the user's flows and,
// since 2026, the continuous-KYC dates.
type RegulatoryStatus struct {
	// UserID is the user's ID ("Id" on the wire).
	UserID string `json:"Id"`
	// ActionCode explains a block (see Mangopay's "Blocked users" guide);
	// empty when the user is not blocked.
	ActionCode   string       `json:"ActionCode"`
	ScopeBlocked ScopeBlocked `json:"ScopeBlocked"`
	KYC          KYCInformation
}

// ScopeBlocked says which payment flows Mangopay blocks for a user.
type ScopeBlocked struct {
	// Inflows is true when pay-ins and transfers are blocked.
	Inflows bool `json:"Inflows"`
	// Outflows is true when payouts and transfers are blocked.
	Outflows bool `json:"Outflows"`
}

// KYCInformation holds the dates of Mangopay's continuous KYC/KYB renewal.
type KYCInformation struct {
	// LastKYCDate is the day of the user's last successful verification;
	// zero when never verified.
	LastKYCDate Date `json:"LastKycDate"`
	// RenewalDeadline is the KycRenewalDeadline: the last day the user stays
	// verified without renewing (Mangopay sends USER_KYC_RENEWAL_REQUIRED 90
	// days before it and downgrades the user once it has passed); zero when
	// no renewal is scheduled.
	RenewalDeadline Date `json:"KycRenewalDeadline"`
}

// UnmarshalJSON reads the KYC dates from the documented KycInformation
// object and, when that is absent, from top-level KycRenewalDeadline and
// LastKycDate fields: the release notes name the fields without showing
// where they sit.
func (r *RegulatoryStatus) UnmarshalJSON(data []byte) error {
	var wire struct {
		UserID         string          `json:"Id"`
		ActionCode     *string         `json:"ActionCode"`
		ScopeBlocked   *ScopeBlocked   `json:"ScopeBlocked"`
		KycInformation *KYCInformation `json:"KycInformation"`
		LastKycDate    Date            `json:"LastKycDate"`
		Deadline       Date            `json:"KycRenewalDeadline"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	*r = RegulatoryStatus{UserID: wire.UserID}
	if wire.ActionCode != nil {
		r.ActionCode = *wire.ActionCode
	}
	if wire.ScopeBlocked != nil {
		r.ScopeBlocked = *wire.ScopeBlocked
	}
	if wire.KycInformation != nil {
		r.KYC = *wire.KycInformation
	}
	if r.KYC.LastKYCDate.IsZero() {
		r.KYC.LastKYCDate = wire.LastKycDate
	}
	if r.KYC.RenewalDeadline.IsZero() {
		r.KYC.RenewalDeadline = wire.Deadline
	}
	return nil
}

// MarshalJSON writes the documented shape, the dates in KycInformation.
func (r RegulatoryStatus) MarshalJSON() ([]byte, error) {
	var action *string
	if r.ActionCode != "" {
		action = &r.ActionCode
	}
	return json.Marshal(struct {
		UserID         string         `json:"Id"`
		ActionCode     *string        `json:"ActionCode"`
		ScopeBlocked   ScopeBlocked   `json:"ScopeBlocked"`
		KycInformation KYCInformation `json:"KycInformation"`
	}{r.UserID, action, r.ScopeBlocked, r.KYC})
}

// RenewalDue reports whether Mangopay has set a renewal deadline, and when
// the user stops being verified if not renewed: the end of the deadline day
// (UTC).
func (r *RegulatoryStatus) RenewalDue() (downgradeAt time.Time, ok bool) {
	if r.KYC.RenewalDeadline.IsZero() {
		return time.Time{}, false
	}
	return r.KYC.RenewalDeadline.AddDate(0, 0, 1), true
}

// GetRegulatoryStatus returns a user's regulatory status: the flows Mangopay
// blocks (ScopeBlocked) and the KYC renewal deadline (GET
// /users/{UserId}/Regulatory). The capital R is Mangopay's documented
// spelling, which every official SDK uses: its paths are case-sensitive.
func (c *Client) GetRegulatoryStatus(ctx context.Context, userID string) (*RegulatoryStatus, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/users/{UserId}/Regulatory"}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	ep.path = "/users/" + id + "/Regulatory"
	return doResource[RegulatoryStatus](ctx, c, ep)
}
