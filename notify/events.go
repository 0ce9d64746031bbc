package notify

import "strings"

// Event types: the Type of every notification kycflow sends. They are a
// published contract (the webhooks section of docs/openapi.yaml, which a
// test holds to this list): a platform switches on them, so a name never
// changes once published, whatever happens to the status behind it.
const (
	// An onboarding's status changed (workflows.Status).
	OnboardingAwaitingUser    = "onboarding.awaiting_user"
	OnboardingInReview        = "onboarding.in_review"
	OnboardingAwaitingPSCs    = "onboarding.awaiting_pscs"
	OnboardingVerified        = "onboarding.verified"
	OnboardingRenewalRequired = "onboarding.renewal_required"
	OnboardingRefused         = "onboarding.refused"
	OnboardingExpired         = "onboarding.expired"
	OnboardingOutOfDate       = "onboarding.out_of_date"
	OnboardingFailed          = "onboarding.failed"
	OnboardingNotEligible     = "onboarding.not_eligible"
	OnboardingCancelled       = "onboarding.cancelled"
	// OnboardingRenewalReminder reminds the platform of a renewal deadline
	// (the status stays RENEWAL_REQUIRED).
	OnboardingRenewalReminder = "onboarding.renewal_reminder"

	// A KYC document sent through the platform API moved (Mangopay's
	// document status, normalized).
	DocumentCreated         = "document.created"
	DocumentValidationAsked = "document.validation_asked"
	DocumentValidated       = "document.validated"
	DocumentRefused         = "document.refused"
	DocumentOutOfDate       = "document.out_of_date"

	// A PSC session of a business moved (Mangopay's PSC status,
	// normalized).
	PSCPendingValidation = "psc.pending_validation"
	PSCValidated         = "psc.validated"
	PSCRejected          = "psc.rejected"
	PSCAbandoned         = "psc.abandoned"

	// UserScopeBlocked: what Mangopay blocks of the user's money flows
	// changed; the event's ScopeBlocked says what is blocked now (the
	// status does not change).
	UserScopeBlocked = "user.scope_blocked"
)

// EventTypes lists every published event type.
var EventTypes = []string{
	OnboardingAwaitingUser, OnboardingInReview, OnboardingAwaitingPSCs, OnboardingVerified,
	OnboardingRenewalRequired, OnboardingRefused, OnboardingExpired, OnboardingOutOfDate,
	OnboardingFailed, OnboardingNotEligible, OnboardingCancelled, OnboardingRenewalReminder,
	DocumentCreated, DocumentValidationAsked, DocumentValidated, DocumentRefused, DocumentOutOfDate,
	PSCPendingValidation, PSCValidated, PSCRejected, PSCAbandoned,
	UserScopeBlocked,
}

// documentEventTypes and pscEventTypes name the event of each (normalized)
// Mangopay status.
var (
	documentEventTypes = map[string]string{
		"CREATED":          DocumentCreated,
		"VALIDATION_ASKED": DocumentValidationAsked,
		"VALIDATED":        DocumentValidated,
		"REFUSED":          DocumentRefused,
		"OUT_OF_DATE":      DocumentOutOfDate,
	}
	pscEventTypes = map[string]string{
		"PENDING_VALIDATION": PSCPendingValidation,
		"VALIDATED":          PSCValidated,
		"REJECTED":           PSCRejected,
		"ABANDONED":          PSCAbandoned,
	}
)

// DocumentEventType is the event type of a KYC document's status. A status
// Mangopay adds later, unknown here, is sent as "document.<status in lower
// case>" rather than lost (the API contract says so).
func DocumentEventType(status string) string {
	if t, ok := documentEventTypes[status]; ok {
		return t
	}
	return "document." + strings.ToLower(status)
}

// PSCEventType is the event type of a PSC session's status; an unknown one
// is sent as "psc.<status in lower case>".
func PSCEventType(status string) string {
	if t, ok := pscEventTypes[status]; ok {
		return t
	}
	return "psc." + strings.ToLower(status)
}
