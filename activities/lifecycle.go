package activities

import (
	"context"
	"time"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
)

// PSCSummary is one PSC session without the person's data (names, email,
// birthdate stay at Mangopay): what the workflow and the platform API need.
type PSCSummary struct {
	PscID     string `json:"PscId"`
	PscType   string `json:"PscType,omitempty"`
	Status    string `json:"Status"`
	HostedURL string `json:"HostedUrl,omitempty"`
	// MainSessionID is the user's main IDV session the PSC belongs to
	// (empty when Mangopay does not say).
	MainSessionID string `json:"MainSessionId,omitempty"`
}

// ReadPSCsInput names the user whose PSC sessions to read.
type ReadPSCsInput struct {
	UserID string `json:"UserId"`
}

// ReadPSCsResult is what Mangopay says of a business's PSC sessions and of
// the user's level: VERIFIED means KYCLevel REGULAR.
type ReadPSCsResult struct {
	PSCs     []PSCSummary `json:"PSCs"`
	KYCLevel string       `json:"KYCLevel"`
}

// ReadPSCs lists the user's PSC sessions and reads the user's KYC level.
func (a *Activities) ReadPSCs(ctx context.Context, in ReadPSCsInput) (ReadPSCsResult, error) {
	var out ReadPSCsResult
	for page := 1; ; page++ {
		list, pg, err := a.Mangopay.ListUserPSCs(ctx, in.UserID, &mangopay.ListOptions{Page: page, PerPage: 100})
		if err != nil {
			return ReadPSCsResult{}, a.mangopayError(ctx, "list psc sessions", err)
		}
		for _, p := range list {
			out.PSCs = append(out.PSCs, PSCSummary{
				PscID: p.ID, PscType: p.PscType, Status: string(p.Status.Normalize()), HostedURL: p.HostedURL, MainSessionID: p.MainSessionID,
			})
			a.indexPSC(ctx, p.ID, in.UserID)
		}
		if len(list) < 100 || pg == nil || page >= pg.TotalPages {
			break
		}
	}
	// Mangopay's KYCLevel is the truth: it is always read. PSC sessions of
	// an earlier main session (a first attempt, a renewal) may stay
	// REJECTED or ABANDONED for ever without blocking the user.
	u, err := a.Mangopay.GetUserSCA(ctx, in.UserID)
	if err != nil {
		return ReadPSCsResult{}, a.mangopayError(ctx, "read user", err)
	}
	out.KYCLevel = string(u.KYCLevel)
	return out, nil
}

// indexPSC records PSC→user so that the bridge routes webhooks naming the
// PSC (and routes again those it held for want of it). Best effort: the
// workflow's reconciliation covers a miss.
func (a *Activities) indexPSC(ctx context.Context, pscID, userID string) {
	if pscID == "" || userID == "" {
		return
	}
	if err := a.Index.Put(ctx, routing.KindPSC, pscID, userID); err != nil {
		a.log().Warn("psc session not indexed", "psc_id", pscID, "error", err)
	}
}

// RetryPSCInput names the PSC session to retry and the main session it
// belongs to.
type RetryPSCInput struct {
	SessionID string `json:"SessionId"`
	PscID     string `json:"PscId"`
}

// RetryPSCResult is the PSC after the retry: a new link after REJECTED or
// VALIDATED, the same one while pending.
type RetryPSCResult struct {
	PSC PSCSummary `json:"PSC"`
}

// RetryPSC asks Mangopay for a new try of one PSC session. An ABANDONED PSC
// is refused by Mangopay (non-retryable).
func (a *Activities) RetryPSC(ctx context.Context, in RetryPSCInput) (RetryPSCResult, error) {
	p, err := a.Mangopay.RetryPSC(ctx, in.SessionID, in.PscID, nil)
	if err != nil {
		return RetryPSCResult{}, a.mangopayError(ctx, "retry psc session", err)
	}
	return RetryPSCResult{PSC: PSCSummary{PscID: p.ID, PscType: p.PscType, Status: string(p.Status.Normalize()), HostedURL: p.HostedURL, MainSessionID: in.SessionID}}, nil
}

// ReadRegulatoryInput names the user.
type ReadRegulatoryInput struct {
	UserID string `json:"UserId"`
}

// ReadRegulatoryResult is the user's KYC renewal: DowngradeAt is when the
// user stops being verified if not renewed (the end of the KycRenewalDeadline
// day, UTC); zero when no renewal is due.
type ReadRegulatoryResult struct {
	DowngradeAt time.Time `json:"DowngradeAt"`
	LastKYCDate string    `json:"LastKycDate,omitempty"`
	// InflowsBlocked and OutflowsBlocked are Mangopay's ScopeBlocked: the
	// user's pay-ins, or payouts, are blocked; ActionCode explains it.
	InflowsBlocked  bool   `json:"InflowsBlocked,omitempty"`
	OutflowsBlocked bool   `json:"OutflowsBlocked,omitempty"`
	ActionCode      string `json:"ActionCode,omitempty"`
}

// ReadRegulatory reads the user's regulatory status: the renewal deadline
// and the money flows Mangopay blocks.
func (a *Activities) ReadRegulatory(ctx context.Context, in ReadRegulatoryInput) (ReadRegulatoryResult, error) {
	r, err := a.Mangopay.GetRegulatoryStatus(ctx, in.UserID)
	if err != nil {
		return ReadRegulatoryResult{}, a.mangopayError(ctx, "read regulatory status", err)
	}
	out := ReadRegulatoryResult{
		InflowsBlocked: r.ScopeBlocked.Inflows, OutflowsBlocked: r.ScopeBlocked.Outflows, ActionCode: r.ActionCode,
	}
	if at, ok := r.RenewalDue(); ok {
		out.DowngradeAt = at
	}
	if !r.KYC.LastKYCDate.IsZero() {
		out.LastKYCDate = r.KYC.LastKYCDate.String()
	}
	return out, nil
}
