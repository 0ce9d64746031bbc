package mangopay_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// Tests of the 2026 lifecycle endpoints: regulatory status (KYC renewal),
// PSC sessions and SessionLanguage.

func TestDecode_RegulatoryStatus(t *testing.T) {
	f := newFake(t)
	// The documented path, as every official SDK spells it: Mangopay's
	// paths are case-sensitive.
	f.serve("GET /users/user_m_01JTG7NDTE52MZCCF50QHJ870A/Regulatory", http.StatusOK, "regulatory_status.json")
	c := f.client(t)

	got, err := c.GetRegulatoryStatus(context.Background(), "user_m_01JTG7NDTE52MZCCF50QHJ870A")

	require.NoError(t, err)
	assert.Equal(t, "user_m_01JTG7NDTE52MZCCF50QHJ870A", got.UserID)
	assert.Equal(t, "008715", got.ActionCode)
	assert.Equal(t, mangopay.ScopeBlocked{Outflows: true}, got.ScopeBlocked)
	assert.Equal(t, "2025-12-01", got.KYC.LastKYCDate.String())
	assert.Equal(t, "2026-11-30", got.KYC.RenewalDeadline.String())
	at, due := got.RenewalDue()
	assert.True(t, due)
	assert.Equal(t, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), at, "downgraded once the deadline day has passed")
}

func TestRegulatoryStatus_Shapes(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		wantDeadline string
		wantLast     string
	}{
		{"documented KycInformation", `{"Id":"u","KycInformation":{"LastKycDate":"2025-01-02","KycRenewalDeadline":"2026-03-04"}}`, "2026-03-04", "2025-01-02"},
		{"top-level fields", `{"Id":"u","LastKycDate":"2025-01-02","KycRenewalDeadline":"2026-03-04"}`, "2026-03-04", "2025-01-02"},
		{"nulls", `{"Id":"u","ActionCode":null,"KycInformation":{"LastKycDate":null,"KycRenewalDeadline":null}}`, "", ""},
		{"no KYC information at all (before 2026)", `{"Id":"u","ActionCode":"008701","ScopeBlocked":{"Inflows":true,"Outflows":false}}`, "", ""},
		{"RFC 3339 and Unix seconds", `{"Id":"u","KycInformation":{"LastKycDate":1735776000,"KycRenewalDeadline":"2026-03-04T00:00:00Z"}}`, "2026-03-04", "2025-01-02"},
		{"empty strings", `{"Id":"u","KycInformation":{"LastKycDate":"","KycRenewalDeadline":""}}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got mangopay.RegulatoryStatus
			require.NoError(t, json.Unmarshal([]byte(tt.body), &got))
			assert.Equal(t, tt.wantDeadline, got.KYC.RenewalDeadline.String())
			assert.Equal(t, tt.wantLast, got.KYC.LastKYCDate.String())
			_, due := got.RenewalDue()
			assert.Equal(t, tt.wantDeadline != "", due)

			again, err := json.Marshal(got)
			require.NoError(t, err)
			var back mangopay.RegulatoryStatus
			require.NoError(t, json.Unmarshal(again, &back))
			assert.Equal(t, got, back, "round trip through the documented shape")
		})
	}
	var bad mangopay.RegulatoryStatus
	assert.Error(t, json.Unmarshal([]byte(`{"KycInformation":{"KycRenewalDeadline":"30/11/2026"}}`), &bad))
}

func TestSimulatorRegulatoryStatusAndRenewal(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	u, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)

	st, err := h.client.GetRegulatoryStatus(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, st.UserID)
	assert.True(t, st.KYC.LastKYCDate.IsZero(), "never verified")
	_, due := st.RenewalDue()
	assert.False(t, due)

	iv, err := h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back"})
	require.NoError(t, err)
	require.NoError(t, h.sim.SubmitOutcome(iv.ID, nil))
	deadline, err := h.sim.RequireRenewal(u.ID, 90)
	require.NoError(t, err)

	st, err = h.client.GetRegulatoryStatus(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, h.sim.Now().Format("2006-01-02"), st.KYC.LastKYCDate.String())
	assert.Equal(t, deadline, st.KYC.RenewalDeadline.Time)
	at, due := st.RenewalDue()
	assert.True(t, due)
	assert.Equal(t, deadline.Add(24*time.Hour), at)

	require.NoError(t, h.sim.SetBlocks(u.ID, sandbox.BlocksRequest{Inflows: true}))
	st, err = h.client.GetRegulatoryStatus(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.ScopeBlocked{Inflows: true}, st.ScopeBlocked)
	assert.NotEmpty(t, st.ActionCode, "a block comes with the code that explains it")

	_, err = h.client.GetRegulatoryStatus(ctx, "user_m_unknown")
	assert.True(t, mangopay.IsNotFound(err))
	_, err = h.client.GetRegulatoryStatus(ctx, "")
	assert.ErrorIs(t, err, mangopay.ErrInvalidRequest)
}

func TestSessionLanguage(t *testing.T) {
	assert.Len(t, mangopay.SessionLanguages, 8)
	assert.True(t, mangopay.SessionLanguage("zh-Hans-CN").IsKnown())
	assert.False(t, mangopay.SessionLanguage("fr").IsKnown())
	assert.False(t, mangopay.SessionLanguage("FR-FR").IsKnown())

	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	u, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)

	iv, err := h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{
		ReturnURL: "https://example.com/back", SessionLanguage: mangopay.SessionLanguageFrench,
	})
	require.NoError(t, err)
	assert.Contains(t, iv.HostedURL, "lng=fr-FR")

	plain, err := h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back"})
	require.NoError(t, err)
	assert.NotContains(t, plain.HostedURL, "lng=", "SessionLanguage is not sent when empty")

	_, err = h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{
		ReturnURL: "https://example.com/back", SessionLanguage: "klingon",
	})
	require.Error(t, err)
	assert.True(t, mangopay.IsPermanent(err))
	assert.Contains(t, mangoErr(t, err).Errors, "SessionLanguage")
}

func TestDecode_IdentityVerificationWithPSCs(t *testing.T) {
	f := newFake(t)
	f.serve("GET /identity-verifications/idnver_01KZXBHDH1DWC887PW6T46NVTV", http.StatusOK, "idv_view_psc.json")
	c := f.client(t)

	got, err := c.GetIdentityVerification(context.Background(), "idnver_01KZXBHDH1DWC887PW6T46NVTV")

	require.NoError(t, err)
	require.Len(t, got.PSCs, 2)
	rep, ok := got.PSC("psc_x_01KZXBT5F8FGGSK9JXGCYMNWRP")
	require.True(t, ok)
	assert.Equal(t, mangopay.PSCValidated, rep.Status)
	assert.Equal(t, "LEGAL_REPRESENTATIVE", rep.PscType)
	require.NotNil(t, rep.ValidationDate)
	assert.Equal(t, mangopay.Timestamp(1795001200), *rep.ValidationDate)
	require.NotNil(t, rep.DateOfBirth)
	assert.Equal(t, "FR", rep.Nationality)
	assert.Len(t, rep.Data, 2)
	ubo := got.PSCs[1]
	assert.Equal(t, mangopay.PSCPendingValidation, ubo.Status)
	assert.Nil(t, ubo.ValidationDate)
	assert.Nil(t, ubo.DateOfBirth)
	assert.Empty(t, ubo.Email)
	assert.False(t, mangopay.AllPSCsValidated(got.PSCs))
	_, ok = got.PSC("psc_x_nope")
	assert.False(t, ok)
}

func TestPSCStatus(t *testing.T) {
	tests := []struct {
		status          mangopay.PSCStatus
		final, canRetry bool
	}{
		{mangopay.PSCPendingValidation, false, true},
		{mangopay.PSCValidated, true, true},
		{mangopay.PSCRejected, true, true},
		{"REFUSED", true, true},
		{mangopay.PSCAbandoned, true, false},
		{"SOMETHING_NEW", false, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			assert.Equal(t, tt.final, tt.status.IsFinal())
			assert.Equal(t, tt.canRetry, tt.status.CanRetry())
		})
	}
	assert.False(t, mangopay.AllPSCsValidated(nil))
	assert.True(t, mangopay.AllPSCsValidated([]mangopay.PSC{{Status: mangopay.PSCValidated}}))
	assert.True(t, mangopay.IsPSCID("psc_x_01KZXBT5F8FGGSK9JXGCYMNWRP"))
	assert.False(t, mangopay.IsPSCID("idnver_01KZXBHDH1DWC887PW6T46NVTV"))
}

func TestRetryPSCRequest(t *testing.T) {
	f := newFake(t)
	f.handle("PUT /identity-verifications/idnver_1/pscs/psc_x_1/retry", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"Id":"psc_x_1","Status":"PENDING_VALIDATION","HostedUrl":"https://x/new"}`))
	})
	c := f.client(t)
	ctx := context.Background()

	got, err := c.RetryPSC(ctx, "idnver_1", "psc_x_1", nil)
	require.NoError(t, err)
	assert.Equal(t, "https://x/new", got.HostedURL)
	dob := mangopay.Timestamp(652117514)
	_, err = c.RetryPSC(ctx, "idnver_1", "psc_x_1", &mangopay.RetryPSCParams{FirstName: "Uma", DateOfBirth: &dob})
	require.NoError(t, err)
	reqs := f.recordedRequests()
	require.Len(t, reqs, 2)
	assert.JSONEq(t, `{}`, reqs[0].Body, "no params: an empty object")
	assert.JSONEq(t, `{"FirstName":"Uma","DateOfBirth":652117514}`, reqs[1].Body)

	_, err = c.RetryPSC(ctx, "", "psc_x_1", nil)
	assert.ErrorIs(t, err, mangopay.ErrInvalidRequest)
	_, err = c.RetryPSC(ctx, "idnver_1", " ", nil)
	assert.ErrorIs(t, err, mangopay.ErrInvalidRequest)
	assert.Len(t, f.recordedRequests(), 2, "no request for bad ids")
}

func TestSimulatorPSCs(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	u, err := h.client.CreateLegalUserSCA(ctx, legalOwnerParams(mangopay.LegalBusiness))
	require.NoError(t, err)
	require.NoError(t, h.sim.DeclarePscs(u.ID, []sandbox.PscPerson{
		{FirstName: "Alex", LastName: "Smith", PscType: sandbox.PscTypeLegalRepresentative},
		{FirstName: "Uma", LastName: "Bo"},
	}))
	iv, err := h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back"})
	require.NoError(t, err)
	require.NoError(t, h.sim.SubmitOutcome(iv.ID, nil))

	got, err := h.client.GetIdentityVerification(ctx, iv.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.IdentityVerificationValidated, got.Status)
	require.Len(t, got.PSCs, 2)
	for _, p := range got.PSCs {
		assert.Equal(t, mangopay.PSCPendingValidation, p.Status)
		assert.True(t, mangopay.IsPSCID(p.ID))
	}
	_, found := got.Check(mangopay.CheckPSCRole)
	assert.True(t, found, "PSC_ROLE_CHECK runs on the main session")
	user, err := h.client.GetUserSCA(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.KYCLevelLight, user.KYCLevel)

	rep, ubo := got.PSCs[0], got.PSCs[1]
	require.NoError(t, h.sim.DecidePsc(rep.ID, sandbox.PscValidated))
	require.NoError(t, h.sim.DecidePsc(ubo.ID, sandbox.PscRejected))
	retried, err := h.client.RetryPSC(ctx, iv.ID, ubo.ID, &mangopay.RetryPSCParams{LastName: "Boo"})
	require.NoError(t, err)
	assert.Equal(t, mangopay.PSCPendingValidation, retried.Status)
	assert.Equal(t, "Boo", retried.LastName)
	assert.NotEqual(t, ubo.HostedURL, retried.HostedURL)
	require.NoError(t, h.sim.DecidePsc(ubo.ID, sandbox.PscValidated))

	list, page, err := h.client.ListUserPSCs(ctx, u.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, page.TotalItems)
	require.Len(t, list, 2)
	assert.True(t, mangopay.AllPSCsValidated(list))
	for _, p := range list {
		assert.Equal(t, iv.ID, p.MainSessionID)
		assert.NotEmpty(t, p.SessionID)
	}
	user, err = h.client.GetUserSCA(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, mangopay.KYCLevelRegular, user.KYCLevel)

	t.Run("abandoned cannot be retried", func(t *testing.T) {
		other, err := h.client.CreateLegalUserSCA(ctx, legalOwnerParams(mangopay.LegalOrganization))
		require.NoError(t, err)
		s, err := h.client.CreateIdentityVerification(ctx, other.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back"})
		require.NoError(t, err)
		require.NoError(t, h.sim.SubmitOutcome(s.ID, nil))
		list, _, err := h.client.ListUserPSCs(ctx, other.ID, nil)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.NoError(t, h.sim.DecidePsc(list[0].ID, sandbox.PscAbandoned))
		_, err = h.client.RetryPSC(ctx, s.ID, list[0].ID, nil)
		require.Error(t, err)
		assert.True(t, mangopay.IsPermanent(err))
		assert.Equal(t, mangopay.ErrTypeInvalidAction, mangoErr(t, err).Type)
		_, err = h.client.RetryPSC(ctx, s.ID, "psc_x_unknown", nil)
		assert.True(t, mangopay.IsNotFound(err))
	})
}

func TestPaginationLinks(t *testing.T) {
	f := newFake(t)
	f.handle("GET /events", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Number-Of-Pages", "3")
		w.Header().Set("X-Number-Of-Items", "25")
		w.Header().Add("Link", `<https://api.mangopay.com/v2.01/c/events?page=1&per_page=10>; rel="first", <https://api.mangopay.com/v2.01/c/events?page=3&per_page=10>; rel=“next”`)
		w.Header().Add("Link", `<https://api.mangopay.com/v2.01/c/events?page=3&per_page=10>; rel=last, garbage`)
		_, _ = w.Write([]byte(`[]`))
	})
	c := f.client(t)

	_, page, err := c.ListEvents(context.Background(), &mangopay.ListEventsOptions{
		EventType: mangopay.EventUserKYCLight, EventTypes: []mangopay.EventType{mangopay.EventUserKYCRenewalRequired, mangopay.EventUserKYCRenewed},
		ListOptions: mangopay.ListOptions{Sort: mangopay.SortDateDesc},
	})

	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"first": "https://api.mangopay.com/v2.01/c/events?page=1&per_page=10",
		"next":  "https://api.mangopay.com/v2.01/c/events?page=3&per_page=10",
		"last":  "https://api.mangopay.com/v2.01/c/events?page=3&per_page=10",
	}, page.Links)
	q := f.recordedRequests()[0].Query
	assert.Contains(t, q, "EventType=USER_KYC_LIGHT%2CUSER_KYC_RENEWAL_REQUIRED%2CUSER_KYC_RENEWED")
	assert.Contains(t, q, "Sort=Date%3ADESC")
}

func TestSimulatorEventsWindow(t *testing.T) {
	h := newSimHarness(t, sandbox.DefaultAPIKey)
	ctx := context.Background()
	u, err := h.client.CreateNaturalUserSCA(ctx, naturalOwnerParams())
	require.NoError(t, err)
	for range 3 {
		_, err := h.client.CreateIdentityVerification(ctx, u.ID, &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com/back"})
		require.NoError(t, err)
	}
	after := h.sim.Now().Add(-mangopay.EventsWindow + time.Minute)
	events, page, err := h.client.ListEvents(ctx, &mangopay.ListEventsOptions{
		EventType: mangopay.EventIdentityVerificationPending, AfterDate: &after,
		ListOptions: mangopay.ListOptions{PerPage: 2, Sort: mangopay.SortDateDesc},
	})
	require.NoError(t, err)
	assert.Len(t, events, 2)
	assert.Equal(t, 3, page.TotalItems)
	assert.True(t, page.HasNext())
	assert.Contains(t, page.Links["next"], "page=2")

	tooOld := h.sim.Now().Add(-mangopay.EventsWindow - time.Hour)
	_, _, err = h.client.ListEvents(ctx, &mangopay.ListEventsOptions{AfterDate: &tooOld})
	require.Error(t, err)
	assert.True(t, mangopay.IsPermanent(err), "a window older than 45 days is a 400")
	assert.Contains(t, mangoErr(t, err).Errors, "AfterDate")
}
