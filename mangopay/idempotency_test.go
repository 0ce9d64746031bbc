package mangopay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

const validKey = "3f1c2a9e-5b7d-4c8e-9a1b-2d3e4f5a6b7c"

func TestValidateIdempotencyKey(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		valid bool
	}{
		{"uuid", validKey, true},
		{"16 characters", "abcdefghij012345", true},
		{"36 characters", strings.Repeat("a", 36), true},
		{"15 characters", "abcdefghij01234", false},
		{"37 characters", strings.Repeat("a", 37), false},
		{"underscore", "abcdefghij_012345", false},
		{"space", "abcdefghij 012345", false},
		{"slash", "abcdefghij/012345", false},
		{"non ascii", "abcdefghijé012345", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mangopay.ValidateIdempotencyKey(tt.key)
			if tt.valid {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, mangopay.ErrInvalidIdempotencyKey)
		})
	}
}

func TestDeriveIdempotencyKey(t *testing.T) {
	a := mangopay.DeriveIdempotencyKey("run-1", "activity-7")
	assert.NoError(t, mangopay.ValidateIdempotencyKey(a))
	assert.Equal(t, a, mangopay.DeriveIdempotencyKey("run-1", "activity-7"), "deterministic")
	assert.NotEqual(t, a, mangopay.DeriveIdempotencyKey("run-1", "activity-8"))
	assert.NotEqual(t, mangopay.DeriveIdempotencyKey("ab", "c"), mangopay.DeriveIdempotencyKey("a", "bc"))
}

func TestInvalidIdempotencyKeyRejectedWithoutIO(t *testing.T) {
	const bad = "too-short"
	calls := map[string]func(ctx context.Context, c *mangopay.Client) error{
		"CreateNaturalUserSCA": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateNaturalUserSCA(ctx, &mangopay.CreateNaturalUserParams{IdempotencyKey: bad})
			return err
		},
		"CreateLegalUserSCA": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateLegalUserSCA(ctx, &mangopay.CreateLegalUserParams{IdempotencyKey: bad})
			return err
		},
		"CreateNaturalUser": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateNaturalUser(ctx, &mangopay.CreateNaturalUserParams{IdempotencyKey: bad})
			return err
		},
		"CreateLegalUser": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateLegalUser(ctx, &mangopay.CreateLegacyLegalUserParams{IdempotencyKey: bad})
			return err
		},
		"CreateIdentityVerification": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateIdentityVerification(ctx, "user_1", &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://x", IdempotencyKey: bad})
			return err
		},
		"CreateKYCDocument": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateKYCDocument(ctx, "user_1", &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCIdentityProof, IdempotencyKey: bad})
			return err
		},
		"AddKYCDocumentPage": func(ctx context.Context, c *mangopay.Client) error {
			return c.AddKYCDocumentPage(ctx, "user_1", "kyc_1", &mangopay.AddKYCDocumentPageParams{File: []byte("x"), IdempotencyKey: bad})
		},
		"CreateHook": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateHook(ctx, &mangopay.CreateHookParams{IdempotencyKey: bad})
			return err
		},
		"GetResponse": func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.GetResponse(ctx, bad)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			c := f.client(t)

			err := call(context.Background(), c)

			require.Error(t, err)
			assert.ErrorIs(t, err, mangopay.ErrInvalidIdempotencyKey)
			assert.True(t, mangopay.IsPermanent(err))
			assert.Zero(t, f.tokenCount(), "no token fetched")
			assert.Zero(t, f.requestCount(), "no request sent")
		})
	}
}

func TestIdempotencyConflict_RecoversOriginalSuccess(t *testing.T) {
	f := newFake(t)
	// The stored response is of POST /users/natural (the documented example).
	f.serve("POST /users/natural", http.StatusConflict, "error_409_idempotency.json")
	f.serve("GET /responses/"+validKey, http.StatusOK, "idempotency_response.json")
	c := f.client(t)

	got, err := c.CreateNaturalUser(context.Background(), &mangopay.CreateNaturalUserParams{FirstName: "Alex", IdempotencyKey: validKey})

	require.NoError(t, err)
	assert.Equal(t, "user_m_01JF7AP1M46TR0JH7WBGPWK7D7", got.ID)
	assert.Equal(t, mangopay.UserCategoryOwner, got.UserCategory)
	reqs := f.recordedRequests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "GET", reqs[1].Method)
	assert.Empty(t, reqs[1].Header.Get("Idempotency-Key"), "the lookup is not itself idempotent-keyed")
}

func TestIdempotencyConflict_ReturnsOriginalError(t *testing.T) {
	f := newFake(t)
	f.serve("POST /users/natural", http.StatusConflict, "error_409_idempotency.json")
	f.serve("GET /responses/"+validKey, http.StatusOK, "idempotency_response_error.json")
	c := f.client(t)

	_, err := c.CreateNaturalUser(context.Background(), &mangopay.CreateNaturalUserParams{FirstName: "Alex", IdempotencyKey: validKey})

	require.Error(t, err)
	var apiErr *mangopay.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	assert.Equal(t, mangopay.ErrTypeParamError, apiErr.Type)
	assert.Equal(t, map[string]string{"CreditedWalletId": "The CreditedWalletId field is required."}, apiErr.Errors)
	assert.Equal(t, validKey, apiErr.IdempotencyKey)
	assert.True(t, mangopay.IsPermanent(err))
	assert.Contains(t, err.Error(), "mangopay: POST /users/natural: status 400 param_error")
}

func TestIdempotencyConflict_RecoveredServerErrorIsPermanent(t *testing.T) {
	f := newFake(t)
	f.serve("POST /hooks", http.StatusConflict, "error_409_idempotency.json")
	f.handle("GET /responses/"+validKey, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"StatusCode":"500","ContentLength":"10","ContentType":"application/json","Date":"Tue, 19 Jul 2022 08:47:59 GMT",
			"RequestURL":"https://api.mangopay.com/V2.01/c/hooks","Resource":{"Message":"Internal Server Error","Type":"InternalServerError"}}`))
	})
	c := f.client(t)

	_, err := c.CreateHook(context.Background(), &mangopay.CreateHookParams{IdempotencyKey: validKey})

	require.Error(t, err)
	var apiErr *mangopay.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, 500, apiErr.StatusCode)
	assert.False(t, mangopay.IsRetryable(err), "the key cannot be reused, so retrying cannot help")
	assert.True(t, mangopay.IsPermanent(err))
}

// A 409 says the key was used in the last 24 hours; a 404 from /responses
// then means the first call has not finished yet (the simulator, like
// Mangopay, stores the response once it is sent), so a retry later will
// find it.
func TestIdempotencyConflict_ResponseNotStoredYetIsRetryable(t *testing.T) {
	f := newFake(t)
	f.serve("POST /hooks", http.StatusConflict, "error_409_idempotency.json")
	// No /responses route: the fake answers 404.
	c := f.client(t)

	_, err := c.CreateHook(context.Background(), &mangopay.CreateHookParams{IdempotencyKey: validKey})

	require.Error(t, err)
	assert.ErrorIs(t, err, mangopay.ErrIdempotentResponsePending)
	assert.True(t, mangopay.IsRetryable(err), "the first call is still in flight: retry later")
	assert.False(t, mangopay.IsPermanent(err))
	assert.False(t, mangopay.IsNotFound(err), "the 404 of the lookup is not the call's outcome")
	var apiErr *mangopay.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, http.StatusConflict, apiErr.StatusCode, "the call's own answer stays reachable")
}

func TestIdempotencyConflict_StoredResponseOfAnotherCall(t *testing.T) {
	tests := []struct {
		name       string
		requestURL string
		wantOK     bool
	}{
		{"same path, other host, case and ClientId spelling", "https://api.mangopay.com/V2.01/clientId/Hooks/", true},
		{"same path with a query", "https://api.mangopay.com/v2.01/kycflow-test/hooks?x=1", true},
		{"no RequestURL to compare", "", true},
		{"another endpoint", "https://api.mangopay.com/V2.01/clientId/users/natural", false},
		{"a longer path", "https://api.mangopay.com/v2.01/kycflow-test/hooks/hook_m_1", false},
		{"not a Mangopay path", "https://api.mangopay.com/hooks", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.serve("POST /hooks", http.StatusConflict, "error_409_idempotency.json")
			f.handle("GET /responses/"+validKey, func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(`{"StatusCode":"200","ContentLength":"10","ContentType":"application/json","Date":"Tue, 19 Jul 2022 08:47:59 GMT",
					"RequestURL":"` + tt.requestURL + `","Resource":{"Id":"hook_m_1","EventType":"KYC_FAILED","Url":"https://x"}}`))
			})
			c := f.client(t)

			got, err := c.CreateHook(context.Background(), &mangopay.CreateHookParams{EventType: mangopay.EventKYCFailed, URL: "https://x", IdempotencyKey: validKey})

			if tt.wantOK {
				require.NoError(t, err)
				assert.Equal(t, "hook_m_1", got.ID)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, mangopay.ErrIdempotencyKeyMismatch)
			assert.True(t, mangopay.IsPermanent(err), "the key belongs to another call: retrying cannot help")
			assert.False(t, mangopay.IsRetryable(err))
			assert.Contains(t, err.Error(), tt.requestURL)
		})
	}
}

func TestIdempotencyConflict_TransientLookupFailureIsRetryable(t *testing.T) {
	f := newFake(t)
	f.serve("POST /hooks", http.StatusConflict, "error_409_idempotency.json")
	f.serve("GET /responses/"+validKey, http.StatusServiceUnavailable, "")
	c := f.client(t)

	_, err := c.CreateHook(context.Background(), &mangopay.CreateHookParams{IdempotencyKey: validKey})

	require.Error(t, err)
	assert.True(t, mangopay.IsRetryable(err))
}

func TestIdempotencyConflict_WithoutKeyIsPlainError(t *testing.T) {
	f := newFake(t)
	f.serve("POST /hooks", http.StatusConflict, "error_409_idempotency.json")
	c := f.client(t)

	_, err := c.CreateHook(context.Background(), &mangopay.CreateHookParams{})

	require.Error(t, err)
	var apiErr *mangopay.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, http.StatusConflict, apiErr.StatusCode)
	assert.Equal(t, 1, f.requestCount())
}

func TestIdempotencyResponse_RoundTrip(t *testing.T) {
	var r mangopay.IdempotencyResponse
	require.NoError(t, r.UnmarshalJSON(readFixture(t, "idempotency_response.json")))

	b, err := r.MarshalJSON()
	require.NoError(t, err)

	var again mangopay.IdempotencyResponse
	require.NoError(t, again.UnmarshalJSON(b))
	assert.Equal(t, r.StatusCode, again.StatusCode)
	assert.Equal(t, r.Date, again.Date)
	assert.JSONEq(t, string(r.Resource), string(again.Resource))
	assert.Contains(t, string(b), `"StatusCode":"200"`)

	var numeric mangopay.IdempotencyResponse
	require.NoError(t, numeric.UnmarshalJSON([]byte(`{"StatusCode":204,"ContentLength":0,"Date":"garbage"}`)))
	assert.Equal(t, 204, numeric.StatusCode)
	assert.True(t, numeric.Date.IsZero())

	var bad mangopay.IdempotencyResponse
	assert.Error(t, bad.UnmarshalJSON([]byte(`{"StatusCode":"OK"}`)))
}
