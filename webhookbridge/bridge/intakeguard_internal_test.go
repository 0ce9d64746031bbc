package bridge

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIntakeGuardAtItsCap: with maxClients addresses remembered, all of
// them flooding, a new address (Mangopay's) gets a bucket of its own, not
// one the flood drained, and the idle addresses are swept at most once per
// sweepEvery, not on every call (a sweep walks every address).
func TestIntakeGuardAtItsCap(t *testing.T) {
	g := &IntakeGuard{PerSecond: 1, Burst: 1}
	now := time.Unix(1_800_000_000, 0)
	for i := range maxClients {
		a := "flood-" + strconv.Itoa(i)
		g.allow(a, now)
		ok, _ := g.allow(a, now)
		require.False(t, ok)
	}
	for i := range 100 { // the flood's next addresses
		g.allow("flood-more-"+strconv.Itoa(i), now)
		g.allow("flood-more-"+strconv.Itoa(i), now)
	}
	assert.LessOrEqual(t, len(g.clients), maxClients, "the memory stays bounded")

	sweeps := g.sweeps
	for i := range 1000 {
		g.allow("flood-last-"+strconv.Itoa(i), now.Add(time.Millisecond))
	}
	assert.LessOrEqual(t, g.sweeps-sweeps, 1, "at most one sweep within sweepEvery, full or not")

	ok, _ := g.allow("185.0.0.1", now.Add(time.Millisecond))
	assert.True(t, ok, "a new address at the cap is not refused for the flood's sake")
}
