// Package activities holds the side effects of the onboarding workflow:
// Mangopay calls, writes to the routing index, reading document pages from
// the claim-check store, and notifications to the platform. Each activity is
// a method on Activities, takes one XxxInput and returns one XxxResult.
//
// Errors follow one rule: Mangopay's 4xx answers other than 429, 401 and 403
// become non-retryable application errors typed "Mangopay:<Type>"; everything
// else is returned for Temporal, the one retry layer, to retry. 401 and 403
// are kycflow's own configuration: retried, logged as errors and counted. A
// 429 (or the shared call budget's refusal) is retried no sooner than the
// exhausted window's reset, through Temporal's NextRetryDelay.
//
// Each activity's Mangopay calls carry a priority (PriorityOf, set by
// PriorityInterceptor): a user waiting goes first.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/routing"
)

// Application error types the workflow branches on.
const (
	// ErrTypeNotEligible: Mangopay refused the IDV session for this user
	// (not an OWNER, PARTNERSHIP).
	ErrTypeNotEligible = "NotEligible"
	// ErrTypeUserNotFound: the Mangopay user does not exist.
	ErrTypeUserNotFound = "UserNotFound"
	// ErrTypePageMissing: a claim-check key expired before the upload.
	ErrTypePageMissing = "PageMissing"
	// ErrTypeAccessDenied: Mangopay refused kycflow's credentials or
	// permissions (retryable: it waits for the platform to fix them).
	ErrTypeAccessDenied = "MangopayAccessDenied"
	// ErrTypeRateLimited: Mangopay answered 429, or the shared call budget
	// could not admit the call in time (retryable, never sooner than the
	// window's reset: the error carries Temporal's NextRetryDelay).
	ErrTypeRateLimited = "MangopayRateLimited"
	// ErrTypeNotDelivered: a notification's delivery failed (any answer
	// but 2xx and 410, a redirect, a network error); retried with the
	// error's NextRetryDelay.
	ErrTypeNotDelivered = "PlatformNotDelivered"
	// ErrTypeEndpointGone: the platform's endpoint answered 410 Gone, now
	// or before; nothing more is delivered to it (non-retryable).
	ErrTypeEndpointGone = "PlatformEndpointGone"
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
	// Now is the clock a 429's reset is compared with; time.Now when nil
	// (tests that move Mangopay's clock set it).
	Now func() time.Time
}

func (a *Activities) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Activities) log() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// resetMargin is added to the wait for a rate-limit window's reset: the reset
// is a whole second of Mangopay's clock, and clocks differ a little.
const resetMargin = time.Second

// MetricAccessDenied counts Mangopay calls refused for kycflow's own
// credentials or permissions (401 after re-authentication, 403), by status:
// an operator's alert, never an onboarding's failure.
const MetricAccessDenied = "kycflow_mangopay_access_denied"

// mangopayError turns a client error into what Temporal should see. A 401
// that survived re-authentication or a 403 is the platform's configuration
// (a rotated key, an IP allowlist, a feature not activated): it is retried
// until fixed, logged as an error and counted, so that one bad rollout never
// fails the onboardings in flight.
func (a *Activities) mangopayError(ctx context.Context, op string, err error) error {
	if d, ok := mangopay.RetryDelay(err, a.now()); ok {
		// Temporal's own backoff would retry sooner than Mangopay allows.
		return temporal.NewApplicationErrorWithOptions(op+": "+err.Error(), ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: d + resetMargin})
	}
	var apiErr *mangopay.Error
	var pua *mangopay.PendingUserActionError
	if !errors.As(err, &pua) && errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden) {
		status := strconv.Itoa(apiErr.StatusCode)
		a.log().Error("mangopay denied access to kycflow: check its credentials, IP allowlist and activated features; retrying",
			"op", op, "status", apiErr.StatusCode, "type", apiErr.Type)
		if activity.IsActivity(ctx) {
			activity.GetMetricsHandler(ctx).WithTags(map[string]string{"status": status}).Counter(MetricAccessDenied).Inc(1)
		}
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("%s: Mangopay denied access (%d %s): fix kycflow's Mangopay credentials or permissions; retrying", op, apiErr.StatusCode, apiErr.Type),
			ErrTypeAccessDenied, temporal.ApplicationErrorOptions{Cause: err})
	}
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
