package claimcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Rekeyer is a Sealer that names its keys: the payload codec. Reseal needs
// it to tell pages sealed under a retired key from current ones.
type Rekeyer interface {
	Sealer
	// KeyIDs are the IDs of the keys held, the sealing one first.
	KeyIDs() []string
	// SealedKeyID names the key that sealed data.
	SealedKeyID(sealed []byte) string
}

// ResealResult says what Reseal did and what is left.
type ResealResult struct {
	Pages    int // pages scanned
	Resealed int // sealed again under the current key
	// Left are the pages still not sealed under the current key: under a
	// key the store does not hold, unreadable, or in clear. Zero means
	// nothing in the page store needs the old keys.
	Left int
}

// Reseal seals again, under the current key (the first), every page sealed
// under another one, keeping its TTL, so that an old payload key can be
// retired before the pages it sealed expire. A page deleted meanwhile (its
// upload done) is not brought back. It needs a store whose Sealer is a
// Rekeyer.
func (s *Store) Reseal(ctx context.Context) (ResealResult, error) {
	var res ResealResult
	rk, ok := s.sealer.(Rekeyer)
	if !ok {
		return res, errors.New("claimcheck: reseal needs a store with the payload key")
	}
	current := rk.KeyIDs()[0]
	iter := s.rdb.Scan(ctx, 0, keyPrefix+"*", 200).Iterator()
	for iter.Next(ctx) {
		stored := iter.Val()
		// With REDIS_KEY_PREFIX the scan returns the renamed key; the page
		// is sealed with, and read through, its claim key.
		i := strings.LastIndex(stored, ":page:")
		if i < 0 {
			continue
		}
		key := keyPrefix + stored[i+len(":page:"):]
		if !IsKey(key) {
			continue
		}
		res.Pages++
		done, err := s.resealOne(ctx, rk, key, current)
		switch {
		case err != nil:
			res.Left++
		case done:
			res.Resealed++
		}
	}
	if err := iter.Err(); err != nil {
		return res, fmt.Errorf("claimcheck: reseal: scan: %w", err)
	}
	return res, nil
}

// resealOne seals the page at key again when another key sealed it. It
// errs for a page it cannot bring under the current key.
func (s *Store) resealOne(ctx context.Context, rk Rekeyer, key, current string) (bool, error) {
	raw, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil // uploaded and deleted meanwhile
	}
	if err != nil {
		return false, err
	}
	sealed, ok := bytes.CutPrefix(raw, sealedMagic)
	if !ok {
		return false, ErrUnsealed
	}
	if rk.SealedKeyID(sealed) == current {
		return false, nil
	}
	plain, err := rk.Open(sealed, []byte(key))
	if err != nil {
		return false, err
	}
	again, err := rk.Seal(plain, []byte(key))
	if err != nil {
		return false, err
	}
	// XX: never bring back a page deleted since the read; KEEPTTL: it
	// expires when it would have.
	err = s.rdb.SetArgs(ctx, key, append(append([]byte(nil), sealedMagic...), again...), redis.SetArgs{Mode: "XX", KeepTTL: true}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}
