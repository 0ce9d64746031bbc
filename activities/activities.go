// Package activities holds the side effects of the onboarding workflow:
// Mangopay calls, writes to the routing index, reading document pages from
// the claim-check store, and notifications to the platform. Each activity is
// a method on Activities, takes one XxxInput and returns one XxxResult.
//
// Errors follow one rule: Mangopay's 4xx answers other than 429 become
// non-retryable application errors typed "Mangopay:<Type>"; everything else
// is returned for Temporal, the one retry layer, to retry.
package activities

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/routing"
)

// Application error types the workflow branches on.
const (
	// ErrTypeNotEligible: Mangopay refused the IDV session for this user
	// (not an OWNER, PARTNERSHIP, or the feature is not activated).
	ErrTypeNotEligible = "NotEligible"
	// ErrTypeUserNotFound: the Mangopay user does not exist.
	ErrTypeUserNotFound = "UserNotFound"
	// ErrTypePageMissing: a claim-check key expired before the upload.
	ErrTypePageMissing = "PageMissing"
	// ErrTypeRejected: the platform refused a notification (4xx).
	ErrTypeRejected = "PlatformRejected"
	// mangopayErrPrefix prefixes the Type of other permanent Mangopay errors.
	mangopayErrPrefix = "Mangopay:"
)

// Activities holds the activities' dependencies. Notifier may be nil or
// have no URL, in which case notifications are logged and skipped.
type Activities struct {
	Mangopay *mangopay.Client
	Index    *routing.Index
	Pages    *claimcheck.Store
	Notifier *notify.Notifier
	Logger   *slog.Logger
}

func (a *Activities) log() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// mangopayError turns a client error into what Temporal should see.
func mangopayError(op string, err error) error {
	var apiErr *mangopay.Error
	if !errors.As(err, &apiErr) {
		if mangopay.IsPermanent(err) {
			return temporal.NewNonRetryableApplicationError(op+": "+err.Error(), mangopayErrPrefix+"InvalidRequest", err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if !mangopay.IsPermanent(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	typ := apiErr.Type
	if typ == "" {
		typ = http.StatusText(apiErr.StatusCode)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %s", op, apiErr.Error()), mangopayErrPrefix+typ, err, apiErr.Errors)
}
