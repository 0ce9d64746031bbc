package mangopay_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

const concurrentCallers = 25

// getHooks calls GetHook n times concurrently and returns the errors.
func getHooks(c *mangopay.Client, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.GetHook(context.Background(), "hook_1")
		}()
	}
	wg.Wait()
	return errs
}

func TestToken_FetchedOnceAndSharedByConcurrentCallers(t *testing.T) {
	f := newFake(t)
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	c := f.client(t)

	for _, err := range getHooks(c, concurrentCallers) {
		require.NoError(t, err)
	}

	assert.Equal(t, 1, f.tokenCount())
	for _, r := range f.recordedRequests() {
		assert.Equal(t, "tok-1", r.Token)
	}
}

func TestToken_RenewedBeforeExpiry(t *testing.T) {
	tests := []struct {
		name       string
		expiresIn  int
		calls      int
		wantTokens int
	}{
		// A token is renewed 30 s before it expires, so one that lives 30 s
		// is stale as soon as it arrives and every call fetches a new one.
		{name: "expires within the renewal margin", expiresIn: 30, calls: 3, wantTokens: 3},
		{name: "long-lived token is reused", expiresIn: 3600, calls: 3, wantTokens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.setExpiresIn(tt.expiresIn)
			f.serve("GET /hooks/hook_1", 200, "hook.json")
			c := f.client(t)

			for range tt.calls {
				_, err := c.GetHook(context.Background(), "hook_1")
				require.NoError(t, err)
			}

			assert.Equal(t, tt.wantTokens, f.tokenCount())
		})
	}
}

func TestToken_RequestFormat(t *testing.T) {
	var got *http.Request
	var form string
	srv := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2.01/oauth/token" {
			got = r.Clone(context.Background())
			_ = r.ParseForm()
			form = r.PostForm.Encode()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(readFixture(t, "token.json"))
			return
		}
		assert.Equal(t, "Bearer 094696b3724d4aa5a182eac360dcd537", r.Header.Get("Authorization"))
		_, _ = w.Write(readFixture(t, "hook.json"))
	}))
	c, err := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: testClientID, APIKey: testAPIKey})
	require.NoError(t, err)

	_, err = c.GetHook(context.Background(), "hook_1")

	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, http.MethodPost, got.Method)
	id, key, ok := got.BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, testClientID, id)
	assert.Equal(t, testAPIKey, key)
	assert.Equal(t, "application/x-www-form-urlencoded", got.Header.Get("Content-Type"))
	assert.Equal(t, "grant_type=client_credentials", form)
	assert.Equal(t, mangopay.UserAgent, got.Header.Get("User-Agent"))
}

func TestReauth_OneRefreshAndOneRetry(t *testing.T) {
	f := newFake(t)
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	c := f.client(t)
	_, err := c.GetHook(context.Background(), "hook_1")
	require.NoError(t, err)
	f.revoke("tok-1")

	_, err = c.GetHook(context.Background(), "hook_1")

	require.NoError(t, err)
	assert.Equal(t, 2, f.tokenCount())
	reqs := f.recordedRequests()
	require.Len(t, reqs, 3)
	assert.Equal(t, []string{"tok-1", "tok-1", "tok-2"}, []string{reqs[0].Token, reqs[1].Token, reqs[2].Token})
}

func TestReauth_RetriedPOSTReplaysBody(t *testing.T) {
	f := newFake(t)
	f.serve("POST /hooks", 200, "hook.json")
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	c := f.client(t)
	_, err := c.GetHook(context.Background(), "hook_1")
	require.NoError(t, err)
	f.revoke("tok-1")

	_, err = c.CreateHook(context.Background(), &mangopay.CreateHookParams{EventType: mangopay.EventKYCFailed, URL: "https://example.com/h"})

	require.NoError(t, err)
	reqs := f.recordedRequests()
	require.Len(t, reqs, 3)
	assert.JSONEq(t, `{"EventType":"KYC_FAILED","Url":"https://example.com/h"}`, reqs[1].Body)
	assert.Equal(t, reqs[1].Body, reqs[2].Body)
}

func TestReauth_SecondUnauthorizedIsReturned(t *testing.T) {
	f := newFake(t)
	f.serve("GET /hooks/hook_1", http.StatusUnauthorized, "error_401_invalid_credentials.json")
	c := f.client(t)

	_, err := c.GetHook(context.Background(), "hook_1")

	require.Error(t, err)
	var apiErr *mangopay.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, mangopay.ErrTypeInvalidCredentials, apiErr.Type)
	assert.Equal(t, 2, f.tokenCount(), "exactly one refresh")
	assert.Equal(t, 2, f.requestCount(), "exactly one retry")
	assert.True(t, mangopay.IsPermanent(err))
}

func TestReauth_ConcurrentUnauthorizedShareOneRefresh(t *testing.T) {
	f := newFake(t)
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	c := f.client(t)
	_, err := c.GetHook(context.Background(), "hook_1")
	require.NoError(t, err)
	f.revoke("tok-1")

	for _, err := range getHooks(c, concurrentCallers) {
		require.NoError(t, err)
	}

	assert.Equal(t, 2, f.tokenCount(), "one refresh for all callers")
}

func TestReauth_OtherUnauthorizedIsNotRetried(t *testing.T) {
	f := newFake(t)
	f.handle("GET /hooks/hook_1", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"Message":"nope","Type":"not_authorized"}`))
	})
	c := f.client(t)

	_, err := c.GetHook(context.Background(), "hook_1")

	require.Error(t, err)
	assert.Equal(t, 1, f.tokenCount())
	assert.Equal(t, 1, f.requestCount())
}

func TestPendingUserAction_IsItsOwnErrorAndNotRetried(t *testing.T) {
	const redirect = "https://sca.mangopay.com?token=abc123"
	f := newFake(t)
	f.handle("GET /hooks/hook_1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", "PendingUserAction RedirectUrl="+redirect)
		w.WriteHeader(http.StatusUnauthorized)
		// Even with an invalid_credentials body the header wins.
		_, _ = w.Write(readFixture(t, "error_401_invalid_credentials.json"))
	})
	c := f.client(t)

	_, err := c.GetHook(context.Background(), "hook_1")

	require.Error(t, err)
	var pua *mangopay.PendingUserActionError
	require.True(t, errors.As(err, &pua))
	assert.Equal(t, redirect, pua.RedirectURL)
	require.NotNil(t, pua.Err)
	assert.Equal(t, http.StatusUnauthorized, pua.Err.StatusCode)
	var apiErr *mangopay.Error
	assert.True(t, errors.As(err, &apiErr), "unwraps to the 401 *Error")
	assert.NotContains(t, err.Error(), "abc123", "redirect token stays out of logs")
	assert.True(t, mangopay.IsPermanent(err))
	assert.False(t, mangopay.IsRetryable(err))
	assert.Equal(t, 1, f.tokenCount(), "no refresh")
	assert.Equal(t, 1, f.requestCount(), "no retry")
}

func TestTokenEndpointErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		fixture       string
		wantType      string
		wantMessage   string
		wantRetryable bool
	}{
		{
			name: "oauth locked", status: http.StatusBadRequest, fixture: "error_400_oauth_locked.json",
			wantType:    mangopay.ErrTypeOAuthUnauthorizedClient,
			wantMessage: "This account has been temporarily locked for security reasons. Please try again later.",
		},
		{
			name: "invalid credentials", status: http.StatusUnauthorized, fixture: "error_401_invalid_credentials.json",
			wantType: mangopay.ErrTypeInvalidCredentials, wantMessage: "The authorization credentials are not valid",
		},
		{
			name: "server error", status: http.StatusInternalServerError, fixture: "",
			wantMessage: "Internal Server Error", wantRetryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.tokenFail = func(w http.ResponseWriter) bool {
				respond(t, tt.status, tt.fixture)(w, nil)
				return true
			}
			c := f.client(t)

			_, err := c.GetHook(context.Background(), "hook_1")

			require.Error(t, err)
			var apiErr *mangopay.Error
			require.True(t, errors.As(err, &apiErr), "got %v", err)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantType, apiErr.Type)
			assert.Equal(t, tt.wantMessage, apiErr.Message)
			assert.Contains(t, err.Error(), "fetch oauth token")
			assert.Equal(t, tt.wantRetryable, mangopay.IsRetryable(err))
			assert.Equal(t, !tt.wantRetryable, mangopay.IsPermanent(err))
			assert.Zero(t, f.requestCount())
		})
	}
}

func TestToken_CallerDeadlineWhileFetchBlocks(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t)
	f.tokenFail = func(http.ResponseWriter) bool {
		<-release
		return false
	}
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	c := f.client(t)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := c.GetHook(ctx, "hook_1")

	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, mangopay.IsRetryable(err))
}
