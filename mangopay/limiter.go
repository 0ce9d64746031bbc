package mangopay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Priority orders Mangopay calls when the call budget is short: a user who
// waits goes first, reads triggered by webhooks next, background
// reconciliation last.
type Priority int

// Priorities, from the most to the least urgent.
const (
	// PriorityInteractive: a user waits for the answer (the session at
	// signup, ensure-session, a document the platform submits).
	PriorityInteractive Priority = iota
	// PriorityWebhook: a read that follows a webhook or a workflow's own
	// reconciliation poll. It is the priority of a call whose context
	// carries none.
	PriorityWebhook
	// PriorityBackground: fleet reconciliation through the Events API and
	// other work nobody waits for.
	PriorityBackground
)

// Priorities lists every priority, most urgent first.
var Priorities = []Priority{PriorityInteractive, PriorityWebhook, PriorityBackground}

// String returns the priority's metric label.
func (p Priority) String() string {
	switch p {
	case PriorityInteractive:
		return "interactive"
	case PriorityWebhook:
		return "webhook"
	case PriorityBackground:
		return "background"
	default:
		return fmt.Sprintf("priority(%d)", int(p))
	}
}

type priorityKey struct{}

// WithPriority returns a context whose Mangopay calls carry priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority ctx carries, PriorityWebhook if none.
func PriorityFrom(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok {
		return p
	}
	return PriorityWebhook
}

// Call describes one API request for a Limiter.
type Call struct {
	Method string
	// Route is the path template, for example "/users/{UserId}" (no IDs).
	Route    string
	Priority Priority
}

// Limiter admits API calls against a call budget. The client calls Wait
// before every request it sends and Done after every response, so that
// every process sharing the budget draws from it. Implementations must be
// safe for concurrent use.
type Limiter interface {
	// Wait blocks until call may be sent. It returns ctx's error when ctx
	// ends first, or a *RateLimitedError when the budget cannot admit the
	// call before ctx's deadline (the caller retries at RetryAt, not sooner).
	Wait(ctx context.Context, call Call) error
	// Done reports the answer to a call that was sent: its HTTP status (0
	// for a transport error) and the rate-limit figures the response
	// carried (ObservedAt is zero when it carried none).
	Done(call Call, status int, limits RateLimits)
}

// RateLimitedError says a call must not be tried again before RetryAt:
// Mangopay answered 429 (Err is then the *Error) or the shared budget could
// not admit the call before the caller's deadline.
type RateLimitedError struct {
	// RetryAt is the earliest time a retry may succeed: the reset of the
	// exhausted window, or when the budget will admit the call.
	RetryAt time.Time
	// Window is the exhausted Mangopay window; zero when unknown or when
	// the shared budget refused the call.
	Window time.Duration
	Err    error
}

// ErrBudgetExhausted is the Err of a RateLimitedError raised by the shared
// budget rather than by Mangopay.
var ErrBudgetExhausted = errors.New("mangopay call budget exhausted")

// Error describes the limit and when to retry.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%v (retry at %s)", e.Err, e.RetryAt.UTC().Format(time.RFC3339))
}

// Unwrap returns the 429 *Error or ErrBudgetExhausted.
func (e *RateLimitedError) Unwrap() error { return e.Err }

// RetryDelay returns how long after now a call that failed with err may be
// retried, when err is (or wraps) a *RateLimitedError.
func RetryDelay(err error, now time.Time) (time.Duration, bool) {
	var rl *RateLimitedError
	if !errors.As(err, &rl) {
		return 0, false
	}
	return max(rl.RetryAt.Sub(now), 0), true
}

// DefaultRateLimitPause is how long to wait after a 429 whose headers name
// no exhausted window: Mangopay's smallest window is 15 minutes, but a 429
// without figures is unusual enough not to stall that long.
const DefaultRateLimitPause = time.Minute

// rateLimited builds the error of a 429: retry at the reset of the window
// that is exhausted (the latest reset if several are).
func rateLimited(apiErr *Error, limits RateLimits, now time.Time) *RateLimitedError {
	e := &RateLimitedError{RetryAt: now.Add(DefaultRateLimitPause), Err: apiErr}
	if w, ok := limits.Exhausted(); ok {
		e.RetryAt, e.Window = w.Reset, w.Window
		if e.RetryAt.Before(now) {
			e.RetryAt = now
		}
	}
	return e
}

// limitCall waits for the limiter before a request.
func (c *Client) limitCall(ctx context.Context, ep *endpoint) (Call, error) {
	call := Call{Method: ep.method, Route: ep.tmpl, Priority: PriorityFrom(ctx)}
	if c.limiter == nil {
		return call, nil
	}
	return call, c.limiter.Wait(ctx, call)
}

// doneCall reports a response (or transport error) to the limiter.
func (c *Client) doneCall(call Call, status int, h http.Header, now time.Time) {
	if c.limiter == nil {
		return
	}
	limits, _ := parseRateLimits(h, now)
	c.limiter.Done(call, status, limits)
}
