// Package tokens reads the bearer and path tokens that kycflow accepts
// several of at once, so that a secret can be rotated without a moment in
// which a caller holding either the old or the new value is refused: the
// variable lists the new value first and the old one after it; every value
// is accepted, and the first is the one kycflow itself hands out (the
// webhook URL it registers at Mangopay, the token its tools send).
package tokens

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// Split reads a comma-separated list of tokens, trimming spaces and
// dropping empty entries; the order is kept (the first is the current one).
func Split(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Match returns the index in want of the token got, or -1. Every
// candidate is compared in constant time, and all of them are compared, so
// that the time taken does not say which one (or how much of one) matched.
// The SHA-256 digests are compared, not the tokens: ConstantTimeCompare
// returns at once when the lengths differ, which would tell a caller the
// length of a token; digests are all 32 bytes.
func Match(got string, want []string) int {
	found := -1
	g := sha256.Sum256([]byte(got))
	for i, w := range want {
		d := sha256.Sum256([]byte(w))
		if w != "" && subtle.ConstantTimeCompare(g[:], d[:]) == 1 && found < 0 {
			found = i
		}
	}
	return found
}
