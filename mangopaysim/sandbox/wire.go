package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// reply is what an API handler produces: a status and a JSON body. Handlers
// return replies instead of writing them so that the idempotency layer can
// keep the original response for GET /responses/{key}.
type reply struct {
	status int
	body   any
	// contentType overrides application/json (RFC 7807 bodies).
	contentType string
	header      http.Header
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// mangoError is Mangopay's own error body. Date is a raw number because the
// API sends it sometimes as an integer and sometimes as 1740581497.0.
type mangoError struct {
	Message string            `json:"Message"`
	Type    string            `json:"Type"`
	ID      string            `json:"Id,omitempty"`
	Date    json.RawMessage   `json:"Date"`
	Errors  map[string]string `json:"errors"`
	// noID drops Id and errors, as the 401 invalid_credentials body does.
	noID bool
}

// MarshalJSON writes the body in the shape of the specific error: 401 bodies
// carry neither Id nor errors.
func (e mangoError) MarshalJSON() ([]byte, error) {
	if e.noID {
		return json.Marshal(struct {
			Message string          `json:"Message"`
			Type    string          `json:"Type"`
			Date    json.RawMessage `json:"Date"`
		}{e.Message, e.Type, e.Date})
	}
	type plain mangoError
	return json.Marshal(plain(e))
}

// Error types Mangopay uses (spelling as on the wire, "ressource" included).
const (
	typeParamError       = "param_error"
	typeNotFound         = "ressource_not_found"
	typeForbidden        = "forbidden_ressource"
	typeIdemConflict     = "idempotent_creation_conflict"
	typeRateLimit        = "rate_limit"
	typeInvalidCreds     = "invalid_credentials"
	typeInvalidAction    = "invalid_action"
	typeMaxPageNumber    = "max_page_number"
	typeTermsNotAccepted = "user_hasnt_accepted_terms_and_conditions"
	typeInternal         = "InternalServerError"
	typeOther            = "other"
)

const msgParamError = "One or several required parameters are missing or incorrect. An incorrect resource ID also raises this kind of error."

func floatDate(t time.Time) json.RawMessage {
	return json.RawMessage(strconv.FormatInt(t.Unix(), 10) + ".0")
}

func intDate(t time.Time) json.RawMessage {
	return json.RawMessage(strconv.FormatInt(t.Unix(), 10))
}

// errorReply builds a Mangopay error response.
func (s *Sandbox) errorReply(status int, typ, msg string, fields map[string]string) reply {
	return reply{status: status, body: mangoError{
		Message: msg, Type: typ, ID: s.ids.uuid(), Date: floatDate(s.clock.Now()), Errors: fields,
	}}
}

func (s *Sandbox) paramError(fields map[string]string) reply {
	return s.errorReply(http.StatusBadRequest, typeParamError, msgParamError, fields)
}

func (s *Sandbox) notFound(kind, id string) reply {
	return s.errorReply(http.StatusNotFound, typeNotFound, "The ressource does not exist",
		map[string]string{"RessourceNotFound": fmt.Sprintf("Cannot found the ressource %s with the id=%s", kind, id)})
}

func (s *Sandbox) invalidCredentials() reply {
	return reply{status: http.StatusUnauthorized, body: mangoError{
		Message: "The authorization credentials are not valid", Type: typeInvalidCreds,
		Date: intDate(s.clock.Now()), noID: true,
	}}
}

// problem is the RFC 7807 body the IDV endpoints send when the feature is not
// activated for the platform.
type problem struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Status  int    `json:"status"`
	TraceID string `json:"traceId"`
}

func (s *Sandbox) featureNotActivated() reply {
	h1, h2 := s.ids.hex24(), s.ids.hex24()
	return reply{status: http.StatusForbidden, contentType: "application/problem+json; charset=utf-8", body: problem{
		Type: "https://tools.ietf.org/html/rfc7231#section-6.5.3", Title: "Forbidden", Status: http.StatusForbidden,
		TraceID: "00-" + h1 + h2[:8] + "-" + h2[8:24] + "-01",
	}}
}

// statusError is the body for an injected fault of a given status.
func (s *Sandbox) statusError(status int) reply {
	switch status {
	case http.StatusTooManyRequests:
		return s.errorReply(status, typeRateLimit, "Rate limit exceeded. Please contact support for more assistance", nil)
	case http.StatusInternalServerError:
		return s.errorReply(status, typeInternal, "Internal Server Error", nil)
	case http.StatusUnauthorized:
		return s.invalidCredentials()
	case http.StatusNotFound:
		return s.errorReply(status, typeNotFound, "The ressource does not exist", nil)
	case http.StatusBadRequest:
		return s.paramError(nil)
	default:
		return s.errorReply(status, typeOther, http.StatusText(status), nil)
	}
}

// encode renders a reply's body.
func (rp reply) encode() []byte {
	if rp.body == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Mangopay sends HostedUrl with a literal &
	if err := enc.Encode(rp.body); err != nil {
		// Every body is a plain struct of the simulator's own; failing here is a bug.
		panic(fmt.Sprintf("sandbox: encode reply: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func (rp reply) write(w http.ResponseWriter, body []byte) {
	for k, vs := range rp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if body != nil {
		ct := rp.contentType
		if ct == "" {
			ct = "application/json; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(rp.status)
	if body != nil {
		_, _ = w.Write(body)
	}
}

// decodeBody parses a JSON request body into v, turning syntax and type
// errors into Mangopay's param_error.
func (s *Sandbox) decodeBody(body []byte, v any) (reply, bool) {
	if len(body) == 0 {
		return s.paramError(map[string]string{"body": "A non-empty request body is required."}), false
	}
	if err := json.Unmarshal(body, v); err != nil {
		field := "body"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field = te.Field
		}
		return s.paramError(map[string]string{field: "The request body is not valid JSON for this resource: " + err.Error()}), false
	}
	return reply{}, true
}
