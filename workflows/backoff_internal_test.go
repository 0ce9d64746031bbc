package workflows

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The wait between refused attempts doubles and is capped, whatever the
// refusal count: an operator may raise MaxAttempts far enough that a plain
// shift overflows (a negative or zero wait retries at once, in a loop).
func TestRetryBackoffDoublesAndIsCapped(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		base := time.Duration(1 + rng.Int64N(int64(48*time.Hour)))
		maxWait := base + time.Duration(rng.Int64N(int64(400*24*time.Hour)))
		prev := time.Duration(0)
		for n := 1; n <= 200; n++ {
			d := retryBackoff(base, n, maxWait)
			require.GreaterOrEqual(t, d, min(base, maxWait), "base %v max %v n %d", base, maxWait, n)
			require.LessOrEqual(t, d, maxWait, "base %v max %v n %d", base, maxWait, n)
			require.GreaterOrEqual(t, d, prev, "never shrinks: base %v max %v n %d", base, maxWait, n)
			switch {
			case n == 1:
				require.Equal(t, min(base, maxWait), d)
			case prev <= maxWait/2:
				require.Equal(t, 2*prev, d, "doubles below the cap: base %v n %d", base, n)
			default:
				require.Equal(t, maxWait, d, "capped: base %v max %v n %d", base, maxWait, n)
			}
			prev = d
		}
	}
}
