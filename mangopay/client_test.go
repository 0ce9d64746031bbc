package mangopay_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

func TestNew_Validation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     mangopay.Config
		wantErr string
	}{
		{name: "valid defaults", cfg: mangopay.Config{ClientID: "id", APIKey: "key"}},
		{name: "valid local simulator", cfg: mangopay.Config{BaseURL: "http://127.0.0.1:8080/", ClientID: "id", APIKey: "key"}},
		{name: "missing client id", cfg: mangopay.Config{APIKey: "key"}, wantErr: "ClientID is required"},
		{name: "missing api key", cfg: mangopay.Config{ClientID: "id"}, wantErr: "APIKey is required"},
		{name: "unparsable url", cfg: mangopay.Config{BaseURL: "http://[::1", ClientID: "id", APIKey: "key"}, wantErr: "BaseURL"},
		{name: "wrong scheme", cfg: mangopay.Config{BaseURL: "ftp://example.com", ClientID: "id", APIKey: "key"}, wantErr: "must use http or https"},
		{name: "no host", cfg: mangopay.Config{BaseURL: "https://", ClientID: "id", APIKey: "key"}, wantErr: "has no host"},
		{name: "query in url", cfg: mangopay.Config{BaseURL: "https://example.com?x=1", ClientID: "id", APIKey: "key"}, wantErr: "query"},
		{name: "cert file without key", cfg: mangopay.Config{ClientID: "id", APIKey: "key", ClientCertFile: "cert.pem"}, wantErr: "must be set together"},
		{name: "cert pem without key", cfg: mangopay.Config{ClientID: "id", APIKey: "key", ClientCertPEM: []byte("x")}, wantErr: "must be set together"},
		{name: "files and pem", cfg: mangopay.Config{ClientID: "id", APIKey: "key", ClientCertFile: "c", ClientKeyFile: "k", ClientCertPEM: []byte("x"), ClientKeyPEM: []byte("y")}, wantErr: "not both"},
		{name: "unreadable cert", cfg: mangopay.Config{ClientID: "id", APIKey: "key", ClientCertFile: "/nonexistent/cert.pem", ClientKeyFile: "/nonexistent/key.pem"}, wantErr: "load client certificate"},
		{name: "garbage pem", cfg: mangopay.Config{ClientID: "id", APIKey: "key", ClientCertPEM: []byte("x"), ClientKeyPEM: []byte("y")}, wantErr: "parse client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := mangopay.New(tt.cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.NotNil(t, c)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, mangopay.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, mangopay.IsPermanent(err), "config errors are permanent")
		})
	}
}

func TestConfig_LogValueHidesSecrets(t *testing.T) {
	cfg := mangopay.Config{ClientID: "id", APIKey: "super-secret", ClientKeyPEM: []byte("private")}
	got := cfg.LogValue().String()
	assert.NotContains(t, got, "super-secret")
	assert.NotContains(t, got, "private")
	assert.Contains(t, got, "id")
}

// endpointCase is one row of the wire-format table.
type endpointCase struct {
	name      string
	route     string // "METHOD /escaped/path" as the fake sees it
	status    int
	fixture   string
	call      func(ctx context.Context, c *mangopay.Client) error
	wantBody  string // JSON the request must carry; "" for none
	wantQuery url.Values
	wantKey   string // expected Idempotency-Key header
}

func TestEndpoints_Wire(t *testing.T) {
	const key = "3f1c2a9e-5b7d-4c8e-9a1b-2d3e4f5a6b7c"
	birthday := mangopay.Timestamp(652117514)
	before := time.Unix(1746449999, 0)
	after := time.Unix(1746440000, 0)
	tag := "renamed"
	tests := []endpointCase{
		{
			name: "create natural user sca", route: "POST /sca/users/natural", status: 200, fixture: "user_natural_sca_owner.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.CreateNaturalUserSCA(ctx, &mangopay.CreateNaturalUserParams{
					FirstName: "Alex", LastName: "Smith", Email: "alex.smith@example.com", UserCategory: mangopay.UserCategoryOwner,
					TermsAndConditionsAccepted: true, Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
					SCAContext: mangopay.SCAUserPresent, IdempotencyKey: key,
				})
				return err
			},
			wantBody: `{"FirstName":"Alex","LastName":"Smith","Email":"alex.smith@example.com","UserCategory":"OWNER",
				"TermsAndConditionsAccepted":true,"Birthday":652117514,"Nationality":"FR","CountryOfResidence":"FR","ScaContext":"USER_PRESENT"}`,
			wantKey: key,
		},
		{
			name: "create natural user legacy drops sca context", route: "POST /users/natural", status: 200, fixture: "user_natural_sca_payer.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.CreateNaturalUser(ctx, &mangopay.CreateNaturalUserParams{
					FirstName: "Alex", LastName: "Smith", Email: "a@example.com", UserCategory: mangopay.UserCategoryPayer,
					SCAContext: mangopay.SCAUserPresent,
				})
				return err
			},
			wantBody: `{"FirstName":"Alex","LastName":"Smith","Email":"a@example.com","UserCategory":"PAYER","TermsAndConditionsAccepted":false}`,
		},
		{
			name: "create legal user sca", route: "POST /sca/users/legal", status: 200, fixture: "user_legal_sca_owner.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.CreateLegalUserSCA(ctx, &mangopay.CreateLegalUserParams{
					Name: "Alex Smith", LegalPersonType: mangopay.LegalSoletrader, Email: "s@example.com",
					UserCategory: mangopay.UserCategoryOwner, TermsAndConditionsAccepted: true,
					LegalRepresentative: &mangopay.LegalRepresentative{FirstName: "Alex", LastName: "Smith", Email: "alex+accept@example.com"},
					HeadquartersAddress: &mangopay.Address{AddressLine1: "3 rue", City: "Paris", PostalCode: "75004", Country: "FR"},
					CompanyNumber:       "123456789", IdempotencyKey: key,
				})
				return err
			},
			wantBody: `{"Name":"Alex Smith","LegalPersonType":"SOLETRADER","Email":"s@example.com","UserCategory":"OWNER",
				"TermsAndConditionsAccepted":true,"LegalRepresentative":{"FirstName":"Alex","LastName":"Smith","Email":"alex+accept@example.com"},
				"HeadquartersAddress":{"AddressLine1":"3 rue","City":"Paris","PostalCode":"75004","Country":"FR"},"CompanyNumber":"123456789"}`,
			wantKey: key,
		},
		{
			name: "create legal user legacy", route: "POST /users/legal", status: 200, fixture: "user_legal_legacy.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.CreateLegalUser(ctx, &mangopay.CreateLegacyLegalUserParams{
					Name: "Alex Smith Services", LegalPersonType: mangopay.LegalBusiness, Email: "s@example.com",
					LegalRepresentativeFirstName: "Alex", LegalRepresentativeLastName: "Smith",
				})
				return err
			},
			wantBody: `{"Name":"Alex Smith Services","LegalPersonType":"BUSINESS","Email":"s@example.com","TermsAndConditionsAccepted":false,
				"LegalRepresentativeFirstName":"Alex","LegalRepresentativeLastName":"Smith"}`,
		},
		{
			name: "get user sca", route: "GET /sca/users/user_m_1", status: 200, fixture: "user_natural_sca_owner.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.GetUserSCA(ctx, "user_m_1")
				return err
			},
		},
		{
			name: "get user legacy", route: "GET /users/user_m_1", status: 200, fixture: "user_legal_legacy.json",
			call: func(ctx context.Context, c *mangopay.Client) error { _, err := c.GetUser(ctx, "user_m_1"); return err },
		},
		{
			name: "create identity verification", route: "POST /users/user_m_1/identity-verifications", status: 200, fixture: "idv_create.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.CreateIdentityVerification(ctx, "user_m_1", &mangopay.CreateIdentityVerificationParams{
					ReturnURL: "https://example.com", Tag: "t", IdempotencyKey: key,
				})
				return err
			},
			wantBody: `{"ReturnUrl":"https://example.com","Tag":"t"}`,
			wantKey:  key,
		},
		{
			name: "get identity verification", route: "GET /identity-verifications/idnver_1", status: 200, fixture: "idv_view_validated.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.GetIdentityVerification(ctx, "idnver_1")
				return err
			},
		},
		{
			name: "list identity verifications", route: "GET /users/user_m_1/identity-verifications", status: 200, fixture: "idv_list.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, _, err := c.ListIdentityVerifications(ctx, "user_m_1", &mangopay.ListOptions{Page: 2, PerPage: 50, Sort: "CreationDate:DESC"})
				return err
			},
			wantQuery: url.Values{"page": {"2"}, "per_page": {"50"}, "Sort": {"CreationDate:DESC"}},
		},
		{
			name: "create kyc document", route: "POST /users/user_m_1/kyc/documents", status: 200, fixture: "kyc_document.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.CreateKYCDocument(ctx, "user_m_1", &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCIdentityProof, Tag: "accept", IdempotencyKey: key})
				return err
			},
			wantBody: `{"Type":"IDENTITY_PROOF","Tag":"accept"}`,
			wantKey:  key,
		},
		{
			name: "add kyc document page", route: "POST /users/user_m_1/kyc/documents/kyc_1/pages", status: 204,
			call: func(ctx context.Context, c *mangopay.Client) error {
				return c.AddKYCDocumentPage(ctx, "user_m_1", "kyc_1", &mangopay.AddKYCDocumentPageParams{File: []byte("%PDF-1.4 test"), IdempotencyKey: key})
			},
			wantBody: `{"File":"` + base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 test")) + `"}`,
			wantKey:  key,
		},
		{
			name: "submit kyc document", route: "PUT /users/user_m_1/kyc/documents/kyc_1", status: 200, fixture: "kyc_document.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.SubmitKYCDocument(ctx, "user_m_1", "kyc_1", nil)
				return err
			},
			wantBody: `{"Status":"VALIDATION_ASKED"}`,
		},
		{
			name: "get kyc document", route: "GET /kyc/documents/kyc_1", status: 200, fixture: "kyc_document.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.GetKYCDocument(ctx, "kyc_1")
				return err
			},
		},
		{
			name: "list kyc documents with filters", route: "GET /users/user_m_1/kyc/documents", status: 200, fixture: "",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, _, err := c.ListKYCDocuments(ctx, "user_m_1", &mangopay.ListKYCDocumentsOptions{
					ListOptions: mangopay.ListOptions{PerPage: 100},
					Status:      []mangopay.KYCDocumentStatus{mangopay.KYCDocumentValidated, mangopay.KYCDocumentRefused},
					Type:        []mangopay.KYCDocumentType{mangopay.KYCIdentityProof},
					BeforeDate:  &before, AfterDate: &after,
				})
				return err
			},
			wantQuery: url.Values{"per_page": {"100"}, "Status": {"VALIDATED,REFUSED"}, "Type": {"IDENTITY_PROOF"},
				"BeforeDate": {"1746449999"}, "AfterDate": {"1746440000"}},
		},
		{
			name: "create hook", route: "POST /hooks", status: 200, fixture: "hook.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.CreateHook(ctx, &mangopay.CreateHookParams{EventType: mangopay.EventUserAccountActivated, URL: "https://example.com/hook", IdempotencyKey: key})
				return err
			},
			wantBody: `{"EventType":"USER_ACCOUNT_ACTIVATED","Url":"https://example.com/hook"}`,
			wantKey:  key,
		},
		{
			name: "get hook", route: "GET /hooks/hook_m_1", status: 200, fixture: "hook.json",
			call: func(ctx context.Context, c *mangopay.Client) error { _, err := c.GetHook(ctx, "hook_m_1"); return err },
		},
		{
			name: "list hooks", route: "GET /hooks", status: 200, fixture: "",
			call: func(ctx context.Context, c *mangopay.Client) error { _, _, err := c.ListHooks(ctx, nil); return err },
		},
		{
			name: "update hook", route: "PUT /hooks/hook_m_1", status: 200, fixture: "hook.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, err := c.UpdateHook(ctx, "hook_m_1", &mangopay.UpdateHookParams{Status: mangopay.HookEnabled, Validity: mangopay.HookValid, Tag: &tag})
				return err
			},
			wantBody: `{"Status":"ENABLED","Validity":"VALID","Tag":"renamed"}`,
		},
		{
			name: "list events", route: "GET /events", status: 200, fixture: "events_list.json",
			call: func(ctx context.Context, c *mangopay.Client) error {
				_, _, err := c.ListEvents(ctx, &mangopay.ListEventsOptions{EventType: mangopay.EventKYCCreated, AfterDate: &after})
				return err
			},
			wantQuery: url.Values{"EventType": {"KYC_CREATED"}, "AfterDate": {"1746440000"}},
		},
		{
			name: "get response", route: "GET /responses/" + key, status: 200, fixture: "idempotency_response.json",
			call: func(ctx context.Context, c *mangopay.Client) error { _, err := c.GetResponse(ctx, key); return err },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.fixture == "" && tt.status == 200 {
				f.handle(tt.route, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("[]")) })
			} else {
				f.serve(tt.route, tt.status, tt.fixture)
			}
			c := f.client(t)

			require.NoError(t, tt.call(context.Background(), c))

			reqs := f.recordedRequests()
			require.Len(t, reqs, 1)
			got := reqs[0]
			assert.Equal(t, tt.route, got.Method+" "+got.Path)
			assert.Equal(t, "Bearer tok-1", got.Header.Get("Authorization"))
			assert.Equal(t, "application/json", got.Header.Get("Accept"))
			assert.Equal(t, mangopay.UserAgent, got.Header.Get("User-Agent"))
			assert.Equal(t, tt.wantKey, got.Header.Get("Idempotency-Key"))
			if tt.wantBody == "" {
				assert.Empty(t, got.Body)
			} else {
				assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
				assert.JSONEq(t, tt.wantBody, got.Body)
			}
			if tt.wantQuery != nil {
				q, err := url.ParseQuery(got.Query)
				require.NoError(t, err)
				assert.Equal(t, tt.wantQuery, q)
			} else {
				assert.Empty(t, got.Query)
			}
		})
	}
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	f := newFake(t)
	f.serve("GET /users/a%2Fb%20c%3F/identity-verifications", 200, "idv_list.json")
	c := f.client(t)

	_, _, err := c.ListIdentityVerifications(context.Background(), "a/b c?", nil)

	require.NoError(t, err)
	reqs := f.recordedRequests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/users/a%2Fb%20c%3F/identity-verifications", reqs[0].Path)
}

func TestInvalidArgumentsFailBeforeIO(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx context.Context, c *mangopay.Client) error
	}{
		{"empty user id", func(ctx context.Context, c *mangopay.Client) error { _, err := c.GetUser(ctx, ""); return err }},
		{"dot-dot id", func(ctx context.Context, c *mangopay.Client) error { _, err := c.GetKYCDocument(ctx, ".."); return err }},
		{"nil idv params", func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateIdentityVerification(ctx, "user_m_1", nil)
			return err
		}},
		{"nil user params", func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.CreateNaturalUserSCA(ctx, nil)
			return err
		}},
		{"empty page", func(ctx context.Context, c *mangopay.Client) error {
			return c.AddKYCDocumentPage(ctx, "user_m_1", "kyc_1", &mangopay.AddKYCDocumentPageParams{})
		}},
		{"empty hook update", func(ctx context.Context, c *mangopay.Client) error {
			_, err := c.UpdateHook(ctx, "hook_1", &mangopay.UpdateHookParams{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := f.client(t)

			err := tt.call(context.Background(), c)

			require.Error(t, err)
			assert.ErrorIs(t, err, mangopay.ErrInvalidRequest)
			assert.True(t, mangopay.IsPermanent(err))
			assert.False(t, mangopay.IsRetryable(err))
			assert.Zero(t, f.tokenCount(), "no token fetched")
			assert.Zero(t, f.requestCount(), "no request sent")
		})
	}
}

func TestUndecodableSuccessBodyNamesEndpoint(t *testing.T) {
	f := newFake(t)
	f.handle("GET /identity-verifications/idnver_1", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<html>gateway</html>`))
	})
	f.handle("GET /hooks/hook_1", func(w http.ResponseWriter, _ *http.Request) {})
	c := f.client(t)

	_, err := c.GetIdentityVerification(context.Background(), "idnver_1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET /identity-verifications/{IdvSessionId}")
	assert.Contains(t, err.Error(), "decode response")

	_, err = c.GetHook(context.Background(), "hook_1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET /hooks/{HookId}: decode response: empty body")
}

func TestOversizedSuccessBodyIsRejected(t *testing.T) {
	f := newFake(t)
	f.handle("GET /hooks", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("[" + strings.Repeat(" ", 10<<20) + "]"))
	})
	c := f.client(t)

	_, _, err := c.ListHooks(context.Background(), nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeds")
}

func TestPagination(t *testing.T) {
	f := newFake(t)
	f.handle("GET /users/user_m_1/identity-verifications", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Number-Of-Pages", "3")
		w.Header().Set("X-Number-Of-Items", "25")
		_, _ = w.Write(readFixture(t, "idv_list.json"))
	})
	c := f.client(t)

	items, page, err := c.ListIdentityVerifications(context.Background(), "user_m_1", nil)

	require.NoError(t, err)
	assert.Len(t, items, 2)
	assert.Equal(t, &mangopay.Pagination{Page: 1, PerPage: 10, TotalPages: 3, TotalItems: 25}, page)
	assert.True(t, page.HasNext())
}

func TestWorksUnderBaseURLPathPrefix(t *testing.T) {
	f := newFake(t)
	f.serve("GET /hooks/hook_1", 200, "hook.json")
	mux := http.NewServeMux()
	mux.Handle("/proxy/", http.StripPrefix("/proxy", f))
	srv := newHTTPServer(t, mux)
	c, err := mangopay.New(mangopay.Config{BaseURL: srv.URL + "/proxy/", ClientID: testClientID, APIKey: testAPIKey})
	require.NoError(t, err)

	_, err = c.GetHook(context.Background(), "hook_1")

	require.NoError(t, err)
}

func TestTimestampJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want mangopay.Timestamp
	}{
		{"integer", `1746449852`, 1746449852},
		{"float", `1746449852.0`, 1746449852},
		{"string", `"775958800"`, 775958800},
		{"null keeps zero", `null`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got mangopay.Timestamp
			require.NoError(t, json.Unmarshal([]byte(tt.in), &got))
			assert.Equal(t, tt.want, got)
		})
	}
	var bad mangopay.Timestamp
	assert.Error(t, json.Unmarshal([]byte(`"yesterday"`), &bad))

	b, err := json.Marshal(mangopay.TimestampOf(time.Unix(652117514, 0)))
	require.NoError(t, err)
	assert.Equal(t, "652117514", string(b))
	assert.Equal(t, time.Date(1990, 8, 31, 15, 45, 14, 0, time.UTC), mangopay.Timestamp(652117514).Time())
}

func TestEnumNormalization(t *testing.T) {
	tests := []struct {
		in        mangopay.IdentityVerificationStatus
		want      mangopay.IdentityVerificationStatus
		wantFinal bool
	}{
		{mangopay.IdentityVerificationPending, mangopay.IdentityVerificationPending, false},
		{mangopay.IdentityVerificationReview, mangopay.IdentityVerificationReview, false},
		{mangopay.IdentityVerificationValidated, mangopay.IdentityVerificationValidated, true},
		{mangopay.IdentityVerificationRefused, mangopay.IdentityVerificationRefused, true},
		{mangopay.IdentityVerificationOutOfDate, mangopay.IdentityVerificationOutOfDate, true},
		{mangopay.IdentityVerificationExpired, mangopay.IdentityVerificationExpired, true},
		{mangopay.IdentityVerificationOutdated, mangopay.IdentityVerificationOutOfDate, true},
		{mangopay.IdentityVerificationRejected, mangopay.IdentityVerificationRefused, true},
		{mangopay.IdentityVerificationTimeout, mangopay.IdentityVerificationTimeout, true},
		{mangopay.IdentityVerificationError, mangopay.IdentityVerificationError, true},
		{"SOMETHING_NEW", "SOMETHING_NEW", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			assert.Equal(t, tt.want, tt.in.Normalize())
			assert.Equal(t, tt.wantFinal, tt.in.IsFinal())
			assert.Equal(t, tt.in == mangopay.IdentityVerificationPending, tt.in.IsPending())
		})
	}

	assert.Equal(t, mangopay.KYCDocumentOutOfDate, mangopay.KYCDocumentOutdated.Normalize())
	assert.Equal(t, mangopay.KYCDocumentRefused, mangopay.KYCDocumentRejected.Normalize())
	assert.True(t, mangopay.KYCDocumentRejected.IsFinal())
	assert.False(t, mangopay.KYCDocumentValidationAsked.IsFinal())
}

func TestContextCancellationIsWrapped(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := c.GetHook(ctx, "hook_1")

	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled))
	assert.False(t, mangopay.IsRetryable(err))
}
