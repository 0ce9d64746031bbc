package workflows

import (
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/mangopay"
)

// Names other programs, operators and tests rely on.
const (
	TaskQueue            = "kyc-onboarding"
	WorkflowType         = "KYCOnboarding"
	SignalMangopayEvent  = "mangopay-event"
	UpdateEnsureSession  = "ensure-session"
	UpdateSubmitDocument = "submit-document"
	UpdateCancel         = "cancel"
	UpdateRetryPSC       = "retry-psc"
	// UpdateResendNotifications re-sends an onboarding's held notifications
	// (an operator's, after the platform fixed its endpoint).
	UpdateResendNotifications = "resend-notifications"
	// UpdateReencode makes the run continue as new, so that its state is
	// encoded again with the current payload key (retiring an old one).
	UpdateReencode = "re-encode"
	QueryState     = "state"
	// QueryTimeline answers the onboarding's audit trail (TimelineView).
	QueryTimeline = "timeline"
)

// Search attributes, registered by the dev stack and by compose. They hold
// IDs and statuses only: Temporal stores them unencrypted.
var (
	SearchAttrStatus    = temporal.NewSearchAttributeKeyKeyword("KycStatus")
	SearchAttrUserID    = temporal.NewSearchAttributeKeyKeyword("MangopayUserId")
	SearchAttrSessionID = temporal.NewSearchAttributeKeyKeyword("IdvSessionId")
	SearchAttrAttempt   = temporal.NewSearchAttributeKeyInt64("KycAttempt")
	SearchAttrUserType  = temporal.NewSearchAttributeKeyKeyword("KycUserType")
	// SearchAttrRenewalDeadline is when a verified user is downgraded unless
	// they renew their KYC (set while RENEWAL_REQUIRED).
	SearchAttrRenewalDeadline = temporal.NewSearchAttributeKeyTime("KycRenewalDeadline")
	// SearchAttrReviewSince is when Mangopay's manual review began (set
	// while IN_REVIEW): overdue reviews are a filter,
	// KycReviewSince < "<now minus five days>".
	SearchAttrReviewSince = temporal.NewSearchAttributeKeyTime("KycReviewSince")
	// SearchAttrAttention says an onboarding needs an operator (Attention*
	// values); unset otherwise.
	SearchAttrAttention = temporal.NewSearchAttributeKeyKeyword("KycAttention")
)

// Values of the KycAttention search attribute.
const (
	// AttentionPSCAbandoned: Mangopay abandoned a PSC session of the
	// business; it cannot be retried, take it up with Mangopay.
	AttentionPSCAbandoned = "PSC_ABANDONED"
	// AttentionAccessDenied: Mangopay denies kycflow access (401, 403):
	// credentials, IP allowlist, hosted KYC not activated.
	AttentionAccessDenied = "MANGOPAY_ACCESS_DENIED"
	// AttentionNotificationsUndelivered: a platform notification was not
	// delivered within its retry schedule; the onboarding holds them all,
	// in order, until an operator re-sends them (`worker notifications`).
	AttentionNotificationsUndelivered = "NOTIFICATIONS_UNDELIVERED"
)

// HookEventTypes are the Mangopay webhooks kycflow subscribes to: the
// outcomes of IDV sessions, the user's level (USER_KYC_REGULAR too: a user
// can become REGULAR through KYC documents alone, with no session event),
// and KYC document outcomes. IDENTITY_VERIFICATION_PENDING (the workflow
// created the session itself) would only cost signals.
var HookEventTypes = []mangopay.EventType{
	mangopay.EventIdentityVerificationValidated,
	mangopay.EventIdentityVerificationFailed,
	mangopay.EventIdentityVerificationInconclusive,
	mangopay.EventIdentityVerificationOutdated,
	mangopay.EventIdentityVerificationExpired,
	mangopay.EventUserKYCLight,
	mangopay.EventUserKYCRegular,
	mangopay.EventKYCSucceeded,
	mangopay.EventKYCFailed,
	mangopay.EventKYCOutdated,
	// 2026: PSC sessions of businesses (both spellings of the rejection
	// are in Mangopay's sources) and the KYC renewal.
	mangopay.EventIdentityVerificationPendingPSCAction,
	mangopay.EventIdentityVerificationPSCPending,
	mangopay.EventIdentityVerificationPSCValidated,
	mangopay.EventIdentityVerificationPSCRejected,
	mangopay.EventIdentityVerificationPSCFailed,
	mangopay.EventIdentityVerificationPSCAbandoned,
	mangopay.EventUserKYCRenewalRequired,
	mangopay.EventUserKYCRenewed,
	// Mangopay's blocks of the user's money flows (its regulatory status's
	// ScopeBlocked): what a platform acts on.
	mangopay.EventUserInflowsBlocked,
	mangopay.EventUserInflowsUnblocked,
	mangopay.EventUserOutflowsBlocked,
	mangopay.EventUserOutflowsUnblocked,
}

// WorkflowID is the ID of a user's onboarding.
func WorkflowID(userID string) string { return "kyc-" + userID }

// Status is where an onboarding stands (the KycStatus search attribute).
type Status string

// Statuses.
const (
	StatusStarting     Status = "STARTING"
	StatusAwaitingUser Status = "AWAITING_USER"
	StatusInReview     Status = "IN_REVIEW"
	StatusAwaitingPSCs Status = "AWAITING_PSCS"
	StatusVerified     Status = "VERIFIED"
	StatusRenewal      Status = "RENEWAL_REQUIRED"
	StatusRefused      Status = "REFUSED"
	StatusExpired      Status = "EXPIRED"
	StatusOutOfDate    Status = "OUT_OF_DATE"
	StatusFailed       Status = "FAILED"
	StatusNotEligible  Status = "NOT_ELIGIBLE"
	StatusCancelled    Status = "CANCELLED"
)

// Final reports whether the onboarding is over: the workflow completes.
func (s Status) Final() bool {
	return s == StatusFailed || s == StatusNotEligible || s == StatusCancelled
}
