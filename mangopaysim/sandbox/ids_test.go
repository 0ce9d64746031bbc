package sandbox

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// IDs must sort in the order they were made, however many fall within one
// millisecond: the simulator's lists break creation-date ties on ID, and a
// list out of creation order once failed CI.
func TestULIDsSortInCreationOrder(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 7))
		ids := newIDSource(seed)
		at := time.UnixMilli(1_700_000_000_000)
		prev := ""
		for i := range 2000 {
			// Mostly the same millisecond, sometimes the next ones.
			if rng.IntN(10) == 0 {
				at = at.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
			id := ids.ulid("user_m_", at)
			require.Len(t, id, len("user_m_")+26)
			for _, c := range id[len("user_m_"):] {
				require.Contains(t, crockford, string(c))
			}
			if prev != "" {
				require.Less(t, prev, id, "seed %d, id %d", seed, i)
			}
			prev = id
		}
	}
}

func TestULIDsCarryTheirMillisecond(t *testing.T) {
	ids := newIDSource(1)
	a := ids.ulid("", time.UnixMilli(1_700_000_000_000))
	b := ids.ulid("", time.UnixMilli(1_700_000_000_000))
	c := ids.ulid("", time.UnixMilli(1_700_000_000_001))
	assert.Equal(t, a[:10], b[:10])
	assert.NotEqual(t, a[10:], b[10:])
	assert.Less(t, b[:10], c[:10])
	assert.NotEqual(t, b[10:], c[10:], "a new millisecond draws new random bits")
}
