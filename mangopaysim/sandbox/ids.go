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
}

func newIDSource(seed uint64) *idSource {
	return &idSource{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// ulid returns prefix + a 26-character ULID for the instant at.
func (s *idSource) ulid(prefix string, at time.Time) string {
	s.mu.Lock()
	hi, lo := s.rng.Uint64(), s.rng.Uint64()
	s.mu.Unlock()
	ms := uint64(at.UnixMilli())
	var b [26]byte
	// 48-bit timestamp in 10 characters, then 80 random bits in 16.
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	r := [2]uint64{hi, lo & (1<<16 - 1)}
	for i := 25; i >= 10; i-- {
		b[i] = crockford[r[0]&31]
		r[0] = r[0]>>5 | (r[1]&31)<<59
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
