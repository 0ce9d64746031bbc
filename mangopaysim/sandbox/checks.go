package sandbox

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Check types and their statuses, as on the wire.
const (
	CheckIdentityDocument = "IDENTITY_DOCUMENT_VERIFICATION"
	CheckNameMatch        = "IDV_NAME_MATCH_CHECK"
	CheckAge              = "IDV_AGE_CHECK"
	CheckBusiness         = "BUSINESS_VERIFICATION"
	CheckBusinessName     = "BUSINESS_NAME_MATCH"
	CheckBusinessInsights = "BUSINESS_INSIGHTS_MATCH"

	validated = "VALIDATED"
	refused   = "REFUSED"
	review    = "REVIEW"
)

// checksFor lists the checks a session runs for a kind of user (NATURAL or a
// LegalPersonType), in the order the hosted page asks for them: the business
// part first for legal users, then the ID liveness part. With PSC sessions
// (pscs), the PSC checks run on the main session after the business part.
func checksFor(kind string, pscs bool) []string {
	idv := []string{CheckIdentityDocument, CheckNameMatch, CheckAge}
	var business []string
	switch kind {
	case "NATURAL":
		return idv
	case "SOLETRADER":
		business = []string{CheckBusiness, CheckBusinessName}
	case "BUSINESS":
		business = []string{CheckBusiness, CheckBusinessInsights}
	default: // ORGANIZATION
		business = []string{CheckBusiness}
	}
	if pscs {
		business = append(business, CheckPscRole, CheckPscConsistency)
	}
	return append(business, idv...)
}

// dependsOn gives the Sandbox's conditional logic: a check is only performed
// if the check it depends on was validated.
var dependsOn = map[string]string{
	CheckNameMatch:        CheckIdentityDocument,
	CheckAge:              CheckIdentityDocument,
	CheckBusinessName:     CheckBusiness,
	CheckBusinessInsights: CheckBusiness,
}

// isIDCheck tells the checks whose refusal refuses the session outright; a
// refused business check sends a legal user's session to manual review.
func isIDCheck(t string) bool {
	return t == CheckIdentityDocument || t == CheckNameMatch || t == CheckAge
}

// refusalReasons are the reason types each check may be refused with (the
// hosted guide's list first, then the beta glossary's TIMEOUT, ERROR and
// EXPIRED_CREDENTIALS). The first is the default.
var refusalReasons = map[string][]string{
	CheckIdentityDocument: {"DOCUMENT_NOT_ACCEPTED", "FACE_MATCH_FAIL", "DOCUMENT_FALSIFIED", "DOCUMENT_UNREADABLE", "DOCUMENT_HAS_EXPIRED", "TIMEOUT", "ERROR", "EXPIRED_CREDENTIALS"},
	CheckNameMatch:        {"DOCUMENT_NOT_ACCEPTED"},
	CheckAge:              {"DOCUMENT_NOT_ACCEPTED"},
	CheckBusiness:         {"DOCUMENT_NOT_ACCEPTED", "DOCUMENT_TYPE_NOT_SUPPORTED", "DOCUMENT_HAS_EXPIRED", "DOCUMENT_UNREADABLE", "DOCUMENT_INCOMPLETE", "DOCUMENT_FALSIFIED", "TIMEOUT", "ERROR", "EXPIRED_CREDENTIALS"},
	CheckBusinessName:     {"BUSINESS_NAME_MATCH_FAILED"},
	CheckBusinessInsights: {"BUSINESS_INSIGHTS_MATCH_FAILED"},
	// The PSC checks' reasons are not published; these are the SDKs' PSC_*
	// reason types.
	CheckPscRole:        {"PSC_MATCH_FAIL"},
	CheckPscConsistency: {"PSC_NAME_FAIL"},
}

// reasonText is the preset Value that accompanies a reason type.
func reasonText(check, reason string) string {
	switch {
	case reason == "FACE_MATCH_FAIL":
		return "Document IDV has been refused by the provider"
	case check == CheckNameMatch:
		return "ID name mismatch with declared user data"
	case check == CheckAge:
		return "The user is under the minimum age"
	}
	texts := map[string]string{
		"DOCUMENT_NOT_ACCEPTED":          "The document is not an acceptable form of verification",
		"DOCUMENT_FALSIFIED":             "The document appears to be fraudulent or tampered with",
		"DOCUMENT_UNREADABLE":            "The information on the document is illegible or cannot be processed",
		"DOCUMENT_HAS_EXPIRED":           "The document provided has expired",
		"DOCUMENT_TYPE_NOT_SUPPORTED":    "The type of business document provided is not currently supported",
		"DOCUMENT_INCOMPLETE":            "The business document is missing essential information or sections",
		"TIMEOUT":                        "The session timed out due to inactivity by the user",
		"ERROR":                          "A critical error occurred during the verification process",
		"EXPIRED_CREDENTIALS":            "The KYC check has become invalid",
		"BUSINESS_NAME_MATCH_FAILED":     "Business name does not match the registry",
		"BUSINESS_INSIGHTS_MATCH_FAILED": "Not OK",
		"PSC_MATCH_FAIL":                 "A declared person's role does not match the registry",
		"PSC_NAME_FAIL":                  "The declared persons are not consistent with the registry",
	}
	return texts[reason]
}

// Choice is the outcome a tester picks for one check.
type Choice struct {
	Status string // VALIDATED or REFUSED
	Reason string // optional reason type for REFUSED
}

// resolved is a computed outcome: the session status and the checks as
// the API will show them.
type resolved struct {
	status string
	checks []check
}

// resolveChecks applies the Sandbox's rules to the tester's choices. Checks
// not performed (because the check they depend on failed) are left out
// whatever was chosen for them; checks with no choice pass.
func (s *Sandbox) resolveChecks(u *user, choices map[string]Choice, data map[string]string, now int64) (resolved, error) {
	kind := u.kind()
	if err := validateVerifiedData(u, data); err != nil {
		return resolved{}, err
	}
	applicable := checksFor(kind, s.hasPscsLocked(u))
	// Reject choices for checks this user type never runs, in a fixed order.
	names := make([]string, 0, len(choices))
	for name := range choices {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(applicable, name) {
			return resolved{}, fmt.Errorf("%w: check %s does not apply to a %s user (applicable: %s)",
				ErrInvalidOutcome, name, strings.ToLower(kind), strings.Join(applicable, ", "))
		}
		c := choices[name]
		if c.Status != validated && c.Status != refused {
			return resolved{}, fmt.Errorf("%w: check %s: status must be VALIDATED or REFUSED, got %q", ErrInvalidOutcome, name, c.Status)
		}
		if c.Reason != "" && (c.Status != refused || !slices.Contains(refusalReasons[name], c.Reason)) {
			return resolved{}, fmt.Errorf("%w: check %s: reason %q is not one of %s for a refused check",
				ErrInvalidOutcome, name, c.Reason, strings.Join(refusalReasons[name], ", "))
		}
	}

	out := resolved{status: validated}
	passed := map[string]bool{}
	idRefused, businessRefused := false, false
	for _, t := range applicable {
		if dep, ok := dependsOn[t]; ok && !passed[dep] {
			continue
		}
		c := choices[t]
		st := validated
		if c.Status == refused {
			st = refused
		}
		passed[t] = st == validated
		ch := check{
			CheckID: s.ids.ulid("idnchc_", s.clock.Now()), Type: t, CheckStatus: st,
			CreationDate: now, LastUpdate: now, Data: checkDataFor(u, t, st, data), Reasons: []checkReason{},
		}
		if st == refused {
			reason := c.Reason
			if reason == "" {
				reason = refusalReasons[t][0]
			}
			ch.Reasons = []checkReason{{Type: reason, Value: reasonText(t, reason)}}
			if isIDCheck(t) {
				idRefused = true
			} else {
				businessRefused = true
			}
		}
		out.checks = append(out.checks, ch)
	}
	switch {
	case idRefused:
		out.status = refused
	case businessRefused:
		out.status = review // only legal users have business checks
	}
	return out, nil
}

// verifiedDataTypes are the Data types a session of each kind of user
// verifies, and so the ones a tester may set: what the ID says (which may
// differ from what the user declared) and the company data entered on the
// page.
func verifiedDataTypes(u *user) []string {
	if u.PersonType == "NATURAL" {
		return []string{"FIRST_NAME", "LAST_NAME", "BIRTHDATE"}
	}
	return []string{"COMPANY_NAME", "COMPANY_NUMBER", "LEGAL_REPRESENTATIVE_FIRST_NAME", "LEGAL_REPRESENTATIVE_LAST_NAME", "LEGAL_REPRESENTATIVE_BIRTHDATE"}
}

// validateVerifiedData checks data given for a session of u.
func validateVerifiedData(u *user, data map[string]string) error {
	allowed := verifiedDataTypes(u)
	names := slices.Sorted(maps.Keys(data))
	for _, typ := range names {
		v := data[typ]
		switch {
		case !slices.Contains(allowed, typ):
			return fmt.Errorf("%w: Data type %s does not apply to a %s user (applicable: %s)", ErrInvalidOutcome, typ,
				strings.ToLower(u.kind()), strings.Join(allowed, ", "))
		case strings.HasSuffix(typ, "BIRTHDATE"):
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return fmt.Errorf("%w: Data %s must be Unix seconds, got %q", ErrInvalidOutcome, typ, v)
			}
		case strings.TrimSpace(v) == "" || len(v) > 255:
			return fmt.Errorf("%w: Data %s must be 1 to 255 characters", ErrInvalidOutcome, typ)
		}
	}
	return nil
}

// declaredData is what a check extracts or takes by default: the user's own
// data, names upper-cased as read from an ID.
func declaredData(u *user) map[string]*string {
	str := func(v string) *string { return &v }
	date := func(p *int64) *string {
		if p == nil {
			return nil
		}
		return str(strconv.FormatInt(*p, 10))
	}
	if u.PersonType == "NATURAL" {
		return map[string]*string{
			"FIRST_NAME": str(strings.ToUpper(u.FirstName)), "LAST_NAME": str(strings.ToUpper(u.LastName)), "BIRTHDATE": date(u.Birthday),
		}
	}
	r := u.LegalRepresentative
	return map[string]*string{
		"COMPANY_NAME": str(u.Name), "COMPANY_NUMBER": u.CompanyNumber,
		"LEGAL_REPRESENTATIVE_FIRST_NAME": str(strings.ToUpper(r.FirstName)),
		"LEGAL_REPRESENTATIVE_LAST_NAME":  str(strings.ToUpper(r.LastName)),
		"LEGAL_REPRESENTATIVE_BIRTHDATE":  date(r.Birthday),
	}
}

// checkDataFor returns the verified data a check carries: extracted from the
// ID for the document check (empty when refused), entered by the user for the
// business check. data overrides the defaults (the user's declared data).
func checkDataFor(u *user, t, status string, data map[string]string) []checkData {
	values := declaredData(u)
	for k, v := range data {
		values[k] = &v
	}
	str := func(v string) *string { return &v }
	switch t {
	case CheckIdentityDocument:
		prefix := ""
		if u.PersonType == "LEGAL" {
			prefix = "LEGAL_REPRESENTATIVE_"
		}
		if status == refused {
			return []checkData{{prefix + "FIRST_NAME", str("")}, {prefix + "LAST_NAME", str("")}, {prefix + "BIRTHDATE", nil}}
		}
		return []checkData{
			{prefix + "FIRST_NAME", values[prefix+"FIRST_NAME"]},
			{prefix + "LAST_NAME", values[prefix+"LAST_NAME"]},
			{prefix + "BIRTHDATE", values[prefix+"BIRTHDATE"]},
		}
	case CheckBusiness:
		return []checkData{{"COMPANY_NAME", values["COMPANY_NAME"]}, {"COMPANY_NUMBER", values["COMPANY_NUMBER"]}}
	}
	return []checkData{}
}

// applyVerifiedData overwrites the user's fields with the verified data of a
// validated session (the seed's table).
func applyVerifiedData(u *user, checks []check) {
	for _, c := range checks {
		for _, d := range c.Data {
			if d.Value == nil {
				continue
			}
			v := *d.Value
			switch d.Type {
			case "FIRST_NAME":
				u.FirstName = v
			case "LAST_NAME":
				u.LastName = v
			case "BIRTHDATE":
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					u.Birthday = &n
				}
			case "LEGAL_REPRESENTATIVE_FIRST_NAME":
				u.LegalRepresentative.FirstName = v
			case "LEGAL_REPRESENTATIVE_LAST_NAME":
				u.LegalRepresentative.LastName = v
			case "LEGAL_REPRESENTATIVE_BIRTHDATE":
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					u.LegalRepresentative.Birthday = &n
				}
			case "COMPANY_NAME":
				u.Name = v
			case "COMPANY_NUMBER":
				u.CompanyNumber = &v
			}
		}
	}
}
