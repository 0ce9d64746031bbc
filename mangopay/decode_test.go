package mangopay_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
)

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

func TestDecode_IdentityVerificationCreate(t *testing.T) {
	f := newFake(t)
	f.serve("POST /users/user_m_1/identity-verifications", 200, "idv_create.json")
	c := f.client(t)

	got, err := c.CreateIdentityVerification(context.Background(), "user_m_1", &mangopay.CreateIdentityVerificationParams{ReturnURL: "https://example.com"})

	require.NoError(t, err)
	assert.Equal(t, &mangopay.IdentityVerification{
		ID:           "idnver_01JH2ZK1MKAMG5H2Q20M5K6020",
		Tag:          "Created using the Mangopay API Postman collection",
		CreationDate: 1736340768,
		HostedURL:    "https://user-verification.sandbox.mangopay.com/66ebfacebd780d434e8e6a9d?sessionId=677e75212400002f00a6edd0&redirectURL=https%3A%2F%2Fexample.com",
		Status:       mangopay.IdentityVerificationPending,
		ReturnURL:    "https://example.com",
	}, got)
}

func TestDecode_IdentityVerificationValidated(t *testing.T) {
	f := newFake(t)
	f.serve("GET /identity-verifications/idnver_01JTG8BTG92TTRP5VSNV35ZYGM", 200, "idv_view_validated.json")
	c := f.client(t)

	got, err := c.GetIdentityVerification(context.Background(), "idnver_01JTG8BTG92TTRP5VSNV35ZYGM")

	require.NoError(t, err)
	assert.Equal(t, mangopay.IdentityVerificationValidated, got.Status)
	assert.True(t, got.Status.IsFinal())
	assert.Equal(t, "user_m_01JTG7NDTE52MZCCF50QHJ870A", got.UserID)
	assert.Equal(t, "https://example.com/", got.ReturnURL)
	assert.Equal(t, mangopay.Timestamp(1746449852), got.CreationDate)
	require.NotNil(t, got.LastUpdate)
	assert.Equal(t, mangopay.Timestamp(1746449945), *got.LastUpdate)
	require.Len(t, got.Checks, 3)

	doc, ok := got.Check(mangopay.CheckIdentityDocumentVerification)
	require.True(t, ok)
	assert.Equal(t, "idnchc_01JTG8EJC242YG9R5167TEDCJJ", doc.CheckID)
	assert.Equal(t, mangopay.CheckStatusValidated, doc.CheckStatus)
	assert.Empty(t, doc.Reasons)
	assert.Equal(t, mangopay.Timestamp(1746449942), doc.LastUpdate)
	first, ok := doc.Value(mangopay.CheckDataFirstName)
	assert.True(t, ok)
	assert.Equal(t, "ALEX", first)
	birth, ok := doc.Value(mangopay.CheckDataBirthdate)
	assert.True(t, ok)
	assert.Equal(t, "775958800", birth)

	age, ok := got.Check(mangopay.CheckAge)
	require.True(t, ok)
	assert.Empty(t, age.Data)
}

func TestDecode_IdentityVerificationRefusedCheck(t *testing.T) {
	f := newFake(t)
	f.serve("GET /identity-verifications/idnver_01JTGAXGJRVNCD9K4CEM311M4Z", 200, "idv_view_refused.json")
	c := f.client(t)

	got, err := c.GetIdentityVerification(context.Background(), "idnver_01JTGAXGJRVNCD9K4CEM311M4Z")

	require.NoError(t, err)
	assert.Equal(t, mangopay.IdentityVerificationRefused, got.Status)
	require.Len(t, got.Checks, 1)
	check := got.Checks[0]
	assert.Equal(t, mangopay.CheckStatusRefused, check.CheckStatus)
	assert.Equal(t, []mangopay.CheckReason{{Type: "FACE_MATCH_FAIL", Value: "Document IDV has been refused by the provider"}}, check.Reasons)
	assert.Equal(t, string(mangopay.RefusedFaceMatchFail), check.Reasons[0].Type)
	assert.Equal(t, []mangopay.CheckData{
		{Type: "FIRST_NAME", Value: ptr("")},
		{Type: "LAST_NAME", Value: ptr("")},
		{Type: "BIRTHDATE", Value: nil},
	}, check.Data)
	_, ok := check.Value(mangopay.CheckDataBirthdate)
	assert.False(t, ok, "null value is reported as absent")
}

func TestDecode_IdentityVerificationList(t *testing.T) {
	f := newFake(t)
	f.serve("GET /users/user_m_1/identity-verifications", 200, "idv_list.json")
	c := f.client(t)

	got, _, err := c.ListIdentityVerifications(context.Background(), "user_m_1", nil)

	require.NoError(t, err)
	assert.Equal(t, []mangopay.IdentityVerification{
		{ID: "idnver_01JTG8BTG92TTRP5VSNV35ZYGM", Status: mangopay.IdentityVerificationPending, CreationDate: 1746449121},
		{ID: "idnver_01JTGAXGJRVNCD9K4CEM311M4Z", Status: mangopay.IdentityVerificationRefused, CreationDate: 1746449852, LastUpdate: ptr(mangopay.Timestamp(1746449945))},
	}, got)
}

func TestDecode_NaturalUserSCA(t *testing.T) {
	f := newFake(t)
	f.serve("POST /sca/users/natural", 200, "user_natural_sca_owner.json")
	c := f.client(t)

	got, err := c.CreateNaturalUserSCA(context.Background(), &mangopay.CreateNaturalUserParams{FirstName: "Alex"})

	require.NoError(t, err)
	assert.Equal(t, &mangopay.User{
		ID:                         "user_m_01JF7AP1M46TR0JH7WBGPWK7D7",
		Tag:                        "Created using the Mangopay API Postman collection",
		CreationDate:               1734339135,
		PersonType:                 mangopay.PersonNatural,
		Email:                      "alex.smith@example.com",
		KYCLevel:                   mangopay.KYCLevelLight,
		UserCategory:               mangopay.UserCategoryOwner,
		UserStatus:                 mangopay.UserStatusPendingUserAction,
		TermsAndConditionsAccepted: true,
		PendingUserAction:          &mangopay.PendingUserAction{RedirectURL: "https://sca.sandbox.mangopay.com/?token=0193ceab0948799a9af9726fb852fb98"},
		FirstName:                  "Alex",
		LastName:                   "Smith",
		Birthday:                   ptr(mangopay.Timestamp(652117514)),
		Nationality:                "FR",
		CountryOfResidence:         "FR",
		Address: &mangopay.Address{
			AddressLine1: "3 rue de la Cité", AddressLine2: "Appartement 7", City: "Paris",
			Region: "Île-de-France", PostalCode: "75004", Country: "FR",
		},
		Capacity:           "NORMAL",
		PhoneNumber:        "0611111111",
		PhoneNumberCountry: "FR",
	}, got)
	assert.True(t, got.IsOwner())
	assert.False(t, got.IsLegal())
	assert.True(t, got.IsNatural())
}

func TestDecode_NaturalUserPayer(t *testing.T) {
	f := newFake(t)
	f.serve("GET /sca/users/user_m_01JF7AP1M46TR0JH7WBGPWK7D8", 200, "user_natural_sca_payer.json")
	c := f.client(t)

	got, err := c.GetUserSCA(context.Background(), "user_m_01JF7AP1M46TR0JH7WBGPWK7D8")

	require.NoError(t, err)
	assert.False(t, got.IsOwner())
	assert.Nil(t, got.Birthday)
	assert.Nil(t, got.PendingUserAction)
	assert.Nil(t, got.Address)
	assert.Nil(t, got.LegalRepresentative)
	assert.Equal(t, mangopay.UserStatusActive, got.UserStatus)
}

func TestDecode_LegalUserSCA(t *testing.T) {
	f := newFake(t)
	f.serve("GET /sca/users/user_m_01JF7FKVP51PS3TYKCN79VZZ8M", 200, "user_legal_sca_owner.json")
	c := f.client(t)

	got, err := c.GetUserSCA(context.Background(), "user_m_01JF7FKVP51PS3TYKCN79VZZ8M")

	require.NoError(t, err)
	assert.True(t, got.IsLegal())
	assert.True(t, got.IsOwner())
	assert.Equal(t, "Alex Smith", got.Name)
	assert.Equal(t, mangopay.LegalSoletrader, got.LegalPersonType)
	assert.Equal(t, "123456789", got.CompanyNumber)
	assert.Equal(t, &mangopay.LegalRepresentative{
		FirstName: "Alex", LastName: "Smith", Birthday: ptr(mangopay.Timestamp(652117514)),
		Nationality: "FR", CountryOfResidence: "FR", Email: "alex.smith@example.com",
		PhoneNumber: "0611111111", PhoneNumberCountry: "FR",
	}, got.LegalRepresentative)
	require.NotNil(t, got.HeadquartersAddress)
	assert.Equal(t, "75004", got.HeadquartersAddress.PostalCode)
	require.NotNil(t, got.LegalRepresentativeAddress)
	assert.Equal(t, "Paris", got.LegalRepresentativeAddress.City)
	assert.Nil(t, got.ProofOfRegistration)
	assert.Nil(t, got.ShareholderDeclaration)
	assert.Nil(t, got.Statute)
	require.NotNil(t, got.TermsAndConditionsAcceptedDate)
	assert.Equal(t, mangopay.Timestamp(1734344306), *got.TermsAndConditionsAcceptedDate)
	require.NotNil(t, got.PendingUserAction)
	assert.Equal(t, "https://sca.sandbox.mangopay.com/?token=0193cef9efe7782881459b02bed1986c", got.PendingUserAction.RedirectURL)
}

func TestDecode_LegacyLegalUserFlatRepresentative(t *testing.T) {
	f := newFake(t)
	f.serve("GET /users/user_m_01JF7G3TW7Q9V8W0JZ0G1S2KQ4", 200, "user_legal_legacy.json")
	c := f.client(t)

	got, err := c.GetUser(context.Background(), "user_m_01JF7G3TW7Q9V8W0JZ0G1S2KQ4")

	require.NoError(t, err)
	assert.True(t, got.IsLegal())
	assert.Equal(t, mangopay.LegalBusiness, got.LegalPersonType)
	assert.Equal(t, &mangopay.LegalRepresentative{
		FirstName: "Alex", LastName: "Smith", Email: "alex.smith@example.com",
		Birthday: ptr(mangopay.Timestamp(652117514)), Nationality: "FR", CountryOfResidence: "FR",
	}, got.LegalRepresentative, "flat legacy fields fill the nested object")
	assert.Equal(t, "0611111111", got.PhoneNumber)
	require.NotNil(t, got.LegalRepresentativeAddress)
	assert.Equal(t, "FR", got.LegalRepresentativeAddress.Country)
}

func TestDecode_NestedRepresentativeWinsOverFlat(t *testing.T) {
	var u mangopay.User
	err := u.UnmarshalJSON([]byte(`{"PersonType":"LEGAL","LegalRepresentative":{"FirstName":"Nested","LastName":"N"},"LegalRepresentativeFirstName":"Flat"}`))

	require.NoError(t, err)
	require.NotNil(t, u.LegalRepresentative)
	assert.Equal(t, "Nested", u.LegalRepresentative.FirstName)
}

func TestDecode_KYCDocument(t *testing.T) {
	f := newFake(t)
	f.serve("GET /kyc/documents/kyc_01JA5M2N33ENJHWVPQXVJ6Q51P", 200, "kyc_document.json")
	c := f.client(t)

	got, err := c.GetKYCDocument(context.Background(), "kyc_01JA5M2N33ENJHWVPQXVJ6Q51P")

	require.NoError(t, err)
	assert.Equal(t, &mangopay.KYCDocument{
		ID:           "kyc_01JA5M2N33ENJHWVPQXVJ6Q51P",
		Tag:          "Created using Mangopay API Postman Collection",
		Type:         mangopay.KYCIdentityProof,
		UserID:       "user_m_01J8J0Y9DPNYRA9RB532CCND9Q",
		Status:       mangopay.KYCDocumentCreated,
		CreationDate: 1728913167,
		Flags:        []string{},
	}, got)
}

func TestDecode_KYCDocumentRefused(t *testing.T) {
	f := newFake(t)
	f.handle("GET /kyc/documents/kyc_1", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"Id":"kyc_1","Type":"IDENTITY_PROOF","Status":"REFUSED","ProcessedDate":1728913173,
			"RefusedReasonType":"DOCUMENT_UNREADABLE","RefusedReasonMessage":"blurred","Flags":["009004"]}`))
	})
	c := f.client(t)

	got, err := c.GetKYCDocument(context.Background(), "kyc_1")

	require.NoError(t, err)
	assert.True(t, got.Status.IsFinal())
	require.NotNil(t, got.RefusedReasonType)
	assert.Equal(t, mangopay.RefusedDocumentUnreadable, *got.RefusedReasonType)
	assert.Equal(t, ptr("blurred"), got.RefusedReasonMessage)
	assert.Equal(t, ptr(mangopay.Timestamp(1728913173)), got.ProcessedDate)
	assert.Equal(t, []string{"009004"}, got.Flags)
}

func TestDecode_Hook(t *testing.T) {
	f := newFake(t)
	f.serve("GET /hooks/hook_m_01JQW43GW82MJ23HB8Y6B3JZ72", 200, "hook.json")
	c := f.client(t)

	got, err := c.GetHook(context.Background(), "hook_m_01JQW43GW82MJ23HB8Y6B3JZ72")

	require.NoError(t, err)
	assert.Equal(t, &mangopay.Hook{
		ID:           "hook_m_01JQW43GW82MJ23HB8Y6B3JZ72",
		Tag:          "Created using the Mangopay Postman collection",
		CreationDate: 1743626814,
		URL:          "https://webhook.site/e1def644-2cee-4669-a4a6-b6ceeacc621b",
		Status:       mangopay.HookEnabled,
		Validity:     mangopay.HookValid,
		EventType:    mangopay.EventUserAccountActivated,
	}, got)
}

func TestDecode_Events(t *testing.T) {
	f := newFake(t)
	f.serve("GET /events", 200, "events_list.json")
	c := f.client(t)

	got, _, err := c.ListEvents(context.Background(), nil)

	require.NoError(t, err)
	assert.Equal(t, []mangopay.Event{{ResourceID: "144086566", EventType: mangopay.EventKYCCreated, Date: 1655891893}}, got)
}

func TestDecode_IdempotencyResponse(t *testing.T) {
	const key = "3f1c2a9e-5b7d-4c8e-9a1b-2d3e4f5a6b7c"
	f := newFake(t)
	f.serve("GET /responses/"+key, 200, "idempotency_response.json")
	c := f.client(t)

	got, err := c.GetResponse(context.Background(), key)

	require.NoError(t, err)
	assert.Equal(t, 200, got.StatusCode)
	assert.Equal(t, int64(591), got.ContentLength)
	assert.Equal(t, "application/json; charset=utf-8", got.ContentType)
	assert.Equal(t, time.Date(2022, 7, 19, 8, 47, 59, 0, time.UTC), got.Date)
	assert.Equal(t, "https://api.mangopay.com/V2.01/clientId/users/natural", got.RequestURL)
	assert.True(t, got.Succeeded())
	assert.Nil(t, got.OriginalError(key))
	var u mangopay.User
	require.NoError(t, got.Decode(&u))
	assert.Equal(t, "user_m_01JF7AP1M46TR0JH7WBGPWK7D7", u.ID)
}
