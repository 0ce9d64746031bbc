package mangopay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

func TestErrorShapes(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		fixture string
		body    string // used when fixture is empty
		want    mangopay.Error
		wantStr string
	}{
		{
			name: "401 invalid_credentials without Id or errors", status: 401, fixture: "error_401_invalid_credentials.json",
			want: mangopay.Error{
				Type: "invalid_credentials", Message: "The authorization credentials are not valid",
				Date: time.Unix(1733404277, 0).UTC(),
			},
			wantStr: "status 401 invalid_credentials: The authorization credentials are not valid",
		},
		{
			name: "400 oauth shape", status: 400, fixture: "error_400_oauth_locked.json",
			want: mangopay.Error{
				Type:    "unauthorized_client",
				Message: "This account has been temporarily locked for security reasons. Please try again later.",
			},
			wantStr: "status 400 unauthorized_client: This account has been temporarily locked",
		},
		{
			name: "403 rfc 7807", status: 403, fixture: "error_403_rfc7807.json",
			want: mangopay.Error{
				Type: "Forbidden", Title: "Forbidden", Message: "Forbidden",
				TraceID: "00-046605fe21abece0903b78483c6dc5dd-099f889c8e09309c-01",
			},
			wantStr: "status 403 Forbidden: Forbidden [trace 00-046605fe21abece0903b78483c6dc5dd-099f889c8e09309c-01]",
		},
		{
			name: "400 param_error with float date", status: 400, fixture: "error_400_param_error.json",
			want: mangopay.Error{
				Type: "param_error", Message: "Missing or incorrect required parameter",
				ID: "6b5b73cd-6d4c-4ea5-8859-9447dfe2c5b2", Date: time.Unix(1746458497, 0).UTC(),
				Errors: map[string]string{"UserId": "UserId is not valid"},
			},
			wantStr: "status 400 param_error: Missing or incorrect required parameter (UserId: UserId is not valid) [id 6b5b73cd-6d4c-4ea5-8859-9447dfe2c5b2]",
		},
		{
			name: "400 not owner with null errors", status: 400, fixture: "error_400_not_owner.json",
			want: mangopay.Error{
				Type: "invalid_action", Message: "This feature is only available for users categorised as Owner.",
				ID: "49377b80-01b4-4b68-ba8b-99920aaf47a9", Date: time.Unix(1736344654, 0).UTC(),
			},
			wantStr: "status 400 invalid_action: This feature is only available for users categorised as Owner.",
		},
		{
			name: "400 partnership", status: 400, fixture: "error_400_partnership.json",
			want: mangopay.Error{
				Type:    "invalid_action",
				Message: "The LegalUserType PARTNERSHIP is not currently supported in the identity verification process. An event will be skipped. PartnerId: {ClientId}/ UserExternalId: {UserId}",
				ID:      "58148aa4-57bb-4d61-94e6-c1450116606e", Date: time.Unix(1746458611, 0).UTC(),
			},
			wantStr: "status 400 invalid_action: The LegalUserType PARTNERSHIP",
		},
		{
			name: "409 idempotency with suffixed id", status: 409, fixture: "error_409_idempotency.json",
			want: mangopay.Error{
				Type: "idempotent_creation_conflict", Message: "A resource has already been created with this Idempotency Key",
				ID: "bf6cce22-4c12-454f-ac05-ca20c8683735#1452723935", Date: time.Unix(1452723944, 0).UTC(),
			},
			wantStr: "status 409 idempotent_creation_conflict",
		},
		{
			name: "429 rate limit", status: 429, fixture: "error_429_rate_limit.json",
			want: mangopay.Error{
				Type: "rate_limit", Message: "Rate limit exceeded. Please contact support for more assistance",
				ID: "2f1f8c4e-1c83-4ae4-9a3b-5a1f0c9d7e21", Date: time.Unix(1715241000, 0).UTC(),
			},
			wantStr: "status 429 rate_limit",
		},
		{
			name: "400 max_page_number", status: 400, fixture: "error_400_max_page_number.json",
			want: mangopay.Error{
				Type: "max_page_number", Message: "Maximum number of pages exceeded. You can only add up to 5 pages to this document",
				ID: "7a69563a-c528-4428-91f5-d63cbf5855a4", Date: time.Unix(1697101828, 0).UTC(),
			},
			wantStr: "status 400 max_page_number",
		},
		{
			name: "404 ressource_not_found", status: 404, fixture: "error_404_not_found.json",
			want: mangopay.Error{
				Type: "ressource_not_found", Message: "The ressource does not exist",
				ID: "0f2d8a5c-6b1e-4c1d-9a57-3d6a8f2b9e10", Date: time.Unix(1740581497, 0).UTC(),
				Errors: map[string]string{"RessourceNotFound": "Cannot found the ressource PayIn with the id=123456789"},
			},
			wantStr: "status 404 ressource_not_found: The ressource does not exist (RessourceNotFound: Cannot found",
		},
		{
			name: "403 terms not accepted", status: 403, fixture: "error_403_terms.json",
			want: mangopay.Error{
				Type: "user_hasnt_accepted_terms_and_conditions", Message: "User must accept the terms and conditions before account creation or modification.",
				ID: "dbbc752b-6f9f-4248-a4bb-04ee0ba7b4b7", Date: time.Unix(1730810728, 0).UTC(),
			},
			wantStr: "status 403 user_hasnt_accepted_terms_and_conditions",
		},
		{
			name: "500 internal", status: 500, fixture: "error_500_internal.json",
			want: mangopay.Error{
				Type: "InternalServerError", Message: "Internal Server Error",
				ID: "a3c1d7e2-5f4b-4e8a-9c6d-2b1f0e9d8c7a", Date: time.Unix(1746458611, 0).UTC(),
			},
			wantStr: "status 500 InternalServerError: Internal Server Error",
		},
		{
			name: "capitalised Errors key", status: 400,
			body: `{"Message":"bad","Type":"param_error","Errors":{"Tag":"too long"}}`,
			want: mangopay.Error{Type: "param_error", Message: "bad", Errors: map[string]string{"Tag": "too long"}},
		},
		{
			name: "rfc 7807 with detail and validation errors", status: 400,
			body: `{"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1","title":"One or more validation errors occurred.","status":400,"traceId":"00-1","errors":{"ReturnUrl":["The ReturnUrl field is required."]}}`,
			want: mangopay.Error{
				Type: "One or more validation errors occurred.", Title: "One or more validation errors occurred.",
				Message: "Bad Request", TraceID: "00-1", Errors: map[string]string{"ReturnUrl": "The ReturnUrl field is required."},
			},
		},
		{
			name: "empty body", status: 502, body: "",
			want:    mangopay.Error{Message: "Bad Gateway"},
			wantStr: "status 502: Bad Gateway",
		},
		{
			name: "html body", status: 503, body: "<html>maintenance</html>",
			want: mangopay.Error{Message: "Service Unavailable"},
		},
		{
			name: "string date", status: 400, body: `{"Message":"m","Type":"t","Date":"1746458497"}`,
			want: mangopay.Error{Type: "t", Message: "m", Date: time.Unix(1746458497, 0).UTC()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.fixture != "" {
				f.serve("GET /hooks/hook_1", tt.status, tt.fixture)
			} else {
				f.handle("GET /hooks/hook_1", func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(tt.body))
				})
			}
			c := f.client(t)

			_, err := c.GetHook(context.Background(), "hook_1")

			require.Error(t, err)
			var got *mangopay.Error
			require.True(t, errors.As(err, &got))
			want := tt.want
			want.StatusCode = tt.status
			want.Body = got.Body
			assert.Equal(t, &want, got)
			if tt.fixture != "" {
				assert.Equal(t, readFixture(t, tt.fixture), got.Body)
			}
			if tt.wantStr != "" {
				assert.Contains(t, got.Error(), tt.wantStr)
			}
			assert.Contains(t, err.Error(), "mangopay: GET /hooks/{HookId}: status ")
			assert.NotContains(t, got.Error(), `{"`, "not a JSON dump")
			assert.NotContains(t, got.Error(), "\n", "one line")
		})
	}
}

// timeoutErr is a net.Error reporting a timeout.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErrorClassification(t *testing.T) {
	apiErr := func(status int, typ string) error {
		return fmt.Errorf("mangopay: GET /x: %w", &mangopay.Error{StatusCode: status, Type: typ})
	}
	tests := []struct {
		name          string
		err           error
		wantRetryable bool
		wantPermanent bool
		wantNotFound  bool
	}{
		{name: "nil", err: nil},
		{name: "400 param_error", err: apiErr(400, mangopay.ErrTypeParamError), wantPermanent: true},
		{name: "401 invalid_credentials", err: apiErr(401, mangopay.ErrTypeInvalidCredentials), wantPermanent: true},
		{name: "403 rfc 7807", err: apiErr(403, "Forbidden"), wantPermanent: true},
		{name: "404", err: apiErr(404, ""), wantPermanent: true, wantNotFound: true},
		{name: "ressource_not_found type on 400", err: apiErr(400, mangopay.ErrTypeResourceNotFound), wantPermanent: true, wantNotFound: true},
		{name: "409 conflict", err: apiErr(409, mangopay.ErrTypeIdempotentCreationConflict), wantPermanent: true},
		{name: "429 rate_limit", err: apiErr(429, mangopay.ErrTypeRateLimit), wantRetryable: true},
		{name: "500", err: apiErr(500, mangopay.ErrTypeInternalServerError), wantRetryable: true},
		{name: "503", err: apiErr(503, ""), wantRetryable: true},
		{
			name:          "recovered 500 for a used idempotency key",
			err:           &mangopay.Error{StatusCode: 500, IdempotencyKey: "3f1c2a9e-5b7d-4c8e-9a1b-2d3e4f5a6b7c"},
			wantPermanent: true,
		},
		{
			name:          "pending user action",
			err:           fmt.Errorf("wrapped: %w", &mangopay.PendingUserActionError{RedirectURL: "https://sca", Err: &mangopay.Error{StatusCode: 401}}),
			wantPermanent: true,
		},
		{name: "deadline exceeded", err: fmt.Errorf("x: %w", context.DeadlineExceeded), wantRetryable: true},
		{name: "canceled", err: fmt.Errorf("x: %w", context.Canceled)},
		{name: "url error", err: &url.Error{Op: "Get", URL: "https://x", Err: errors.New("connection refused")}, wantRetryable: true},
		{name: "net timeout", err: fmt.Errorf("x: %w", timeoutErr{}), wantRetryable: true},
		{name: "op error", err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused")}, wantRetryable: true},
		{name: "truncated body", err: fmt.Errorf("read: %w", io.ErrUnexpectedEOF), wantRetryable: true},
		{name: "invalid idempotency key", err: fmt.Errorf("x: %w", mangopay.ErrInvalidIdempotencyKey), wantPermanent: true},
		{name: "invalid request", err: fmt.Errorf("x: %w", mangopay.ErrInvalidRequest), wantPermanent: true},
		{name: "unclassified", err: errors.New("decode response: invalid character")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantRetryable, mangopay.IsRetryable(tt.err), "IsRetryable")
			assert.Equal(t, tt.wantPermanent, mangopay.IsPermanent(tt.err), "IsPermanent")
			assert.Equal(t, tt.wantNotFound, mangopay.IsNotFound(tt.err), "IsNotFound")
		})
	}
}

func TestTransportErrorsAreWrapped(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	_, _, err := c.ListHooks(context.Background(), nil) // fetch a token first
	require.Error(t, err)                               // no route: 404
	require.True(t, mangopay.IsNotFound(err))
	f.srv.Close()

	_, err = c.GetHook(context.Background(), "hook_1")

	require.Error(t, err)
	var urlErr *url.Error
	assert.True(t, errors.As(err, &urlErr), "got %T: %v", err, err)
	assert.True(t, mangopay.IsRetryable(err))
	assert.False(t, mangopay.IsPermanent(err))
	assert.Contains(t, err.Error(), "mangopay: GET /hooks/{HookId}")
}
