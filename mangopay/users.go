package mangopay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Address is a postal address.
type Address struct {
	AddressLine1 string `json:"AddressLine1,omitempty"`
	AddressLine2 string `json:"AddressLine2,omitempty"`
	City         string `json:"City,omitempty"`
	// Region is required for US, CA and MX addresses.
	Region     string `json:"Region,omitempty"`
	PostalCode string `json:"PostalCode,omitempty"`
	// Country is an ISO 3166-1 alpha-2 code.
	Country string `json:"Country,omitempty"`
}

// LegalRepresentative is the person representing a legal user. The SCA
// endpoints nest it under "LegalRepresentative"; for users read from the
// legacy endpoints the client fills it from the flat LegalRepresentative*
// fields.
type LegalRepresentative struct {
	FirstName string `json:"FirstName"`
	LastName  string `json:"LastName"`
	// Birthday is required for OWNER users.
	Birthday *Timestamp `json:"Birthday,omitempty"`
	// Nationality is an ISO 3166-1 alpha-2 code; required for OWNER users.
	Nationality string `json:"Nationality,omitempty"`
	// CountryOfResidence is an ISO 3166-1 alpha-2 code; required for OWNER
	// users.
	CountryOfResidence string `json:"CountryOfResidence,omitempty"`
	// Email is required for OWNER users.
	Email              string `json:"Email,omitempty"`
	PhoneNumber        string `json:"PhoneNumber,omitempty"`
	PhoneNumberCountry string `json:"PhoneNumberCountry,omitempty"`
	// ProofOfIdentity is the ID of the KYC document proving the identity;
	// read-only.
	ProofOfIdentity *string `json:"ProofOfIdentity,omitempty"`
}

// PendingUserAction is returned when the user must complete SCA.
type PendingUserAction struct {
	// RedirectURL is where to send the user; it expires 10 minutes after it
	// is issued, and a percent-encoded ReturnUrl query parameter must be
	// appended to it.
	RedirectURL string `json:"RedirectUrl"`
}

// IncomeRange is a natural user's income bracket, 1 to 6. Decoding accepts a
// number or a numeric string.
type IncomeRange int

// UnmarshalJSON decodes a number or a numeric string; null leaves r
// unchanged.
func (r *IncomeRange) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	s := rawString(data)
	if s == "" {
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("income range: %s is not a number", data)
	}
	*r = IncomeRange(v)
	return nil
}

// User is a natural or a legal user, as returned by the legacy and SCA
// endpoints. Fields that do not apply to its PersonType are zero.
type User struct {
	// Common fields.

	ID                             string             `json:"Id"`
	Tag                            string             `json:"Tag"`
	CreationDate                   Timestamp          `json:"CreationDate"`
	PersonType                     PersonType         `json:"PersonType"`
	Email                          string             `json:"Email"`
	KYCLevel                       KYCLevel           `json:"KYCLevel"`
	UserCategory                   UserCategory       `json:"UserCategory"`
	UserStatus                     UserStatus         `json:"UserStatus"`
	TermsAndConditionsAccepted     bool               `json:"TermsAndConditionsAccepted"`
	TermsAndConditionsAcceptedDate *Timestamp         `json:"TermsAndConditionsAcceptedDate"`
	PendingUserAction              *PendingUserAction `json:"PendingUserAction"`

	// Natural user fields.

	FirstName          string       `json:"FirstName,omitempty"`
	LastName           string       `json:"LastName,omitempty"`
	Birthday           *Timestamp   `json:"Birthday,omitempty"`
	Nationality        string       `json:"Nationality,omitempty"`
	CountryOfResidence string       `json:"CountryOfResidence,omitempty"`
	Address            *Address     `json:"Address,omitempty"`
	Occupation         *string      `json:"Occupation,omitempty"`
	IncomeRange        *IncomeRange `json:"IncomeRange,omitempty"`
	ProofOfIdentity    *string      `json:"ProofOfIdentity,omitempty"`
	ProofOfAddress     *string      `json:"ProofOfAddress,omitempty"`
	// Capacity is deprecated and always "NORMAL".
	Capacity string `json:"Capacity,omitempty"`
	// PhoneNumber and PhoneNumberCountry are also returned for legacy legal
	// users.
	PhoneNumber        string `json:"PhoneNumber,omitempty"`
	PhoneNumberCountry string `json:"PhoneNumberCountry,omitempty"`

	// Legal user fields.

	Name                       string               `json:"Name,omitempty"`
	LegalPersonType            LegalPersonType      `json:"LegalPersonType,omitempty"`
	LegalRepresentative        *LegalRepresentative `json:"LegalRepresentative,omitempty"`
	HeadquartersAddress        *Address             `json:"HeadquartersAddress,omitempty"`
	LegalRepresentativeAddress *Address             `json:"LegalRepresentativeAddress,omitempty"`
	CompanyNumber              string               `json:"CompanyNumber,omitempty"`
	ProofOfRegistration        *string              `json:"ProofOfRegistration,omitempty"`
	ShareholderDeclaration     *string              `json:"ShareholderDeclaration,omitempty"`
	Statute                    *string              `json:"Statute,omitempty"`
}

// IsOwner reports whether the user's category is OWNER.
func (u *User) IsOwner() bool {
	return u.UserCategory == UserCategoryOwner
}

// IsLegal reports whether the user is a legal person.
func (u *User) IsLegal() bool {
	return u.PersonType == PersonLegal
}

// IsNatural reports whether the user is a natural person.
func (u *User) IsNatural() bool {
	return u.PersonType == PersonNatural
}

// UnmarshalJSON decodes both the SCA shape and the legacy shape, whose legal
// representative is flat (LegalRepresentativeFirstName, …). When the nested
// LegalRepresentative object is absent, it is built from the flat fields.
func (u *User) UnmarshalJSON(data []byte) error {
	type plainUser User // same fields, no methods: no recursion
	var wire struct {
		plainUser
		LegalRepresentativeFirstName          string     `json:"LegalRepresentativeFirstName"`
		LegalRepresentativeLastName           string     `json:"LegalRepresentativeLastName"`
		LegalRepresentativeEmail              string     `json:"LegalRepresentativeEmail"`
		LegalRepresentativeBirthday           *Timestamp `json:"LegalRepresentativeBirthday"`
		LegalRepresentativeNationality        string     `json:"LegalRepresentativeNationality"`
		LegalRepresentativeCountryOfResidence string     `json:"LegalRepresentativeCountryOfResidence"`
		LegalRepresentativeProofOfIdentity    *string    `json:"LegalRepresentativeProofOfIdentity"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	*u = User(wire.plainUser)
	flat := LegalRepresentative{
		FirstName:          wire.LegalRepresentativeFirstName,
		LastName:           wire.LegalRepresentativeLastName,
		Email:              wire.LegalRepresentativeEmail,
		Birthday:           wire.LegalRepresentativeBirthday,
		Nationality:        wire.LegalRepresentativeNationality,
		CountryOfResidence: wire.LegalRepresentativeCountryOfResidence,
		ProofOfIdentity:    wire.LegalRepresentativeProofOfIdentity,
	}
	if u.LegalRepresentative == nil && flat != (LegalRepresentative{}) {
		u.LegalRepresentative = &flat
	}
	return nil
}

// CreateNaturalUserParams creates a natural user, through the SCA endpoint
// (CreateNaturalUserSCA) or the legacy one (CreateNaturalUser).
type CreateNaturalUserParams struct {
	FirstName string `json:"FirstName"`
	LastName  string `json:"LastName"`
	Email     string `json:"Email"`
	// UserCategory is PAYER or OWNER.
	UserCategory UserCategory `json:"UserCategory"`
	// TermsAndConditionsAccepted must be true for OWNER users.
	TermsAndConditionsAccepted bool `json:"TermsAndConditionsAccepted"`
	// Birthday, Nationality and CountryOfResidence are required for OWNER
	// users.
	Birthday           *Timestamp   `json:"Birthday,omitempty"`
	Nationality        string       `json:"Nationality,omitempty"`
	CountryOfResidence string       `json:"CountryOfResidence,omitempty"`
	Address            *Address     `json:"Address,omitempty"`
	Occupation         string       `json:"Occupation,omitempty"`
	IncomeRange        *IncomeRange `json:"IncomeRange,omitempty"`
	PhoneNumber        string       `json:"PhoneNumber,omitempty"`
	PhoneNumberCountry string       `json:"PhoneNumberCountry,omitempty"`
	Tag                string       `json:"Tag,omitempty"`
	// SCAContext is sent by CreateNaturalUserSCA only.
	SCAContext SCAContext `json:"ScaContext,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header when set.
	IdempotencyKey string `json:"-"`
}

// CreateLegalUserParams creates a legal user through the SCA endpoint, with
// a nested legal representative.
type CreateLegalUserParams struct {
	Name            string          `json:"Name"`
	LegalPersonType LegalPersonType `json:"LegalPersonType"`
	Email           string          `json:"Email"`
	// UserCategory is PAYER or OWNER.
	UserCategory UserCategory `json:"UserCategory"`
	// TermsAndConditionsAccepted must be true for OWNER users.
	TermsAndConditionsAccepted bool                 `json:"TermsAndConditionsAccepted"`
	LegalRepresentative        *LegalRepresentative `json:"LegalRepresentative,omitempty"`
	// HeadquartersAddress is required for OWNER users.
	HeadquartersAddress        *Address `json:"HeadquartersAddress,omitempty"`
	LegalRepresentativeAddress *Address `json:"LegalRepresentativeAddress,omitempty"`
	// CompanyNumber is required for OWNER BUSINESS users.
	CompanyNumber string     `json:"CompanyNumber,omitempty"`
	Tag           string     `json:"Tag,omitempty"`
	SCAContext    SCAContext `json:"ScaContext,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header when set.
	IdempotencyKey string `json:"-"`
}

// CreateLegacyLegalUserParams creates a legal user through the legacy
// endpoint, whose legal representative fields are flat.
type CreateLegacyLegalUserParams struct {
	Name            string          `json:"Name"`
	LegalPersonType LegalPersonType `json:"LegalPersonType"`
	Email           string          `json:"Email"`
	// UserCategory is PAYER or OWNER.
	UserCategory                          UserCategory `json:"UserCategory,omitempty"`
	TermsAndConditionsAccepted            bool         `json:"TermsAndConditionsAccepted"`
	LegalRepresentativeFirstName          string       `json:"LegalRepresentativeFirstName"`
	LegalRepresentativeLastName           string       `json:"LegalRepresentativeLastName"`
	LegalRepresentativeEmail              string       `json:"LegalRepresentativeEmail,omitempty"`
	LegalRepresentativeBirthday           *Timestamp   `json:"LegalRepresentativeBirthday,omitempty"`
	LegalRepresentativeNationality        string       `json:"LegalRepresentativeNationality,omitempty"`
	LegalRepresentativeCountryOfResidence string       `json:"LegalRepresentativeCountryOfResidence,omitempty"`
	LegalRepresentativeAddress            *Address     `json:"LegalRepresentativeAddress,omitempty"`
	HeadquartersAddress                   *Address     `json:"HeadquartersAddress,omitempty"`
	CompanyNumber                         string       `json:"CompanyNumber,omitempty"`
	Tag                                   string       `json:"Tag,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header when set.
	IdempotencyKey string `json:"-"`
}

// CreateNaturalUserSCA creates a natural user through the SCA endpoint
// (POST /sca/users/natural). For an OWNER the response usually carries
// PendingUserAction.RedirectURL, where the user enrolls in SCA.
func (c *Client) CreateNaturalUserSCA(ctx context.Context, params *CreateNaturalUserParams) (*User, error) {
	ep := &endpoint{method: http.MethodPost, tmpl: "/sca/users/natural", path: "/sca/users/natural"}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	ep.body, ep.idempotencyKey = params, params.IdempotencyKey
	return doResource[User](ctx, c, ep)
}

// CreateLegalUserSCA creates a legal user through the SCA endpoint (POST
// /sca/users/legal).
func (c *Client) CreateLegalUserSCA(ctx context.Context, params *CreateLegalUserParams) (*User, error) {
	ep := &endpoint{method: http.MethodPost, tmpl: "/sca/users/legal", path: "/sca/users/legal"}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	ep.body, ep.idempotencyKey = params, params.IdempotencyKey
	return doResource[User](ctx, c, ep)
}

// CreateNaturalUser creates a natural user through the legacy endpoint (POST
// /users/natural). params.SCAContext is not sent.
func (c *Client) CreateNaturalUser(ctx context.Context, params *CreateNaturalUserParams) (*User, error) {
	ep := &endpoint{method: http.MethodPost, tmpl: "/users/natural", path: "/users/natural"}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	body := *params
	body.SCAContext = ""
	ep.body, ep.idempotencyKey = &body, params.IdempotencyKey
	return doResource[User](ctx, c, ep)
}

// CreateLegalUser creates a legal user through the legacy endpoint (POST
// /users/legal).
func (c *Client) CreateLegalUser(ctx context.Context, params *CreateLegacyLegalUserParams) (*User, error) {
	ep := &endpoint{method: http.MethodPost, tmpl: "/users/legal", path: "/users/legal"}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	ep.body, ep.idempotencyKey = params, params.IdempotencyKey
	return doResource[User](ctx, c, ep)
}

// GetUserSCA returns a user through the SCA endpoint (GET
// /sca/users/{UserId}). PendingUserAction is always nil there.
func (c *Client) GetUserSCA(ctx context.Context, userID string) (*User, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/sca/users/{UserId}"}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	ep.path = "/sca/users/" + id
	return doResource[User](ctx, c, ep)
}

// GetUser returns a user through the legacy endpoint (GET /users/{UserId}).
func (c *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/users/{UserId}"}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	ep.path = "/users/" + id
	return doResource[User](ctx, c, ep)
}

// ListUsers lists the client's users (GET /users), oldest first unless
// opts.Sort says otherwise. opts may be nil.
func (c *Client) ListUsers(ctx context.Context, opts *ListOptions) ([]User, *Pagination, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/users", path: "/users"}
	return doList[User](ctx, c, ep, opts)
}
