package mangopay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Known values of Error.Type. Mangopay's own spellings are kept, typos
// included ("ressource").
const (
	ErrTypeParamError                  = "param_error"
	ErrTypeResourceNotFound            = "ressource_not_found"
	ErrTypeForbiddenResource           = "forbidden_ressource"
	ErrTypeIdempotentCreationConflict  = "idempotent_creation_conflict"
	ErrTypeRateLimit                   = "rate_limit"
	ErrTypeInvalidCredentials          = "invalid_credentials"
	ErrTypeInvalidAction               = "invalid_action"
	ErrTypeMaxPageNumber               = "max_page_number"
	ErrTypeFraudPolicy                 = "fraud_policy"
	ErrTypeTermsNotAccepted            = "user_hasnt_accepted_terms_and_conditions"
	ErrTypeNotAllowedForPayer          = "not_allowed_for_user_category_payer"
	ErrTypeNotAuthorized               = "not_authorized"
	ErrTypeInternalServerError         = "InternalServerError"
	ErrTypeOther                       = "other"
	ErrTypeOAuthUnauthorizedClient     = "unauthorized_client"
	ErrTypeOAuthInvalidClient          = "invalid_client"
	ErrTypeOAuthInvalidRequest         = "invalid_request"
	ErrTypeOAuthUnsupportedGrantType   = "unsupported_grant_type"
	ErrTypeOAuthInvalidGrant           = "invalid_grant"
	ErrTypeOAuthInvalidScope           = "invalid_scope"
	ErrTypeOAuthTemporarilyUnavailable = "temporarily_unavailable"
)

// ErrInvalidRequest is returned (wrapped), before any I/O, when a call's
// arguments cannot make a valid request: nil params, an empty identifier, an
// empty file.
var ErrInvalidRequest = errors.New("invalid request")

// Error is an error response of the Mangopay API, including its token
// endpoint. Mangopay uses three body shapes, all decoded into it:
//
//   - its own: {"Message", "Type", "Id", "Date", "errors"};
//   - OAuth: {"error", "error_description"} (Type is error, Message is
//     error_description);
//   - RFC 7807 problem details: {"type", "title", "status", "traceId"} (Type
//     is title, or type when there is no title).
//
// An empty or unparsable body yields Message = http.StatusText(StatusCode).
type Error struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Type is the machine-readable error type, for example ErrTypeParamError.
	Type string
	// Message is the human-readable message.
	Message string
	// ID is Mangopay's identifier of the error (sometimes suffixed "#<unix>").
	ID string
	// Date is when the error occurred; zero when absent.
	Date time.Time
	// Errors maps a request field to what is wrong with it; nil when absent.
	Errors map[string]string
	// Title is the RFC 7807 title, when the body has that shape.
	Title string
	// TraceID is the RFC 7807 traceId, when the body has that shape.
	TraceID string
	// Body is the raw response body (capped at 10 MiB).
	Body []byte
	// IdempotencyKey is set when this error is the original response of an
	// earlier call with that key, recovered after a 409
	// idempotent_creation_conflict. Mangopay never accepts the key again, so
	// such an error is permanent whatever its StatusCode.
	IdempotencyKey string
}

// Error returns a one-line description, for example
// "status 400 param_error: Missing or incorrect required parameter (UserId: UserId is not valid)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "status %d", e.StatusCode)
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Errors) > 0 {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(k + ": " + e.Errors[k])
		}
		b.WriteString(")")
	}
	if e.ID != "" {
		b.WriteString(" [id " + e.ID + "]")
	}
	if e.TraceID != "" {
		b.WriteString(" [trace " + e.TraceID + "]")
	}
	if e.IdempotencyKey != "" {
		b.WriteString(" [recovered for idempotency key " + e.IdempotencyKey + "]")
	}
	return b.String()
}

// PendingUserActionError is returned when Mangopay answers 401 with
// "WWW-Authenticate: PendingUserAction RedirectUrl=…": the user must complete
// strong customer authentication at RedirectURL before the call can succeed.
// It is never retried by the client.
type PendingUserActionError struct {
	// RedirectURL is where to send the user. It embeds a one-time token, so
	// it is left out of Error().
	RedirectURL string
	// Err is the 401 response.
	Err *Error
}

// Error returns a one-line description without the redirect URL.
func (e *PendingUserActionError) Error() string {
	if e.Err == nil {
		return "sca pending user action"
	}
	return "sca pending user action: " + e.Err.Error()
}

// Unwrap returns the underlying 401 *Error.
func (e *PendingUserActionError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// IsNotFound reports whether err is a 404 or a ressource_not_found error.
func IsNotFound(err error) bool {
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.StatusCode == http.StatusNotFound || apiErr.Type == ErrTypeResourceNotFound
}

// IsRetryable reports whether retrying the same call later may succeed: a
// 5xx or 429 response, a network or transport failure, a timeout, or an
// idempotency conflict whose first call has not answered yet
// (ErrIdempotentResponsePending). It is
// false for context.Canceled, for SCA challenges, for client-side validation
// errors and for errors recovered through an idempotency key. Errors that
// are neither retryable nor permanent (for example an undecodable 2xx body)
// are left to the caller's policy.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrIdempotentResponsePending) || errors.Is(err, ErrBudgetExhausted) {
		return true
	}
	if errors.Is(err, ErrIdempotencyKeyMismatch) {
		return false
	}
	var pua *PendingUserActionError
	if errors.As(err, &pua) {
		return false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		if apiErr.IdempotencyKey != "" {
			return false
		}
		return apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode >= 500
	}
	if isValidationError(err) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}

// IsPermanent reports whether retrying the same call cannot succeed: a 4xx
// response other than 429, an SCA challenge (the user must act first), a
// client-side validation error, an error recovered through an idempotency
// key, or an idempotency key that was used for another endpoint
// (ErrIdempotencyKeyMismatch).
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrIdempotentResponsePending) {
		return false
	}
	if errors.Is(err, ErrIdempotencyKeyMismatch) {
		return true
	}
	var pua *PendingUserActionError
	if errors.As(err, &pua) {
		return true
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		if apiErr.IdempotencyKey != "" {
			return true
		}
		return apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusTooManyRequests
	}
	return isValidationError(err)
}

// isValidationError reports whether err was raised before any I/O.
func isValidationError(err error) bool {
	return errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrInvalidIdempotencyKey) || errors.Is(err, ErrInvalidConfig)
}

// parseError decodes an error response body of any of the three shapes.
func parseError(status int, body []byte) *Error {
	e := &Error{StatusCode: status, Body: body}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(body), &fields); err == nil && fields != nil {
		switch {
		case has(fields, "Message") || has(fields, "Type"):
			e.Type = rawString(fields["Type"])
			e.Message = rawString(fields["Message"])
			e.ID = rawString(fields["Id"])
			e.Date = rawUnixTime(fields["Date"])
			e.Errors = rawFieldErrors(fields)
		case has(fields, "error"):
			e.Type = rawString(fields["error"])
			e.Message = rawString(fields["error_description"])
		case has(fields, "title") || has(fields, "type") || has(fields, "traceId"):
			e.Title = rawString(fields["title"])
			e.Type = e.Title
			if e.Type == "" {
				e.Type = rawString(fields["type"])
			}
			e.Message = rawString(fields["detail"])
			e.TraceID = rawString(fields["traceId"])
			e.Errors = rawFieldErrors(fields)
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// has reports whether key is present and not null.
func has(fields map[string]json.RawMessage, key string) bool {
	v, ok := fields[key]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// rawString decodes a JSON string, or returns the raw text of a scalar.
func rawString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	t := string(bytes.TrimSpace(raw))
	if t == "null" || strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		return ""
	}
	return t
}

// rawUnixTime decodes Unix seconds given as an integer, a float or a numeric
// string; anything else yields the zero time.
func rawUnixTime(raw json.RawMessage) time.Time {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	if s == "" || s == "null" {
		return time.Time{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// rawFieldErrors decodes the "errors" (or "Errors") object. Values may be
// strings or, in RFC 7807 validation problems, arrays of strings.
func rawFieldErrors(fields map[string]json.RawMessage) map[string]string {
	raw, ok := fields["errors"]
	if !ok || !has(fields, "errors") {
		raw, ok = fields["Errors"]
	}
	if !ok {
		return nil
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(raw, &values); err != nil || values == nil {
		return nil
	}
	out := make(map[string]string, len(values))
	for k, v := range values {
		var list []string
		if err := json.Unmarshal(v, &list); err == nil {
			out[k] = strings.Join(list, "; ")
			continue
		}
		out[k] = rawString(v)
	}
	return out
}

// pendingUserAction extracts the RedirectUrl of a
// "WWW-Authenticate: PendingUserAction RedirectUrl=…" header.
func pendingUserAction(h http.Header) (string, bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		v = strings.TrimSpace(v)
		scheme, rest, _ := strings.Cut(v, " ")
		if !strings.EqualFold(scheme, "PendingUserAction") {
			continue
		}
		redirect := ""
		for _, param := range strings.Fields(rest) {
			name, value, ok := strings.Cut(strings.TrimRight(param, ","), "=")
			if ok && strings.EqualFold(name, "RedirectUrl") {
				redirect = strings.Trim(value, `"`)
				break
			}
		}
		return redirect, true
	}
	return "", false
}
