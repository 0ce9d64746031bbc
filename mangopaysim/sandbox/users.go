package sandbox

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// user is a Mangopay user, natural or legal. Fields mirror the API's; nil
// pointers are rendered as JSON null like Mangopay does.
type user struct {
	ID                             string
	PersonType                     string // NATURAL or LEGAL
	Tag                            *string
	CreationDate                   int64
	Email                          string
	KYCLevel                       string
	UserCategory                   string
	UserStatus                     string
	TermsAndConditionsAccepted     bool
	TermsAndConditionsAcceptedDate *int64

	// Natural users.
	FirstName, LastName string
	Birthday            *int64
	Nationality         *string
	CountryOfResidence  *string
	Address             *Address
	Occupation          *string
	IncomeRange         *int
	PhoneNumber         *string
	PhoneNumberCountry  *string

	// Legal users.
	Name                       string
	LegalPersonType            string
	LegalRepresentative        legalRep
	HeadquartersAddress        *Address
	LegalRepresentativeAddress *Address
	CompanyNumber              *string

	renewal renewal
	// blocked is what Mangopay's regulatory status says it blocks
	// (ScopeBlocked), with the ActionCode that explains it.
	blocked    scopeBlocked
	actionCode string
	pscs       []PscPerson // declared persons of significant control
}

type legalRep struct {
	FirstName          string  `json:"FirstName"`
	LastName           string  `json:"LastName"`
	Birthday           *int64  `json:"Birthday"`
	Nationality        *string `json:"Nationality"`
	CountryOfResidence *string `json:"CountryOfResidence"`
	Email              *string `json:"Email"`
	PhoneNumber        *string `json:"PhoneNumber"`
	PhoneNumberCountry *string `json:"PhoneNumberCountry"`
	ProofOfIdentity    *string `json:"ProofOfIdentity"`
}

// Address is Mangopay's postal address object.
type Address struct {
	AddressLine1 *string `json:"AddressLine1"`
	AddressLine2 *string `json:"AddressLine2"`
	City         *string `json:"City"`
	Region       *string `json:"Region"`
	PostalCode   *string `json:"PostalCode"`
	Country      *string `json:"Country"`
}

// userKind is what decides which checks an IDV session runs.
func (u *user) kind() string {
	if u.PersonType == "NATURAL" {
		return "NATURAL"
	}
	return u.LegalPersonType
}

// Request bodies. Pointers tell "absent" from "empty".
type naturalUserBody struct {
	FirstName                  *string  `json:"FirstName"`
	LastName                   *string  `json:"LastName"`
	Email                      *string  `json:"Email"`
	UserCategory               *string  `json:"UserCategory"`
	TermsAndConditionsAccepted *bool    `json:"TermsAndConditionsAccepted"`
	Birthday                   *int64   `json:"Birthday"`
	Nationality                *string  `json:"Nationality"`
	CountryOfResidence         *string  `json:"CountryOfResidence"`
	Address                    *Address `json:"Address"`
	Occupation                 *string  `json:"Occupation"`
	IncomeRange                *int     `json:"IncomeRange"`
	PhoneNumber                *string  `json:"PhoneNumber"`
	PhoneNumberCountry         *string  `json:"PhoneNumberCountry"`
	Tag                        *string  `json:"Tag"`
	ScaContext                 *string  `json:"ScaContext"`
}

type legalRepBody struct {
	FirstName          *string `json:"FirstName"`
	LastName           *string `json:"LastName"`
	Birthday           *int64  `json:"Birthday"`
	Nationality        *string `json:"Nationality"`
	CountryOfResidence *string `json:"CountryOfResidence"`
	Email              *string `json:"Email"`
	PhoneNumber        *string `json:"PhoneNumber"`
	PhoneNumberCountry *string `json:"PhoneNumberCountry"`
}

type legalUserBody struct {
	Name                       *string       `json:"Name"`
	LegalPersonType            *string       `json:"LegalPersonType"`
	Email                      *string       `json:"Email"`
	UserCategory               *string       `json:"UserCategory"`
	TermsAndConditionsAccepted *bool         `json:"TermsAndConditionsAccepted"`
	LegalRepresentative        *legalRepBody `json:"LegalRepresentative"`
	HeadquartersAddress        *Address      `json:"HeadquartersAddress"`
	LegalRepresentativeAddress *Address      `json:"LegalRepresentativeAddress"`
	CompanyNumber              *string       `json:"CompanyNumber"`
	Tag                        *string       `json:"Tag"`
	ScaContext                 *string       `json:"ScaContext"`

	// The legacy endpoint's flat legal representative.
	LegalRepresentativeFirstName          *string `json:"LegalRepresentativeFirstName"`
	LegalRepresentativeLastName           *string `json:"LegalRepresentativeLastName"`
	LegalRepresentativeEmail              *string `json:"LegalRepresentativeEmail"`
	LegalRepresentativeBirthday           *int64  `json:"LegalRepresentativeBirthday"`
	LegalRepresentativeNationality        *string `json:"LegalRepresentativeNationality"`
	LegalRepresentativeCountryOfResidence *string `json:"LegalRepresentativeCountryOfResidence"`
}

var (
	emailRe   = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	countryRe = regexp.MustCompile(`^[A-Z]{2}$`)
)

// fieldErrors collects Mangopay-style per-field messages.
type fieldErrors map[string]string

func (fe fieldErrors) required(name string, v *string, maxLen int) {
	switch {
	case v == nil || strings.TrimSpace(*v) == "":
		fe[name] = fmt.Sprintf("The %s field is required.", name)
	case maxLen > 0 && len(*v) > maxLen:
		fe[name] = fmt.Sprintf("The field %s must be a string with a maximum length of %d.", name, maxLen)
	}
}

func (fe fieldErrors) maxLen(name string, v *string, n int) {
	if v != nil && len(*v) > n {
		fe[name] = fmt.Sprintf("The field %s must be a string with a maximum length of %d.", name, n)
	}
}

func (fe fieldErrors) email(name string, v *string) {
	fe.required(name, v, 255)
	if _, bad := fe[name]; !bad && !emailRe.MatchString(*v) {
		fe[name] = fmt.Sprintf("The %s field is not a valid e-mail address.", name)
	}
}

func (fe fieldErrors) country(name string, v *string, required bool) {
	if v == nil || *v == "" {
		if required {
			fe[name] = fmt.Sprintf("The %s field is required.", name)
		}
		return
	}
	if !countryRe.MatchString(*v) {
		fe[name] = fmt.Sprintf("The %s field must be an ISO 3166-1 alpha-2 country code.", name)
	}
}

func (fe fieldErrors) address(name string, a *Address, required bool) {
	if a == nil {
		if required {
			fe[name] = fmt.Sprintf("The %s field is required.", name)
		}
		return
	}
	fe.required(name+".AddressLine1", a.AddressLine1, 255)
	fe.required(name+".City", a.City, 255)
	fe.required(name+".PostalCode", a.PostalCode, 255)
	fe.country(name+".Country", a.Country, true)
	if a.Country != nil && (*a.Country == "US" || *a.Country == "CA" || *a.Country == "MX") {
		fe.required(name+".Region", a.Region, 255)
	}
}

func (fe fieldErrors) category(v *string) {
	if v == nil || (*v != "PAYER" && *v != "OWNER") {
		fe["UserCategory"] = "The UserCategory field is required and must be PAYER or OWNER."
	}
}

func (s *Sandbox) termsNotAccepted() reply {
	return s.errorReply(http.StatusForbidden, typeTermsNotAccepted,
		"User must accept the terms and conditions before account creation or modification.", nil)
}

func (s *Sandbox) createNaturalUser(sca bool) apiFunc {
	return func(req apiRequest) reply {
		var b naturalUserBody
		if bad, ok := s.decodeBody(req.body, &b); !ok {
			return bad
		}
		fe := fieldErrors{}
		fe.required("FirstName", b.FirstName, 100)
		fe.required("LastName", b.LastName, 100)
		fe.email("Email", b.Email)
		fe.category(b.UserCategory)
		fe.maxLen("Tag", b.Tag, 255)
		fe.maxLen("Occupation", b.Occupation, 255)
		owner := b.UserCategory != nil && *b.UserCategory == "OWNER"
		if b.TermsAndConditionsAccepted == nil {
			fe["TermsAndConditionsAccepted"] = "The TermsAndConditionsAccepted field is required."
		}
		if owner && b.Birthday == nil {
			fe["Birthday"] = "The Birthday field is required."
		}
		fe.country("Nationality", b.Nationality, owner)
		fe.country("CountryOfResidence", b.CountryOfResidence, owner)
		fe.address("Address", b.Address, false)
		if b.IncomeRange != nil && (*b.IncomeRange < 1 || *b.IncomeRange > 6) {
			fe["IncomeRange"] = "The IncomeRange field must be between 1 and 6."
		}
		if sca {
			scaContext(fe, b.ScaContext)
		}
		if len(fe) > 0 {
			return s.paramError(fe)
		}
		if owner && !*b.TermsAndConditionsAccepted {
			return s.termsNotAccepted()
		}
		now := s.clock.Now().Unix()
		u := &user{
			ID: s.ids.ulid("user_m_", s.clock.Now()), PersonType: "NATURAL", Tag: b.Tag, CreationDate: now,
			Email: *b.Email, KYCLevel: "LIGHT", UserCategory: *b.UserCategory, UserStatus: "ACTIVE",
			TermsAndConditionsAccepted: *b.TermsAndConditionsAccepted,
			FirstName:                  *b.FirstName, LastName: *b.LastName, Birthday: b.Birthday, Nationality: b.Nationality,
			CountryOfResidence: b.CountryOfResidence, Address: b.Address, Occupation: b.Occupation,
			IncomeRange: b.IncomeRange, PhoneNumber: b.PhoneNumber, PhoneNumberCountry: b.PhoneNumberCountry,
		}
		if u.TermsAndConditionsAccepted && !sca {
			u.TermsAndConditionsAcceptedDate = &now
		}
		return s.storeUser(u, sca, *b.Email)
	}
}

func scaContext(fe fieldErrors, v *string) {
	if v != nil && *v != "USER_PRESENT" && *v != "USER_NOT_PRESENT" {
		fe["ScaContext"] = "The ScaContext field must be USER_PRESENT or USER_NOT_PRESENT."
	}
}

var legalPersonTypes = map[string]bool{"BUSINESS": true, "PARTNERSHIP": true, "ORGANIZATION": true, "SOLETRADER": true}

func (s *Sandbox) createLegalUser(sca bool) apiFunc {
	return func(req apiRequest) reply {
		var b legalUserBody
		if bad, ok := s.decodeBody(req.body, &b); !ok {
			return bad
		}
		fe := fieldErrors{}
		fe.required("Name", b.Name, 255)
		if b.LegalPersonType == nil || !legalPersonTypes[*b.LegalPersonType] {
			fe["LegalPersonType"] = "The LegalPersonType field is required and must be one of BUSINESS, PARTNERSHIP, ORGANIZATION, SOLETRADER."
		}
		fe.email("Email", b.Email)
		fe.category(b.UserCategory)
		fe.maxLen("Tag", b.Tag, 255)
		if b.TermsAndConditionsAccepted == nil {
			fe["TermsAndConditionsAccepted"] = "The TermsAndConditionsAccepted field is required."
		}
		owner := b.UserCategory != nil && *b.UserCategory == "OWNER"

		// The SCA endpoint nests the representative; the legacy one is flat.
		rep, prefix := b.LegalRepresentative, "LegalRepresentative."
		if !sca {
			rep, prefix = &legalRepBody{
				FirstName: b.LegalRepresentativeFirstName, LastName: b.LegalRepresentativeLastName,
				Email: b.LegalRepresentativeEmail, Birthday: b.LegalRepresentativeBirthday,
				Nationality: b.LegalRepresentativeNationality, CountryOfResidence: b.LegalRepresentativeCountryOfResidence,
			}, "LegalRepresentative"
		}
		if rep == nil {
			fe["LegalRepresentative"] = "The LegalRepresentative field is required."
			rep = &legalRepBody{}
		} else {
			fe.required(prefix+"FirstName", rep.FirstName, 100)
			fe.required(prefix+"LastName", rep.LastName, 100)
			if owner && rep.Birthday == nil {
				fe[prefix+"Birthday"] = "The Birthday field is required."
			}
			fe.country(prefix+"Nationality", rep.Nationality, owner)
			fe.country(prefix+"CountryOfResidence", rep.CountryOfResidence, owner)
			if owner || rep.Email != nil {
				if rep.Email == nil || *rep.Email == "" {
					fe[prefix+"Email"] = "'Email' must not be empty."
				} else if !emailRe.MatchString(*rep.Email) {
					fe[prefix+"Email"] = "The Email field is not a valid e-mail address."
				}
			}
		}
		fe.address("HeadquartersAddress", b.HeadquartersAddress, owner)
		fe.address("LegalRepresentativeAddress", b.LegalRepresentativeAddress, false)
		if owner && b.LegalPersonType != nil && *b.LegalPersonType == "BUSINESS" {
			fe.required("CompanyNumber", b.CompanyNumber, 255)
		}
		if sca {
			scaContext(fe, b.ScaContext)
		}
		if len(fe) > 0 {
			return s.paramError(fe)
		}
		if owner && !*b.TermsAndConditionsAccepted {
			return s.termsNotAccepted()
		}
		now := s.clock.Now().Unix()
		u := &user{
			ID: s.ids.ulid("user_m_", s.clock.Now()), PersonType: "LEGAL", Tag: b.Tag, CreationDate: now,
			Email: *b.Email, KYCLevel: "LIGHT", UserCategory: *b.UserCategory, UserStatus: "ACTIVE",
			TermsAndConditionsAccepted: *b.TermsAndConditionsAccepted,
			Name:                       *b.Name, LegalPersonType: *b.LegalPersonType,
			LegalRepresentative: legalRep{
				FirstName: deref(rep.FirstName), LastName: deref(rep.LastName), Birthday: rep.Birthday,
				Nationality: rep.Nationality, CountryOfResidence: rep.CountryOfResidence, Email: rep.Email,
				PhoneNumber: rep.PhoneNumber, PhoneNumberCountry: rep.PhoneNumberCountry,
			},
			HeadquartersAddress: b.HeadquartersAddress, LegalRepresentativeAddress: b.LegalRepresentativeAddress,
			CompanyNumber: b.CompanyNumber,
		}
		if u.TermsAndConditionsAccepted {
			u.TermsAndConditionsAcceptedDate = &now
		}
		scaEmail := ""
		if rep.Email != nil {
			scaEmail = *rep.Email
		}
		// Only soletraders among legal users enrol their representative in SCA.
		if u.LegalPersonType != "SOLETRADER" {
			scaEmail = "accept"
		}
		return s.storeUser(u, sca, scaEmail)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// storeUser saves a new user and renders the create response. On the SCA
// endpoints an OWNER must enrol in SCA (UserStatus PENDING_USER_ACTION and a
// RedirectUrl) unless the Sandbox bypass applies: the word "accept" in the
// email that would receive the SCA challenge.
func (s *Sandbox) storeUser(u *user, sca bool, scaEmail string) reply {
	var redirect string
	if sca && u.UserCategory == "OWNER" && !strings.Contains(scaEmail, "accept") {
		u.UserStatus = "PENDING_USER_ACTION"
		tok := strings.ReplaceAll(s.ids.uuid(), "-", "")
		redirect = s.cfg.PublicURL + scaPath + "?token=" + tok
		s.mu.Lock()
		s.st.scaTokens[tok] = u.ID
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.st.users[u.ID] = u
	view := u.view(sca, redirect)
	s.mu.Unlock()
	return ok(view)
}

// pendingUserAction is the SCA link object.
type pendingUserAction struct {
	RedirectURL string `json:"RedirectUrl"`
}

type userCommon struct {
	ID                             string  `json:"Id"`
	Tag                            *string `json:"Tag"`
	CreationDate                   int64   `json:"CreationDate"`
	PersonType                     string  `json:"PersonType"`
	Email                          string  `json:"Email"`
	KYCLevel                       string  `json:"KYCLevel"`
	TermsAndConditionsAccepted     bool    `json:"TermsAndConditionsAccepted"`
	TermsAndConditionsAcceptedDate *int64  `json:"TermsAndConditionsAcceptedDate"`
	UserCategory                   string  `json:"UserCategory"`
	UserStatus                     string  `json:"UserStatus"`
}

type naturalView struct {
	FirstName          string   `json:"FirstName"`
	LastName           string   `json:"LastName"`
	Birthday           *int64   `json:"Birthday"`
	Nationality        *string  `json:"Nationality"`
	CountryOfResidence *string  `json:"CountryOfResidence"`
	Occupation         *string  `json:"Occupation"`
	IncomeRange        *int     `json:"IncomeRange"`
	ProofOfIdentity    *string  `json:"ProofOfIdentity"`
	ProofOfAddress     *string  `json:"ProofOfAddress"`
	Capacity           string   `json:"Capacity"`
	PhoneNumber        *string  `json:"PhoneNumber"`
	PhoneNumberCountry *string  `json:"PhoneNumberCountry"`
	Address            *Address `json:"Address"`
	userCommon
}

type scaNaturalView struct {
	naturalView
	PendingUserAction *pendingUserAction `json:"PendingUserAction"`
}

type legalCommon struct {
	Name                       string   `json:"Name"`
	LegalPersonType            string   `json:"LegalPersonType"`
	HeadquartersAddress        *Address `json:"HeadquartersAddress"`
	LegalRepresentativeAddress *Address `json:"LegalRepresentativeAddress"`
	CompanyNumber              *string  `json:"CompanyNumber"`
	ProofOfRegistration        *string  `json:"ProofOfRegistration"`
	ShareholderDeclaration     *string  `json:"ShareholderDeclaration"`
	Statute                    *string  `json:"Statute"`
	userCommon
}

type scaLegalView struct {
	legalCommon
	LegalRepresentative legalRep           `json:"LegalRepresentative"`
	PendingUserAction   *pendingUserAction `json:"PendingUserAction"`
}

type legacyLegalView struct {
	legalCommon
	LegalRepresentativeFirstName          string  `json:"LegalRepresentativeFirstName"`
	LegalRepresentativeLastName           string  `json:"LegalRepresentativeLastName"`
	LegalRepresentativeEmail              *string `json:"LegalRepresentativeEmail"`
	LegalRepresentativeBirthday           *int64  `json:"LegalRepresentativeBirthday"`
	LegalRepresentativeNationality        *string `json:"LegalRepresentativeNationality"`
	LegalRepresentativeCountryOfResidence *string `json:"LegalRepresentativeCountryOfResidence"`
	LegalRepresentativeProofOfIdentity    *string `json:"LegalRepresentativeProofOfIdentity"`
	PhoneNumber                           *string `json:"PhoneNumber"`
	PhoneNumberCountry                    *string `json:"PhoneNumberCountry"`
}

// view renders the user in the SCA or the legacy shape. redirect is the SCA
// link, only ever returned by the call that triggered SCA.
func (u *user) view(sca bool, redirect string) any {
	c := userCommon{
		ID: u.ID, Tag: u.Tag, CreationDate: u.CreationDate, PersonType: u.PersonType, Email: u.Email,
		KYCLevel: u.KYCLevel, TermsAndConditionsAccepted: u.TermsAndConditionsAccepted,
		TermsAndConditionsAcceptedDate: u.TermsAndConditionsAcceptedDate, UserCategory: u.UserCategory,
		UserStatus: u.UserStatus,
	}
	var pua *pendingUserAction
	if redirect != "" {
		pua = &pendingUserAction{RedirectURL: redirect}
	}
	if u.PersonType == "NATURAL" {
		n := naturalView{
			FirstName: u.FirstName, LastName: u.LastName, Birthday: u.Birthday, Nationality: u.Nationality,
			CountryOfResidence: u.CountryOfResidence, Occupation: u.Occupation, IncomeRange: u.IncomeRange,
			Capacity: "NORMAL", PhoneNumber: u.PhoneNumber, PhoneNumberCountry: u.PhoneNumberCountry,
			Address: u.Address, userCommon: c,
		}
		if sca {
			return scaNaturalView{naturalView: n, PendingUserAction: pua}
		}
		return n
	}
	hq := u.HeadquartersAddress
	if hq == nil {
		hq = &Address{} // PAYERs get an all-null object.
	}
	l := legalCommon{
		Name: u.Name, LegalPersonType: u.LegalPersonType, HeadquartersAddress: hq,
		LegalRepresentativeAddress: u.LegalRepresentativeAddress, CompanyNumber: u.CompanyNumber, userCommon: c,
	}
	if sca {
		return scaLegalView{legalCommon: l, LegalRepresentative: u.LegalRepresentative, PendingUserAction: pua}
	}
	r := u.LegalRepresentative
	return legacyLegalView{
		legalCommon: l, LegalRepresentativeFirstName: r.FirstName, LegalRepresentativeLastName: r.LastName,
		LegalRepresentativeEmail: r.Email, LegalRepresentativeBirthday: r.Birthday,
		LegalRepresentativeNationality: r.Nationality, LegalRepresentativeCountryOfResidence: r.CountryOfResidence,
		PhoneNumber: r.PhoneNumber, PhoneNumberCountry: r.PhoneNumberCountry,
	}
}

// getUser serves the user views; personType, when set, restricts the
// endpoint to natural or legal users as the typed getters do.
// listUsers implements GET /users: every user of the client, oldest first
// (Sort=CreationDate:DESC for newest first), paginated, in the legacy view.
func (s *Sandbox) listUsers(req apiRequest) reply {
	s.mu.Lock()
	users := make([]*user, 0, len(s.st.users))
	for _, u := range s.st.users {
		users = append(users, u)
	}
	s.mu.Unlock()
	slices.SortFunc(users, func(a, b *user) int {
		if c := cmp.Compare(a.CreationDate, b.CreationDate); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	s.mu.Lock()
	items := make([]any, 0, len(users))
	for _, u := range users {
		items = append(items, u.view(false, ""))
	}
	s.mu.Unlock()
	return listReply(items, req.r, s)
}

func (s *Sandbox) getUser(sca bool, personType string) apiFunc {
	kind := map[string]string{"": "User", "NATURAL": "UserNatural", "LEGAL": "UserLegal"}[personType]
	return func(req apiRequest) reply {
		id := req.p["userId"]
		s.mu.Lock()
		defer s.mu.Unlock()
		u, found := s.st.users[id]
		if !found || (personType != "" && u.PersonType != personType) {
			return s.notFound(kind, id)
		}
		return ok(u.view(sca, ""))
	}
}
