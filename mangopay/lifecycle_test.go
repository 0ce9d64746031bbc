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
	f.serve("GET /users/user_m_01JTG7NDTE52MZCCF50QHJ870A/regulatory", http.StatusOK, "regulatory_status.json")
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
