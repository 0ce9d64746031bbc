package mangopay

// The enumerations below are open: Mangopay adds and renames values, so each
// is a string type whose constants list the known values, and unknown values
// decode without error.

// IdentityVerificationStatus is the Status of an IDV session.
type IdentityVerificationStatus string

// Known IDV session statuses. The last four are legacy values from the beta
// API (and SDK comments) that may still be seen.
const (
	// IdentityVerificationPending means the session is open; the user has not
	// submitted it yet.
	IdentityVerificationPending IdentityVerificationStatus = "PENDING"
	// IdentityVerificationReview means the session is under manual review (legal users only).
	IdentityVerificationReview IdentityVerificationStatus = "REVIEW"
	// IdentityVerificationValidated means the user is KYC/KYB verified.
	IdentityVerificationValidated IdentityVerificationStatus = "VALIDATED"
	// IdentityVerificationRefused means the user is not verified; a new session is
	// needed.
	IdentityVerificationRefused IdentityVerificationStatus = "REFUSED"
	// IdentityVerificationOutOfDate means the verification was downgraded.
	IdentityVerificationOutOfDate IdentityVerificationStatus = "OUT_OF_DATE"
	// IdentityVerificationExpired means the session was not submitted within 7 days of creation.
	IdentityVerificationExpired IdentityVerificationStatus = "EXPIRED"

	// IdentityVerificationOutdated is the beta spelling of OUT_OF_DATE.
	IdentityVerificationOutdated IdentityVerificationStatus = "OUTDATED"
	// IdentityVerificationRejected is the beta spelling of REFUSED.
	IdentityVerificationRejected IdentityVerificationStatus = "REJECTED"
	// IdentityVerificationTimeout is a beta status: the session timed out.
	IdentityVerificationTimeout IdentityVerificationStatus = "TIMEOUT"
	// IdentityVerificationError is a beta status: the session failed.
	IdentityVerificationError IdentityVerificationStatus = "ERROR"
)

// Normalize maps legacy spellings to current ones: OUTDATED becomes
// OUT_OF_DATE and REJECTED becomes REFUSED. Other values are returned
// unchanged.
func (s IdentityVerificationStatus) Normalize() IdentityVerificationStatus {
	switch s {
	case IdentityVerificationOutdated:
		return IdentityVerificationOutOfDate
	case IdentityVerificationRejected:
		return IdentityVerificationRefused
	default:
		return s
	}
}

// IsPending reports whether the session is still waiting for the user.
func (s IdentityVerificationStatus) IsPending() bool {
	return s == IdentityVerificationPending
}

// IsInReview reports whether the session is under manual review.
func (s IdentityVerificationStatus) IsInReview() bool {
	return s == IdentityVerificationReview
}

// IsValidated reports whether the session validated the user.
func (s IdentityVerificationStatus) IsValidated() bool {
	return s == IdentityVerificationValidated
}

// IsFinal reports whether the session can no longer change outcome for the
// user: VALIDATED, REFUSED, OUT_OF_DATE, EXPIRED and the legacy equivalents
// (OUTDATED, REJECTED, TIMEOUT, ERROR). PENDING, REVIEW and unknown values
// are not final.
func (s IdentityVerificationStatus) IsFinal() bool {
	switch s.Normalize() {
	case IdentityVerificationValidated, IdentityVerificationRefused, IdentityVerificationOutOfDate,
		IdentityVerificationExpired, IdentityVerificationTimeout, IdentityVerificationError:
		return true
	default:
		return false
	}
}

// IsKnown reports whether s is one of the constants above.
func (s IdentityVerificationStatus) IsKnown() bool {
	switch s {
	case IdentityVerificationPending, IdentityVerificationReview, IdentityVerificationValidated,
		IdentityVerificationRefused, IdentityVerificationOutOfDate, IdentityVerificationExpired,
		IdentityVerificationOutdated, IdentityVerificationRejected, IdentityVerificationTimeout,
		IdentityVerificationError:
		return true
	default:
		return false
	}
}

// CheckType is the Type of a check within an IDV session.
type CheckType string

// Known check types.
const (
	CheckIdentityDocumentVerification CheckType = "IDENTITY_DOCUMENT_VERIFICATION"
	CheckAge                          CheckType = "IDV_AGE_CHECK"
	CheckNameMatch                    CheckType = "IDV_NAME_MATCH_CHECK"
	CheckBusinessVerification         CheckType = "BUSINESS_VERIFICATION"
	CheckBusinessNameMatch            CheckType = "BUSINESS_NAME_MATCH"
	CheckBusinessInsightsMatch        CheckType = "BUSINESS_INSIGHTS_MATCH"
	CheckPersonsSignificantControl    CheckType = "PERSONS_SIGNIFICANT_CONTROL"
	CheckPSCRole                      CheckType = "PSC_ROLE_CHECK"
	CheckPSCConsistency               CheckType = "PSC_CONSISTENCY_CHECK"
)

// CheckStatus is the CheckStatus of a check within an IDV session.
type CheckStatus string

// Known check statuses.
const (
	CheckStatusValidated CheckStatus = "VALIDATED"
	CheckStatusRefused   CheckStatus = "REFUSED"
	CheckStatusReview    CheckStatus = "REVIEW"
)

// Known Data.Type values of IDV checks.
const (
	CheckDataFirstName                      = "FIRST_NAME"
	CheckDataLastName                       = "LAST_NAME"
	CheckDataBirthdate                      = "BIRTHDATE"
	CheckDataNationality                    = "NATIONALITY"
	CheckDataResidency                      = "RESIDENCY"
	CheckDataCompanyName                    = "COMPANY_NAME"
	CheckDataCompanyNumber                  = "COMPANY_NUMBER"
	CheckDataLegalRepresentativeFirstName   = "LEGAL_REPRESENTATIVE_FIRST_NAME"
	CheckDataLegalRepresentativeLastName    = "LEGAL_REPRESENTATIVE_LAST_NAME"
	CheckDataLegalRepresentativeBirthdate   = "LEGAL_REPRESENTATIVE_BIRTHDATE"
	CheckDataLegalRepresentativeNationality = "LEGAL_REPRESENTATIVE_NATIONALITY"
)

// RefusedReasonType explains a refusal: the RefusedReasonType of a KYC
// document, or the Type of an IDV check reason (CheckReason.Type).
type RefusedReasonType string

// Known refusal reasons of KYC documents.
const (
	RefusedDocumentDoNotMatchUserData RefusedReasonType = "DOCUMENT_DO_NOT_MATCH_USER_DATA"
	RefusedDocumentFalsified          RefusedReasonType = "DOCUMENT_FALSIFIED"
	RefusedDocumentHasExpired         RefusedReasonType = "DOCUMENT_HAS_EXPIRED"
	RefusedDocumentIncomplete         RefusedReasonType = "DOCUMENT_INCOMPLETE"
	RefusedDocumentMissing            RefusedReasonType = "DOCUMENT_MISSING"
	RefusedDocumentNotAccepted        RefusedReasonType = "DOCUMENT_NOT_ACCEPTED"
	RefusedDocumentUnreadable         RefusedReasonType = "DOCUMENT_UNREADABLE"
	RefusedSpecificCase               RefusedReasonType = "SPECIFIC_CASE"
	RefusedUnderagePerson             RefusedReasonType = "UNDERAGE_PERSON"
)

// Known refusal reasons of IDV checks, in addition to the shared
// DOCUMENT_* values above.
const (
	RefusedFaceMatchFail             RefusedReasonType = "FACE_MATCH_FAIL"
	RefusedDocumentTypeNotSupported  RefusedReasonType = "DOCUMENT_TYPE_NOT_SUPPORTED"
	RefusedDocumentExpired           RefusedReasonType = "DOCUMENT_EXPIRED"
	RefusedBusinessInsightsMatchFail RefusedReasonType = "BUSINESS_INSIGHTS_MATCH_FAILED"
	RefusedBusinessNameMatchFail     RefusedReasonType = "BUSINESS_NAME_MATCH_FAILED"
	RefusedPSCMatchFail              RefusedReasonType = "PSC_MATCH_FAIL"
	RefusedPSCNameFail               RefusedReasonType = "PSC_NAME_FAIL"
	RefusedTimeout                   RefusedReasonType = "TIMEOUT"
	RefusedError                     RefusedReasonType = "ERROR"
	RefusedExpiredCredentials        RefusedReasonType = "EXPIRED_CREDENTIALS"
)

// KYCDocumentStatus is the Status of a KYC document.
type KYCDocumentStatus string

// Known KYC document statuses; OUTDATED and REJECTED are tolerated legacy
// spellings (see Normalize).
const (
	KYCDocumentCreated         KYCDocumentStatus = "CREATED"
	KYCDocumentValidationAsked KYCDocumentStatus = "VALIDATION_ASKED"
	KYCDocumentValidated       KYCDocumentStatus = "VALIDATED"
	KYCDocumentRefused         KYCDocumentStatus = "REFUSED"
	KYCDocumentOutOfDate       KYCDocumentStatus = "OUT_OF_DATE"

	// KYCDocumentOutdated is a legacy spelling of OUT_OF_DATE.
	KYCDocumentOutdated KYCDocumentStatus = "OUTDATED"
	// KYCDocumentRejected is a legacy spelling of REFUSED.
	KYCDocumentRejected KYCDocumentStatus = "REJECTED"
)

// Normalize maps OUTDATED to OUT_OF_DATE and REJECTED to REFUSED.
func (s KYCDocumentStatus) Normalize() KYCDocumentStatus {
	switch s {
	case KYCDocumentOutdated:
		return KYCDocumentOutOfDate
	case KYCDocumentRejected:
		return KYCDocumentRefused
	default:
		return s
	}
}

// IsFinal reports whether Mangopay has processed the document: VALIDATED,
// REFUSED or OUT_OF_DATE (or a legacy spelling of those).
func (s KYCDocumentStatus) IsFinal() bool {
	switch s.Normalize() {
	case KYCDocumentValidated, KYCDocumentRefused, KYCDocumentOutOfDate:
		return true
	default:
		return false
	}
}

// KYCDocumentType is the Type of a KYC document.
type KYCDocumentType string

// Known KYC document types.
const (
	KYCIdentityProof          KYCDocumentType = "IDENTITY_PROOF"
	KYCRegistrationProof      KYCDocumentType = "REGISTRATION_PROOF"
	KYCArticlesOfAssociation  KYCDocumentType = "ARTICLES_OF_ASSOCIATION"
	KYCShareholderDeclaration KYCDocumentType = "SHAREHOLDER_DECLARATION"
	KYCAddressProof           KYCDocumentType = "ADDRESS_PROOF"
)

// PersonType says whether a user is a natural or a legal person.
type PersonType string

// Known person types.
const (
	PersonNatural PersonType = "NATURAL"
	PersonLegal   PersonType = "LEGAL"
)

// LegalPersonType is the kind of legal entity.
type LegalPersonType string

// Known legal person types.
const (
	LegalBusiness     LegalPersonType = "BUSINESS"
	LegalPartnership  LegalPersonType = "PARTNERSHIP"
	LegalOrganization LegalPersonType = "ORGANIZATION"
	LegalSoletrader   LegalPersonType = "SOLETRADER"
)

// KYCLevel is a user's verification level.
type KYCLevel string

// Known KYC levels.
const (
	// KYCLevelLight means the user is not verified (the default).
	KYCLevelLight KYCLevel = "LIGHT"
	// KYCLevelRegular means the user is KYC/KYB verified.
	KYCLevelRegular KYCLevel = "REGULAR"
)

// UserCategory is a user's category.
type UserCategory string

// Known user categories.
const (
	UserCategoryPayer    UserCategory = "PAYER"
	UserCategoryOwner    UserCategory = "OWNER"
	UserCategoryPlatform UserCategory = "PLATFORM"
)

// UserStatus is a user's account status.
type UserStatus string

// Known user statuses.
const (
	UserStatusPendingUserAction UserStatus = "PENDING_USER_ACTION"
	UserStatusActive            UserStatus = "ACTIVE"
	UserStatusClosed            UserStatus = "CLOSED"
)

// SCAContext tells Mangopay whether the user is present when an SCA-enabled
// endpoint is called (JSON "ScaContext").
type SCAContext string

// Known SCA contexts.
const (
	SCAUserPresent    SCAContext = "USER_PRESENT"
	SCAUserNotPresent SCAContext = "USER_NOT_PRESENT"
)

// HookStatus says whether a hook is enabled.
type HookStatus string

// Known hook statuses.
const (
	HookEnabled  HookStatus = "ENABLED"
	HookDisabled HookStatus = "DISABLED"
)

// HookValidity says whether Mangopay still delivers to a hook; it becomes
// INVALID after 100 consecutive failed deliveries.
type HookValidity string

// Known hook validities.
const (
	HookValid   HookValidity = "VALID"
	HookInvalid HookValidity = "INVALID"
)

// EventType is the type of a webhook notification or event.
type EventType string

// Known event types of IDV sessions. PENDING, TIMEOUT, EXPIRED and the PSC
// types come from SDKs and 2026 release notes rather than the event list.
const (
	EventIdentityVerificationValidated        EventType = "IDENTITY_VERIFICATION_VALIDATED"
	EventIdentityVerificationFailed           EventType = "IDENTITY_VERIFICATION_FAILED"
	EventIdentityVerificationInconclusive     EventType = "IDENTITY_VERIFICATION_INCONCLUSIVE"
	EventIdentityVerificationOutdated         EventType = "IDENTITY_VERIFICATION_OUTDATED"
	EventIdentityVerificationPending          EventType = "IDENTITY_VERIFICATION_PENDING"
	EventIdentityVerificationTimeout          EventType = "IDENTITY_VERIFICATION_TIMEOUT"
	EventIdentityVerificationExpired          EventType = "IDENTITY_VERIFICATION_EXPIRED"
	EventIdentityVerificationPendingPSCAction EventType = "IDENTITY_VERIFICATION_PENDING_PSC_ACTION"
	EventIdentityVerificationPSCPending       EventType = "IDENTITY_VERIFICATION_PSC_PENDING"
	EventIdentityVerificationPSCValidated     EventType = "IDENTITY_VERIFICATION_PSC_VALIDATED"
	// EventIdentityVerificationPSCFailed and EventIdentityVerificationPSCRejected
	// both mean a PSC session was rejected: the sources disagree on which
	// one Mangopay sends, so subscribe to both.
	EventIdentityVerificationPSCFailed    EventType = "IDENTITY_VERIFICATION_PSC_FAILED"
	EventIdentityVerificationPSCRejected  EventType = "IDENTITY_VERIFICATION_PSC_REJECTED"
	EventIdentityVerificationPSCAbandoned EventType = "IDENTITY_VERIFICATION_PSC_ABANDONED"
)

// Known event types of user KYC levels.
const (
	EventUserKYCRegular EventType = "USER_KYC_REGULAR"
	EventUserKYCLight   EventType = "USER_KYC_LIGHT"
	// EventUserKYCRenewalRequired is sent 90 days before a user's
	// KycRenewalDeadline (see Client.GetRegulatoryStatus); its resource is the
	// user.
	EventUserKYCRenewalRequired EventType = "USER_KYC_RENEWAL_REQUIRED"
	// EventUserKYCRenewal is how one reference note shortens
	// USER_KYC_RENEWAL_REQUIRED; the SDKs and release notes spell it in full.
	// Kept so that code written against it still compiles.
	EventUserKYCRenewal EventType = "USER_KYC_RENEWAL"
	// EventUserKYCRenewed says the user completed their KYC renewal.
	EventUserKYCRenewed EventType = "USER_KYC_RENEWED"
)

// Known event types of KYC documents.
const (
	EventKYCCreated         EventType = "KYC_CREATED"
	EventKYCValidationAsked EventType = "KYC_VALIDATION_ASKED"
	EventKYCSucceeded       EventType = "KYC_SUCCEEDED"
	EventKYCFailed          EventType = "KYC_FAILED"
	EventKYCOutdated        EventType = "KYC_OUTDATED"
)

// Known event types of the user lifecycle.
const (
	EventUserAccountValidationAsked            EventType = "USER_ACCOUNT_VALIDATION_ASKED"
	EventUserAccountActivated                  EventType = "USER_ACCOUNT_ACTIVATED"
	EventUserAccountClosed                     EventType = "USER_ACCOUNT_CLOSED"
	EventSCAEnrollmentSucceeded                EventType = "SCA_ENROLLMENT_SUCCEEDED"
	EventSCAEnrollmentExpired                  EventType = "SCA_ENROLLMENT_EXPIRED"
	EventSCAEnrollmentFailed                   EventType = "SCA_ENROLLMENT_FAILED"
	EventUserCategoryUpdatedToOwner            EventType = "USER_CATEGORY_UPDATED_TO_OWNER"
	EventUserCategoryUpdatedToPayer            EventType = "USER_CATEGORY_UPDATED_TO_PAYER"
	EventUserCategoryUpdatedToPlatform         EventType = "USER_CATEGORY_UPDATED_TO_PLATFORM"
	EventUBODeclarationCreated                 EventType = "UBO_DECLARATION_CREATED"
	EventUBODeclarationValidationAsked         EventType = "UBO_DECLARATION_VALIDATION_ASKED"
	EventUBODeclarationValidated               EventType = "UBO_DECLARATION_VALIDATED"
	EventUBODeclarationRefused                 EventType = "UBO_DECLARATION_REFUSED"
	EventUBODeclarationIncomplete              EventType = "UBO_DECLARATION_INCOMPLETE"
	EventLegalCompanyNumberValidationFailed    EventType = "LEGAL_COMPANY_NUMBER_VALIDATION_FAILED"
	EventLegalCompanyNumberValidationSucceeded EventType = "LEGAL_COMPANY_NUMBER_VALIDATION_SUCCEEDED"
)

// Known event types of Mangopay's blocks of a user's money flows (the
// regulatory status's ScopeBlocked); their resource is the user.
const (
	EventUserInflowsBlocked    EventType = "USER_INFLOWS_BLOCKED"
	EventUserInflowsUnblocked  EventType = "USER_INFLOWS_UNBLOCKED"
	EventUserOutflowsBlocked   EventType = "USER_OUTFLOWS_BLOCKED"
	EventUserOutflowsUnblocked EventType = "USER_OUTFLOWS_UNBLOCKED"
)
