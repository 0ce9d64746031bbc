package harness

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

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
)

// Paths lists every path, in the order reports show them.
var Paths = []Path{PathValidated, PathRefusedThenValidated, PathReview, PathDowngradedReverified, PathRefusedFinal}

// expectation is where a path must end and how many IDV sessions it needs.
type expectation struct {
	status   workflows.Status
	sessions int
}

var expected = map[Path]expectation{
	PathValidated:            {workflows.StatusVerified, 1},
	PathRefusedThenValidated: {workflows.StatusVerified, 2},
	PathReview:               {workflows.StatusVerified, 1},
	PathDowngradedReverified: {workflows.StatusVerified, 2},
	PathRefusedFinal:         {workflows.StatusFailed, 1},
}

// Mix weighs the paths.
type Mix map[Path]int

// DefaultMix is every path, validated the most common.
func DefaultMix() Mix {
	return Mix{PathValidated: 4, PathRefusedThenValidated: 2, PathReview: 1, PathDowngradedReverified: 2, PathRefusedFinal: 1}
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

func pathNames() string {
	names := make([]string, len(Paths))
	for i, p := range Paths {
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
