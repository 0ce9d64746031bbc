package sandbox

import (
	"errors"
	"fmt"
	"net/http"
)

// Faults are the failures the Sandbox injects on purpose, set with
// PUT /_sim/faults. Rates are probabilities in [0, 1].
type Faults struct {
	// APIErrorRate is the share of API calls answered with APIErrorStatus.
	APIErrorRate float64 `json:"ApiErrorRate"`
	// APIErrorStatus is the status of injected errors (default 500).
	APIErrorStatus int `json:"ApiErrorStatus"`
	// APIErrorAfterCommit makes an injected error on a POST happen after the
	// resource was created, as when a response is lost on the way back.
	APIErrorAfterCommit bool `json:"ApiErrorAfterCommit"`
	// APILatencyMs delays every API call.
	APILatencyMs int `json:"ApiLatencyMs"`
	// WebhookDropRate is the share of notifications never sent.
	WebhookDropRate float64 `json:"WebhookDropRate"`
	// WebhookDuplicateRate is the share of notifications sent twice.
	WebhookDuplicateRate float64 `json:"WebhookDuplicateRate"`
	// WebhookDelayMs delays every notification.
	WebhookDelayMs int `json:"WebhookDelayMs"`
	// WebhookReorder spreads notifications over a random delay (up to
	// WebhookDelayMs, at least one second) so they arrive out of order.
	WebhookReorder bool `json:"WebhookReorder"`
}

func (f Faults) apiErrorStatus() int {
	if f.APIErrorStatus == 0 {
		return http.StatusInternalServerError
	}
	return f.APIErrorStatus
}

func (f Faults) validate() error {
	var errs []error
	rate := func(name string, v float64) {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1, got %v", name, v))
		}
	}
	rate("ApiErrorRate", f.APIErrorRate)
	rate("WebhookDropRate", f.WebhookDropRate)
	rate("WebhookDuplicateRate", f.WebhookDuplicateRate)
	if f.APIErrorStatus != 0 && (f.APIErrorStatus < 400 || f.APIErrorStatus > 599) {
		errs = append(errs, fmt.Errorf("ApiErrorStatus must be a 4xx or 5xx status, got %d", f.APIErrorStatus))
	}
	if f.APILatencyMs < 0 || f.APILatencyMs > 60_000 {
		errs = append(errs, fmt.Errorf("ApiLatencyMs must be between 0 and 60000, got %d", f.APILatencyMs))
	}
	if f.WebhookDelayMs < 0 || f.WebhookDelayMs > 86_400_000 {
		errs = append(errs, fmt.Errorf("WebhookDelayMs must be between 0 and 86400000, got %d", f.WebhookDelayMs))
	}
	return errors.Join(errs...)
}

func (s *Sandbox) currentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}
