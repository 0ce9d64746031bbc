package workflows

import (
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/kycflow/kycflow/audit"
)

// Input limits, checked by the update validators before anything reaches
// history, and by every caller (platform API, starter) before anything
// reaches Temporal. Mangopay's own limits where it has them.
const (
	// MaxReturnURL is Mangopay's limit on an IDV session's ReturnUrl: 500
	// in its API reference (its newest page says 50, which reads as a typo
	// of the same table). Should Mangopay enforce a stricter one, its
	// param_error is answered to the platform's call naming the field (see
	// RequestError), and a corrected call succeeds.
	MaxReturnURL = 500
	// MaxTag is Mangopay's limit on Tag.
	MaxTag = 255
	// MaxPages is how many pages one KYC document may have.
	MaxPages = 5
	// MaxReason bounds a cancel reason.
	MaxReason = audit.MaxReasonRunes
)

// ValidateReturnURL checks a ReturnUrl: an absolute http(s) URL.
func ValidateReturnURL(raw string) error {
	if len(raw) > MaxReturnURL {
		return fmt.Errorf("ReturnUrl is longer than %d characters", MaxReturnURL)
	}
	return validateHTTPURL("ReturnUrl", raw)
}

// SessionLanguages are the languages of Mangopay's hosted page
// (SessionLanguage, since 2026-09-15).
var SessionLanguages = []string{"de-DE", "en-US", "es-ES", "fr-FR", "it-IT", "nl-NL", "pt-PT", "zh-Hans-CN"}

// ValidateSessionLanguage checks a SessionLanguage (optional).
func ValidateSessionLanguage(lang string) error {
	if lang != "" && !slices.Contains(SessionLanguages, lang) {
		return fmt.Errorf("SessionLanguage must be one of %v", SessionLanguages)
	}
	return nil
}

// ValidateTag checks a Tag (optional).
func ValidateTag(tag string) error {
	if len(tag) > MaxTag {
		return fmt.Errorf("Tag is longer than %d characters", MaxTag)
	}
	return nil
}

// validateHTTPURL checks that raw is an absolute http or https URL.
func validateHTTPURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New(field + " must be an absolute http or https URL")
	}
	return nil
}
