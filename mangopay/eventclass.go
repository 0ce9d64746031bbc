package mangopay

import "strings"

// The classification of event types: what a webhook's RessourceId names
// (Resource, which the bridge routes by) and what the event tells of
// (Topic, which the onboarding workflow handles it by). It is the one place
// that reads meaning into an event type's name: the bridge, the workflow
// and the reconciliation all ask it, so that a type one of them knows the
// others know too.

// Resource is what the resource ID of an event of a type names.
type Resource string

// Resources that event types name.
const (
	// ResourceNone: kycflow does not route events of this type.
	ResourceNone Resource = ""
	// ResourceUser: the user (USER_*).
	ResourceUser Resource = "user"
	// ResourceIDVSession: an IDV session (IDENTITY_VERIFICATION_*). For
	// the PSC types it may be a PSC session instead (psc_…, see IsPSCID):
	// Mangopay's sources disagree on which one the webhook names.
	ResourceIDVSession Resource = "idv_session"
	// ResourceKYCDocument: a KYC document (KYC_*).
	ResourceKYCDocument Resource = "kyc_document"
)

// Resource is what the resource ID of an event of type e names, by the
// type's prefix: a type Mangopay adds under a known prefix names the same
// kind of resource.
func (e EventType) Resource() Resource {
	switch s := string(e); {
	case strings.HasPrefix(s, "USER_"):
		return ResourceUser
	case strings.HasPrefix(s, "IDENTITY_VERIFICATION_"):
		return ResourceIDVSession
	case strings.HasPrefix(s, "KYC_"):
		return ResourceKYCDocument
	}
	return ResourceNone
}

// Topic is what an event tells of: what the onboarding workflow re-reads
// when one arrives.
type Topic string

// Topics of event types.
const (
	// TopicNone: nothing kycflow acts on.
	TopicNone Topic = ""
	// TopicSession: an IDV session's outcome.
	TopicSession Topic = "session"
	// TopicPSC: a PSC session of a business (2026).
	TopicPSC Topic = "psc"
	// TopicDocument: a KYC document's outcome.
	TopicDocument Topic = "document"
	// TopicLevel: the user's KYC level (LIGHT or REGULAR).
	TopicLevel Topic = "level"
	// TopicRenewal: the user's KYC renewal (2026).
	TopicRenewal Topic = "renewal"
	// TopicScope: Mangopay's blocks of the user's money flows.
	TopicScope Topic = "scope"
)

// Topic is what an event of type e tells of.
func (e EventType) Topic() Topic {
	switch s := string(e); {
	case e == EventUserInflowsBlocked, e == EventUserInflowsUnblocked, e == EventUserOutflowsBlocked, e == EventUserOutflowsUnblocked:
		return TopicScope
	case e == EventIdentityVerificationPendingPSCAction, strings.HasPrefix(s, "IDENTITY_VERIFICATION_PSC_"):
		return TopicPSC
	case e == EventUserKYCRenewalRequired, e == EventUserKYCRenewed:
		return TopicRenewal
	case strings.HasPrefix(s, "IDENTITY_VERIFICATION_"):
		return TopicSession
	case strings.HasPrefix(s, "KYC_"):
		return TopicDocument
	case e == EventUserKYCLight, e == EventUserKYCRegular:
		return TopicLevel
	}
	return TopicNone
}
