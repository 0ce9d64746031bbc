// Package attention finds the onboardings that need a person, through
// Temporal visibility and the workflow's search attributes: Mangopay
// denying kycflow access, an abandoned PSC session, notifications held
// undelivered, a manual review overdue, a renewal deadline less than a
// week away. The same queries are
// the Web UI's saved views (docs/operations.md), `starter needs-attention`
// lists them, and the worker counts them periodically for Prometheus
// (kycflow_onboardings_needing_attention), since no process holds these
// counts in memory.
package attention

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/workflows"
)

// Reason is why an onboarding needs a person; it labels the gauge.
type Reason string

// The reasons.
const (
	// AccessDenied: Mangopay refuses kycflow's credentials or permissions
	// and the onboarding waits on them (KycAttention).
	AccessDenied Reason = "mangopay_access_denied"
	// PSCAbandoned: Mangopay abandoned a PSC session of a business
	// (KycAttention): take it up with Mangopay.
	PSCAbandoned Reason = "psc_abandoned"
	// NotificationsUndelivered: the platform's notifications are held
	// undelivered (KycAttention): re-send them once it answers.
	NotificationsUndelivered Reason = "notifications_undelivered"
	// ReviewOverdue: in Mangopay's manual review for longer than the
	// workflow's default ReviewOverdueAfter (KycReviewSince).
	ReviewOverdue Reason = "review_overdue"
	// RenewalNear: a verified user's renewal deadline is less than
	// RenewalHorizon away and they are still RENEWAL_REQUIRED. The gauge
	// counts them all; the listing keeps those with no renewal session
	// open (no usable HostedUrl in their state).
	RenewalNear Reason = "renewal_deadline_near"
)

// Reasons lists them in the order the command prints them.
var Reasons = []Reason{AccessDenied, PSCAbandoned, NotificationsUndelivered, ReviewOverdue, RenewalNear}

// RenewalHorizon is how close a renewal deadline must be to need a person.
const RenewalHorizon = 7 * 24 * time.Hour

// Query is the visibility query of reason at now, over the onboardings
// still running.
func Query(r Reason, now time.Time) string {
	const running = `WorkflowType="` + workflows.WorkflowType + `" AND ExecutionStatus="Running" AND `
	switch r {
	case AccessDenied:
		return running + fmt.Sprintf("%s=%q", workflows.SearchAttrAttention.GetName(), workflows.AttentionAccessDenied)
	case PSCAbandoned:
		return running + fmt.Sprintf("%s=%q", workflows.SearchAttrAttention.GetName(), workflows.AttentionPSCAbandoned)
	case NotificationsUndelivered:
		return running + fmt.Sprintf("%s=%q", workflows.SearchAttrAttention.GetName(), workflows.AttentionNotificationsUndelivered)
	case ReviewOverdue:
		return running + fmt.Sprintf("%s=%q AND %s < %q", workflows.SearchAttrStatus.GetName(), workflows.StatusInReview,
			workflows.SearchAttrReviewSince.GetName(), now.Add(-workflows.DefaultConfig().ReviewOverdueAfter).UTC().Format(time.RFC3339))
	case RenewalNear:
		return running + fmt.Sprintf("%s=%q AND %s < %q", workflows.SearchAttrStatus.GetName(), workflows.StatusRenewal,
			workflows.SearchAttrRenewalDeadline.GetName(), now.Add(RenewalHorizon).UTC().Format(time.RFC3339))
	}
	return ""
}

// Counts counts each reason's onboardings.
func Counts(ctx context.Context, tc client.Client, now time.Time) (map[Reason]int64, error) {
	out := map[Reason]int64{}
	for _, r := range Reasons {
		res, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: Query(r, now)})
		if err != nil {
			return nil, fmt.Errorf("count onboardings (%s): %w", r, err)
		}
		out[r] = res.GetCount()
	}
	return out, nil
}

// Onboarding is one onboarding that needs a person.
type Onboarding struct {
	Reason     Reason           `json:"Reason"`
	WorkflowID string           `json:"WorkflowId"`
	UserID     string           `json:"UserId"`
	Status     workflows.Status `json:"Status"`
	// Since is when the review started (ReviewOverdue) or the renewal's
	// deadline (RenewalNear), RFC 3339; empty otherwise.
	Since string `json:"Since,omitempty"`
}

// maxListed bounds a listing per reason: a person reads it.
const maxListed = 1000

// List lists the onboardings of every reason. Reviews and renewals are
// read from each one's state (a query answered by a worker): when the
// review began, the renewal's deadline, whether a renewal session is open.
func List(ctx context.Context, tc client.Client, now time.Time) ([]Onboarding, error) {
	var out []Onboarding
	for _, r := range Reasons {
		var token []byte
		for n := 0; n < maxListed; {
			res, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: Query(r, now), NextPageToken: token, PageSize: 100})
			if err != nil {
				return nil, fmt.Errorf("list onboardings (%s): %w", r, err)
			}
			for _, e := range res.GetExecutions() {
				n++
				o := Onboarding{Reason: r, WorkflowID: e.GetExecution().GetWorkflowId()}
				if r == ReviewOverdue || r == RenewalNear {
					st, err := workflows.GetState(ctx, tc, userIDOf(o.WorkflowID))
					if err != nil {
						return nil, fmt.Errorf("read the state of %s: %w", o.WorkflowID, err)
					}
					o.UserID, o.Status = st.UserID, st.Status
					if r == ReviewOverdue {
						o.Since = st.ReviewSince
					} else {
						if st.HostedURL != "" {
							continue // a renewal session is open: the user has the link
						}
						o.Since = st.RenewalDeadline
					}
				} else {
					o.UserID = userIDOf(o.WorkflowID)
				}
				out = append(out, o)
			}
			token = res.GetNextPageToken()
			if len(token) == 0 {
				break
			}
		}
	}
	return out, nil
}

// userIDOf is the user of an onboarding's workflow ID (workflows.WorkflowID).
func userIDOf(workflowID string) string {
	return strings.TrimPrefix(workflowID, workflows.WorkflowID(""))
}
