package workflows

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
)

// ErrTypeRequestRefused is the application error type of an ensure-session
// answered with a RequestError: Mangopay refused what the platform sent.
const ErrTypeRequestRefused = "RequestRefused"

// RequestError is Mangopay's refusal of what the platform sent (a user that
// does not exist, a field it refuses): the platform's mistake, to correct
// and send again, never a final status for the user. Field names the
// request field at fault when Mangopay names one.
type RequestError struct {
	Field string `json:"Field,omitempty"`
	// Fields are every field Mangopay refused, when it named several
	// (sorted; Field is the first).
	Fields  []string `json:"Fields,omitempty"`
	Message string   `json:"Message"`
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return "Mangopay refused the request: " + e.Message
	}
	return "Mangopay refused " + e.Field + ": " + e.Message
}

// mangopayParamError is the activities' error type of Mangopay's 400
// param_error (activities.mangopayError: "Mangopay:" and the type).
const mangopayParamError = "Mangopay:param_error"

// requestErrorOf reads Mangopay's param_error from an activity error: the
// first field it names (sorted, so that replay sees the same) and its text.
func requestErrorOf(err error) (*RequestError, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != mangopayParamError {
		return nil, false
	}
	fields := fieldErrors(detailsJSON(appErr))
	if len(fields) == 0 {
		return &RequestError{Message: appErr.Message()}, true
	}
	msgs := make([]string, 0, len(fields))
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		names = append(names, f[0])
		msgs = append(msgs, f[1])
	}
	rerr := &RequestError{Field: fields[0][0], Message: strings.Join(msgs, "; ")}
	if len(names) > 1 {
		rerr.Fields = names
	}
	return rerr, true
}

// refuseRequest records Mangopay's refusal of the platform's request. The
// ensure-session waiting on it answers with it (a 4xx to the platform).
//
// Before a first session (STARTING) nothing of the user was decided: the
// run ends (withdraw) and leaves nothing behind, so that the corrected
// request starts afresh. Later (a new attempt after an expiry or a
// refusal) the onboarding waits for an ensure-session with a corrected
// request: the field Mangopay refused is forgotten, so that no automatic
// retry sends it again. Where no session is valid anyway (an expired or
// refused attempt) it waits as EXPIRED; where the status is Mangopay's
// truth (RENEWAL_REQUIRED or VERIFIED: Mangopay still says REGULAR,
// OUT_OF_DATE) the status stays, with its deadline and reminders: the
// platform's mistake is answered to its call, never made the user's.
func (w *onboarding) refuseRequest(ctx workflow.Context, rerr *RequestError) {
	w.st.Rejected = rerr
	w.st.RequestsRefused++
	w.st.WantSession = false
	w.logger.Warn("Mangopay refused the platform's request", "field", rerr.Field, "error", rerr.Message)
	if w.st.Status == StatusStarting {
		return
	}
	for _, f := range append([]string{rerr.Field}, rerr.Fields...) {
		switch f {
		case "ReturnUrl":
			w.st.ReturnURL = ""
		case "Tag":
			w.st.Tag = ""
		case "SessionLanguage":
			w.st.SessionLanguage = ""
		}
	}
	switch w.st.Status {
	case StatusExpired, StatusRefused, StatusAwaitingUser:
		w.setStatus(ctx, StatusExpired, "waiting for ensure-session with a corrected request: "+rerr.Error())
	}
}

// withdrawn reports whether the run ends for a refused request before any
// session: nothing of the user was decided.
func (w *onboarding) withdrawn() bool {
	return w.st.Rejected != nil && w.st.Status == StatusStarting
}

// withdraw ends the run after a refused first request: the handlers answer
// (the ensure-session with the refusal), nothing is notified (nothing
// happened to the user), and the closed run, neither FAILED nor
// NOT_ELIGIBLE, lets the next signup start a new one.
func (w *onboarding) withdraw(ctx workflow.Context) (Result, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	w.takeSignals(ctx) // webhooks of a user with no session: nothing to act on
	return Result{UserID: w.st.UserID, Status: w.st.Status, Reason: w.st.Rejected.Error(), Rejected: w.st.Rejected}, nil
}

// requestRefused is the ensure-session's error for a RequestError.
func requestRefused(rerr *RequestError) error {
	return temporal.NewNonRetryableApplicationError(rerr.Error(), ErrTypeRequestRefused, nil, *rerr)
}

// isUserNotFound: ReadUser found no such Mangopay user.
func isUserNotFound(err error) bool { return errType(err) == activities.ErrTypeUserNotFound }

// detailsJSON is an application error's details as JSON: decoded from
// their payload (an activity's error), or, from a local activity in the
// test environment, the Go value the activity returned, encoded again.
func detailsJSON(appErr *temporal.ApplicationError) json.RawMessage {
	if !appErr.HasDetails() {
		return nil
	}
	var v any
	if appErr.Details(&v) != nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return raw
}

// fieldErrors reads Mangopay's "errors" object (field → text) in the order
// it was encoded (sorted by field: JSON encodes maps so), without a Go map,
// whose iteration order would differ on replay.
func fieldErrors(raw json.RawMessage) [][2]string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out [][2]string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return out
		}
		if key, ok := k.(string); ok {
			out = append(out, [2]string{key, v})
		}
	}
	return out
}
