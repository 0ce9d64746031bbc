package mangopay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// These tests run the client against the simulator, endpoint by endpoint
// and error by error, over real HTTP on loopback.

type simHarness struct {
	sim    *sandbox.Sandbox
	url    string
	client *mangopay.Client
}

func newSimHarness(t *testing.T, apiKey string) *simHarness {
	t.Helper()
	s := simtest.Start(t, sandbox.Config{APIKey: apiKey, Settings: simtest.FastSettings()})
	return &simHarness{sim: s.Sandbox, url: s.URL, client: s.Client}
}

func naturalOwnerParams() *mangopay.CreateNaturalUserParams { return simtest.NaturalOwner() }

func legalOwnerParams(kind mangopay.LegalPersonType) *mangopay.CreateLegalUserParams {
	return simtest.LegalOwner(kind)
}

func mangoErr(t *testing.T, err error) *mangopay.Error {
	t.Helper()
	var me *mangopay.Error
	require.True(t, errors.As(err, &me), "want *mangopay.Error, got %v", err)
	return me
}

func TestSimulatorUsers(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()

	nat, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(nat.ID, "user_m_"))
	assert.True(t, nat.IsOwner())
	assert.Equal(t, mangopay.KYCLevelLight, nat.KYCLevel)

	got, err := h.client.GetUserSCA(ctx, nat.ID)
	require.NoError(t, err)
	assert.Equal(t, "Alex", got.FirstName)
	assert.Equal(t, mangopay.PersonNatural, got.PersonType)

	legal, err := h.client.CreateLegalUserSCA(ctx, legalOwnerParams(mangopay.LegalBusiness))
	require.NoError(t, err)
	require.NotNil(t, legal.LegalRepresentative)
	assert.Equal(t, "Alex", legal.LegalRepresentative.FirstName)

	legacy, err := h.client.CreateLegalUser(ctx, &mangopay.CreateLegacyLegalUserParams{
		Name: "Shop", LegalPersonType: mangopay.LegalSoletrader, Email: "shop@example.com", UserCategory: mangopay.UserCategoryPayer,
		LegalRepresentativeFirstName: "Sam", LegalRepresentativeLastName: "Lee",
	})
	require.NoError(t, err)
	viewed, err := h.client.GetUser(ctx, legacy.ID)
	require.NoError(t, err)
	require.NotNil(t, viewed.LegalRepresentative, "the flat legacy shape is folded into LegalRepresentative")
	assert.Equal(t, "Sam", viewed.LegalRepresentative.FirstName)

	natLegacy, err := h.client.CreateNaturalUser(ctx, naturalOwnerParams())
	require.NoError(t, err)
	assert.Equal(t, mangopay.UserStatusActive, natLegacy.UserStatus)

	pending := naturalOwnerParams()
	pending.Email = "alex@example.com"
	sca, err := h.client.CreateNaturalUserSCA(ctx, pending)
	require.NoError(t, err)
	assert.Equal(t, mangopay.UserStatusPendingUserAction, sca.UserStatus)
	require.NotNil(t, sca.PendingUserAction)
	assert.True(t, strings.HasPrefix(sca.PendingUserAction.RedirectURL, h.url+"/sca?token="))

	_, err = h.client.GetUserSCA(ctx, "user_m_unknown")
	assert.True(t, mangopay.IsNotFound(err))
}

func TestSimulatorIdentityVerification(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	u, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)

	iv, err := h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back", Tag: "kycflow"})
	require.NoError(t, err)
	assert.Equal(t, mangopay.IdentityVerificationPending, iv.Status)
	assert.True(t, strings.HasPrefix(iv.HostedURL, h.url+"/idv/"))
	assert.Equal(t, "https://example.com/back", iv.ReturnURL)

	got, err := h.client.GetIdentityVerification(ctx, iv.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.UserID)
	assert.Empty(t, got.Checks)

	list, page, err := h.client.ListIdentityVerifications(ctx, u.ID, nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, 1, page.TotalItems)
	assert.Nil(t, list[0].LastUpdate)

	require.NoError(t, h.sim.SubmitOutcome(iv.ID, map[string]sandbox.Choice{
		sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "DOCUMENT_FALSIFIED"},
	}))
	got, err = h.client.GetIdentityVerification(ctx, iv.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.IdentityVerificationRefused, got.Status)
	assert.True(t, got.Status.IsFinal())
	c, found := got.Check(mangopay.CheckIdentityDocumentVerification)
	require.True(t, found)
	require.Len(t, c.Reasons, 1)
	assert.Equal(t, "DOCUMENT_FALSIFIED", c.Reasons[0].Type)
	var birth *string
	for _, d := range c.Data {
		if d.Type == "BIRTHDATE" {
			birth = d.Value
		}
	}
	assert.Nil(t, birth, "Data.Value may be null")

	second, err := h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back"})
	require.NoError(t, err)
	require.NoError(t, h.sim.SubmitOutcome(second.ID, nil))
	got, err = h.client.GetIdentityVerification(ctx, second.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.IdentityVerificationValidated, got.Status)
	c, found = got.Check(mangopay.CheckIdentityDocumentVerification)
	require.True(t, found)
	first, _ := c.Value("FIRST_NAME")
	assert.Equal(t, "ALEX", first)
	user, err := h.client.GetUserSCA(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.KYCLevelRegular, user.KYCLevel)
}

// TestSimulatorDocumentedErrors checks that every documented error reaches
// the caller as a typed *mangopay.Error with the right classification.
func TestSimulatorDocumentedErrors(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	owner, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)
	payerParams := naturalOwnerParams()
	payerParams.UserCategory, payerParams.Birthday, payerParams.Nationality, payerParams.CountryOfResidence = mangopay.UserCategoryPayer, nil, "", ""
	payer, err := h.client.CreateNaturalUserSCA(ctx, payerParams)
	require.NoError(t, err)
	partnership, err := h.client.CreateLegalUserSCA(ctx, legalOwnerParams(mangopay.LegalPartnership))
	require.NoError(t, err)
	doc, err := h.client.CreateKYCDocument(ctx, owner.ID, &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCIdentityProof})
	require.NoError(t, err)
	_, err = h.client.CreateHook(ctx, &mangopay.CreateHookParams{EventType: mangopay.EventKYCFailed, URL: "https://example.com/h"})
	require.NoError(t, err)
	idv := func(userID, returnURL string) error {
		_, err := h.client.CreateIdentityVerification(ctx, userID, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
		return err
	}
	page := func(size int) error {
		return h.client.AddKYCDocumentPage(ctx, owner.ID, doc.ID, &mangopay.AddKYCDocumentPageParams{File: append([]byte("%PDF-1.4"), make([]byte, size)...)})
	}

	tests := []struct {
		name      string
		call      func() error
		status    int
		typ       string
		field     string
		message   string
		retryable bool
	}{
		{"IDV for an unknown user", func() error { return idv("user_m_01JTG7NDTE52MZCCF50QHJ870A", "https://example.com") }, 400, "param_error", "UserId", "Missing or incorrect required parameter", false},
		{"IDV for a payer", func() error { return idv(payer.ID, "https://example.com") }, 400, "invalid_action", "", "only available for users categorised as Owner", false},
		{"IDV for a partnership", func() error { return idv(partnership.ID, "https://example.com") }, 400, "invalid_action", "", "PARTNERSHIP is not currently supported", false},
		{"IDV without ReturnUrl", func() error { return idv(owner.ID, "") }, 400, "param_error", "ReturnUrl", "", false},
		{"unknown session", func() error { _, err := h.client.GetIdentityVerification(ctx, "idnver_nope"); return err }, 404, "ressource_not_found", "RessourceNotFound", "", false},
		{"page too small", func() error { return page(100) }, 400, "param_error", "File", "", false},
		{"page not a document", func() error {
			return h.client.AddKYCDocumentPage(ctx, owner.ID, doc.ID, &mangopay.AddKYCDocumentPageParams{File: bytes.Repeat([]byte("x"), 40<<10)})
		}, 415, "param_error", "File", "", false},
		{"natural user registration proof", func() error {
			_, err := h.client.CreateKYCDocument(ctx, owner.ID, &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCRegistrationProof})
			return err
		}, 400, "param_error", "Type", "", false},
		{"hook already registered", func() error {
			_, err := h.client.CreateHook(ctx, &mangopay.CreateHookParams{EventType: mangopay.EventKYCFailed, URL: "https://example.com/x"})
			return err
		}, 400, "param_error", "EventType", "", false},
		{"owner must accept terms", func() error {
			p := naturalOwnerParams()
			p.TermsAndConditionsAccepted = false
			_, err := h.client.CreateNaturalUserSCA(ctx, p)
			return err
		}, 403, "user_hasnt_accepted_terms_and_conditions", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			me := mangoErr(t, err)
			assert.Equal(t, tt.status, me.StatusCode)
			assert.Equal(t, tt.typ, me.Type)
			assert.NotEmpty(t, me.ID)
			assert.False(t, me.Date.IsZero(), "Date parsed, float or not")
			if tt.field != "" {
				assert.Contains(t, me.Errors, tt.field)
			}
			if tt.message != "" {
				assert.Contains(t, me.Message, tt.message)
			}
			assert.Equal(t, tt.retryable, mangopay.IsRetryable(err))
			assert.Equal(t, !tt.retryable, mangopay.IsPermanent(err))
		})
	}

	t.Run("five pages at most", func(t *testing.T) {
		for range 5 {
			require.NoError(t, page(33<<10))
		}
		me := mangoErr(t, page(33<<10))
		assert.Equal(t, "max_page_number", me.Type)
	})

	t.Run("feature not activated", func(t *testing.T) {
		set := sandbox.DefaultSettings()
		set.IdvActivated, set.RateLimitEnforced = false, false
		require.NoError(t, h.sim.SetSettings(set))
		t.Cleanup(func() { set.IdvActivated = true; require.NoError(t, h.sim.SetSettings(set)) })
		err := idv(owner.ID, "https://example.com")
		me := mangoErr(t, err)
		assert.Equal(t, 403, me.StatusCode)
		assert.Equal(t, "Forbidden", me.Title)
		assert.NotEmpty(t, me.TraceID)
		assert.True(t, mangopay.IsPermanent(err))
	})

	for _, status := range []int{429, 500, 503} {
		t.Run("injected "+http.StatusText(status), func(t *testing.T) {
			h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorStatus: status})
			t.Cleanup(func() { h.sim.SetFaults(sandbox.Faults{}) })
			_, err := h.client.GetUserSCA(ctx, owner.ID)
			me := mangoErr(t, err)
			assert.Equal(t, status, me.StatusCode)
			assert.True(t, mangopay.IsRetryable(err))
			assert.False(t, mangopay.IsPermanent(err))
		})
	}

	t.Run("bad credentials", func(t *testing.T) {
		c, err := mangopay.New(mangopay.Config{BaseURL: h.url, ClientID: h.sim.ClientID(), APIKey: "wrong"})
		require.NoError(t, err)
		_, err = c.GetUserSCA(ctx, owner.ID)
		me := mangoErr(t, err)
		assert.Equal(t, 401, me.StatusCode)
		assert.Equal(t, "invalid_client", me.Type)
		assert.True(t, mangopay.IsPermanent(err))
	})
}

func TestSimulatorTokenRenewal(t *testing.T) {
	// An API key with characters that OAuth form-encodes in the Basic header.
	h := newSimHarness(t, "key+with/special=chars:x")
	ctx := context.Background()
	u, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)

	// The simulator's clock runs ahead: Mangopay rejects the cached token with
	// 401 invalid_credentials and the client renews it once, transparently.
	h.sim.Advance(1201 * time.Second)
	got, err := h.client.GetUserSCA(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
}

// TestSimulatorIdempotencyRecovery is the crash idempotency keys exist for:
// the session is created but the response is lost; the retry with the same
// key gets 409 and the client recovers the original session.
func TestSimulatorIdempotencyRecovery(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	u, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)
	key := mangopay.DeriveIdempotencyKey("kyc-"+u.ID, "attempt-1")
	params := &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back", IdempotencyKey: key}

	h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorAfterCommit: true})
	_, err = h.client.CreateIdentityVerification(ctx, u.ID, params)
	require.Error(t, err)
	assert.True(t, mangopay.IsRetryable(err), "a lost response is worth a retry: %v", err)
	h.sim.SetFaults(sandbox.Faults{})

	iv, err := h.client.CreateIdentityVerification(ctx, u.ID, params)
	require.NoError(t, err, "the retry recovers the first response")
	list, _, err := h.client.ListIdentityVerifications(ctx, u.ID, nil)
	require.NoError(t, err)
	require.Len(t, list, 1, "one session, not two")
	assert.Equal(t, list[0].ID, iv.ID)

	resp, err := h.client.GetResponse(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.True(t, resp.Succeeded())

	t.Run("the original error comes back too", func(t *testing.T) {
		badKey := mangopay.DeriveIdempotencyKey("kyc-"+u.ID, "bad")
		bad := &mangopay.CreateIdentityVerificationParams{ReturnURL: "not a url", IdempotencyKey: badKey}
		_, first := h.client.CreateIdentityVerification(ctx, u.ID, bad)
		_, again := h.client.CreateIdentityVerification(ctx, u.ID, bad)
		assert.Equal(t, mangoErr(t, first).Type, mangoErr(t, again).Type)
		assert.Contains(t, mangoErr(t, again).Errors, "ReturnUrl")
	})
}

func TestSimulatorKYCDocumentsHooksEvents(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	u, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)

	hook, err := h.client.CreateHook(ctx, &mangopay.CreateHookParams{EventType: mangopay.EventKYCSucceeded, URL: "https://example.com/hooks", Tag: "kycflow"})
	require.NoError(t, err)
	assert.Equal(t, mangopay.HookEnabled, hook.Status)
	assert.Equal(t, mangopay.HookValid, hook.Validity)

	doc, err := h.client.CreateKYCDocument(ctx, u.ID, &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCIdentityProof, Tag: "accept"})
	require.NoError(t, err)
	assert.Equal(t, mangopay.KYCDocumentCreated, doc.Status)
	require.NoError(t, h.client.AddKYCDocumentPage(ctx, u.ID, doc.ID, &mangopay.AddKYCDocumentPageParams{
		File: append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 40<<10)...), IdempotencyKey: mangopay.DeriveIdempotencyKey(doc.ID, "page-1"),
	}))
	submitted, err := h.client.SubmitKYCDocument(ctx, u.ID, doc.ID, &mangopay.SubmitKYCDocumentParams{})
	require.NoError(t, err)
	assert.Equal(t, mangopay.KYCDocumentValidationAsked, submitted.Status)

	h.sim.Advance(time.Second)
	got, err := h.client.GetKYCDocument(ctx, doc.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.KYCDocumentValidated, got.Status)
	assert.NotNil(t, got.ProcessedDate)

	docs, _, err := h.client.ListKYCDocuments(ctx, u.ID, &mangopay.ListKYCDocumentsOptions{Status: []mangopay.KYCDocumentStatus{mangopay.KYCDocumentValidated}})
	require.NoError(t, err)
	assert.Len(t, docs, 1)

	hooks, _, err := h.client.ListHooks(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, hooks, 1)
	disabled, err := h.client.UpdateHook(ctx, hook.ID, &mangopay.UpdateHookParams{Status: mangopay.HookDisabled})
	require.NoError(t, err)
	assert.Equal(t, mangopay.HookDisabled, disabled.Status)
	fetched, err := h.client.GetHook(ctx, hook.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.HookDisabled, fetched.Status)

	events, page, err := h.client.ListEvents(ctx, &mangopay.ListEventsOptions{EventType: mangopay.EventKYCSucceeded})
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, doc.ID, events[0].ResourceID)
	assert.Equal(t, 1, page.TotalItems)

	limits := h.client.RateLimits()
	assert.Greater(t, limits.Windows[0].Made, 0, "rate-limit headers read on every response")
	assert.Equal(t, 15*time.Minute, limits.Windows[0].Window)
}
