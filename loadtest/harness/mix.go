package harness

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// Path is one kind of onboarding the harness drives.
type Path string

// The paths, and what the simulator's decisions make them end as.
const (
	// PathValidated: the first session is validated.
	PathValidated Path = "validated"
	// PathRefusedThenValidated: refused (a reason that allows a retry),
	// the user comes back, the second session is validated.
	PathRefusedThenValidated Path = "refused-then-validated"
	// PathReview: a legal user (sole trader) goes to manual review, which
	// validates.
	PathReview Path = "review"
	// PathDowngradedReverified: validated, downgraded by Mangopay, the new
	// session validated.
	PathDowngradedReverified Path = "downgraded-reverified"
	// PathRefusedFinal: refused with a falsified document: FAILED.
	PathRefusedFinal Path = "refused-final"
	// PathExpired: the user never completes the hosted page; Mangopay
	// expires the session (the harness ends its lifetime at the simulator,
	// or Config.SessionLifetime ends every session's) and the onboarding
	// is EXPIRED, open for the next ensure-session.
	PathExpired Path = "expired"
	// PathExtraDocument: validated, then the platform submits an extra KYC
	// document (POST /v1/onboardings/{id}/documents), which Mangopay
	// validates (its Sandbox Tag rule "accept").
	PathExtraDocument Path = "extra-document"
	// PathBusinessPSCs: a BUSINESS user with two persons of significant
	// control: the main session validated, AWAITING_PSCS until both PSC
	// sessions are validated and Mangopay says REGULAR, then VERIFIED.
	PathBusinessPSCs Path = "business-pscs"
	// PathRenewal: validated, Mangopay asks for a KYC renewal
	// (RENEWAL_REQUIRED), the user comes back (ensure-session) and the
	// renewal session is validated: VERIFIED again.
	PathRenewal Path = "renewal"
)

// NotifiedPaths are followed through notifications the platform API's
// state does not carry (a document's, a PSC's): a run that polls the
// platform API (a target that does not notify the harness) cannot drive
// them.
var NotifiedPaths = []Path{PathExtraDocument, PathBusinessPSCs}

// Paths lists every path, in the order reports show them.
var Paths = []Path{PathValidated, PathRefusedThenValidated, PathReview, PathDowngradedReverified, PathRefusedFinal,
	PathExpired, PathExtraDocument, PathBusinessPSCs, PathRenewal}

// expectation is where a path must end, how many IDV sessions it needs,
// and the status changes the platform must be told of, in order.
type expectation struct {
	status   workflows.Status
	sessions int
	// transitions are the onboarding.<status> notifications, each change
	// once, in the order they must arrive.
	transitions []workflows.Status
	// pscs is how many PSC sessions Mangopay must list, all VALIDATED;
	// documents how many KYC documents, all VALIDATED.
	pscs, documents int
}

// pscPersons are the persons of significant control PathBusinessPSCs
// declares: each gets a PSC session once the main session is validated.
var pscPersons = []sandbox.PscPerson{
	{FirstName: "Ada", LastName: "Owner", PscType: sandbox.PscTypeUBO},
	{FirstName: "Bob", LastName: "Director", PscType: sandbox.PscTypeLegalRepresentative},
}

var expected = map[Path]expectation{
	PathValidated: {status: workflows.StatusVerified, sessions: 1,
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusVerified}},
	PathRefusedThenValidated: {status: workflows.StatusVerified, sessions: 2,
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusRefused, workflows.StatusAwaitingUser, workflows.StatusVerified}},
	PathReview: {status: workflows.StatusVerified, sessions: 1,
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusInReview, workflows.StatusVerified}},
	PathDowngradedReverified: {status: workflows.StatusVerified, sessions: 2,
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusVerified, workflows.StatusOutOfDate, workflows.StatusAwaitingUser, workflows.StatusVerified}},
	PathRefusedFinal: {status: workflows.StatusFailed, sessions: 1,
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusFailed}},
	PathExpired: {status: workflows.StatusExpired, sessions: 1,
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusExpired}},
	PathExtraDocument: {status: workflows.StatusVerified, sessions: 1, documents: 1,
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusVerified}},
	PathBusinessPSCs: {status: workflows.StatusVerified, sessions: 1, pscs: len(pscPersons),
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusAwaitingPSCs, workflows.StatusVerified}},
	PathRenewal: {status: workflows.StatusVerified, sessions: 2,
		// The renewal session keeps RENEWAL_REQUIRED (the user is still
		// REGULAR), told again with its session.
		transitions: []workflows.Status{workflows.StatusAwaitingUser, workflows.StatusVerified, workflows.StatusRenewal, workflows.StatusRenewal, workflows.StatusVerified}},
}

// Mix weighs the paths.
type Mix map[Path]int

// DefaultMix is every path, validated the most common; the 2026
// lifecycle's paths and the expiry weigh least (1 in 14 each: 14 users of
// make test's 200).
func DefaultMix() Mix {
	return Mix{PathValidated: 4, PathRefusedThenValidated: 2, PathReview: 1, PathDowngradedReverified: 2, PathRefusedFinal: 1,
		PathExpired: 1, PathExtraDocument: 1, PathBusinessPSCs: 1, PathRenewal: 1}
}

// ParseMix reads "validated=4,review=1" (a bare name weighs 1).
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, found := strings.Cut(part, "=")
		w := 1
		if found {
			n, err := strconv.Atoi(weight)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("--mix: the weight of %s must be a whole number, got %q", name, weight)
			}
			w = n
		}
		p := Path(name)
		if !slices.Contains(Paths, p) {
			return nil, fmt.Errorf("--mix: unknown path %q (%s)", name, pathNames())
		}
		m[p] += w
	}
	total := 0
	for _, w := range m {
		total += w
	}
	if total == 0 {
		return nil, fmt.Errorf("--mix: give at least one path a weight (%s)", pathNames())
	}
	return m, nil
}

func pathNames() string { return pathNamesOf(Paths) }

func pathNamesOf(ps []Path) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

// assign gives n users their paths in the mix's proportions, shuffled.
func (m Mix) assign(n int, rng *rand.Rand) []Path {
	total := 0
	for _, w := range m {
		total += w
	}
	out := make([]Path, 0, n)
	for _, p := range Paths {
		k := n * m[p] / total
		for range k {
			out = append(out, p)
		}
	}
	// Rounding leftovers go by weight.
	for len(out) < n {
		r := rng.IntN(total)
		for _, p := range Paths {
			if r < m[p] {
				out = append(out, p)
				break
			}
			r -= m[p]
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// String is the mix as ParseMix reads it.
func (m Mix) String() string {
	var parts []string
	for _, p := range Paths {
		if m[p] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", p, m[p]))
		}
	}
	return strings.Join(parts, ",")
}
