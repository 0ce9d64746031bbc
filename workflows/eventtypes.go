package workflows

import (
	"strings"

	"github.com/kycflow/kycflow/notify"
)

// statusEventTypes names the notification of each status the workflow
// moves to. STARTING is only ever the first status: nothing is sent for it.
// Renaming a status must not rename its notification, so the names are
// notify's published constants, not derived from the status.
var statusEventTypes = map[Status]string{
	StatusAwaitingUser: notify.OnboardingAwaitingUser,
	StatusInReview:     notify.OnboardingInReview,
	StatusAwaitingPSCs: notify.OnboardingAwaitingPSCs,
	StatusVerified:     notify.OnboardingVerified,
	StatusRenewal:      notify.OnboardingRenewalRequired,
	StatusRefused:      notify.OnboardingRefused,
	StatusExpired:      notify.OnboardingExpired,
	StatusOutOfDate:    notify.OnboardingOutOfDate,
	StatusFailed:       notify.OnboardingFailed,
	StatusNotEligible:  notify.OnboardingNotEligible,
	StatusCancelled:    notify.OnboardingCancelled,
}

// statusEventType is the notification type of a status change. A test
// holds every status but STARTING to a published name; the fallback only
// keeps a status added without one from going unnotified.
func statusEventType(s Status) string {
	if t, ok := statusEventTypes[s]; ok {
		return t
	}
	return "onboarding." + strings.ToLower(string(s))
}
