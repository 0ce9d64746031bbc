package sandbox

import (
	"encoding/hex"
	"math/rand/v2"
	"sync"
	"time"
)

// Crockford's base32, as used by ULIDs: Mangopay's newer object IDs are
// prefixed ULIDs such as user_m_01JF7AP1M46TR0JH7WBGPWK7D7.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

type idSource struct {
	mu  sync.Mutex
	rng *rand.Rand
	// The last ULID's millisecond and 80 random bits: IDs made within one
	// millisecond count up from it (the ULID spec's monotonic mode), so IDs
	// sort in creation order as Mangopay's do, and lists that break ties
	// on ID keep that order.
	lastMS     uint64
	lastHi     uint64 // top 64 of the 80 random bits
	lastLo     uint64 // low 16 bits
	lastIssued bool
}

func newIDSource(seed uint64) *idSource {
	return &idSource{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// ulid returns prefix + a 26-character ULID for the instant at.
func (s *idSource) ulid(prefix string, at time.Time) string {
	ms := uint64(max(at.UnixMilli(), 0))
	s.mu.Lock()
	var hi, lo uint64
	if s.lastIssued && ms == s.lastMS {
		hi, lo = s.lastHi, s.lastLo+1
		if lo == 1<<16 {
			// The spec fails on overflow of all 80 bits; 2^64 IDs in one
			// millisecond cannot happen, so carrying into hi is enough.
			hi, lo = hi+1, 0
		}
	} else {
		// Clear the top bit so that counting up within the millisecond
		// cannot wrap around.
		hi, lo = s.rng.Uint64()>>1, s.rng.Uint64()&(1<<16-1)
	}
	s.lastMS, s.lastHi, s.lastLo, s.lastIssued = ms, hi, lo, true
	s.mu.Unlock()
	var b [26]byte
	// 48-bit timestamp in 10 characters, then 80 random bits in 16: hi
	// first, lo last, so that the string sorts as the 80-bit number does.
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	r := [2]uint64{lo, hi} // low word first
	for i := 25; i >= 10; i-- {
		b[i] = crockford[r[0]&31]
		r[0] = r[0]>>5 | (r[1]&31)<<11
		r[1] >>= 5
	}
	return prefix + string(b[:])
}

// hex24 returns 24 hex characters, the shape of the opaque identifiers in
// Mangopay's HostedUrl.
func (s *idSource) hex24() string {
	var b [12]byte
	s.mu.Lock()
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	s.mu.Unlock()
	return hex.EncodeToString(b[:])
}

// uuid returns a random RFC 4122 version 4 UUID, the shape of error Ids.
func (s *idSource) uuid() string {
	var b [16]byte
	s.mu.Lock()
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	s.mu.Unlock()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// float returns a number in [0,1) for fault injection.
func (s *idSource) float() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64()
}
