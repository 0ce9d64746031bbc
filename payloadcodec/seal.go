package payloadcodec

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrSealed is returned by Open for data too short or not sealed by a Codec.
var ErrSealed = errors.New("payloadcodec: not sealed data")

// keyIDLen is the length of KeyID's hex string.
const keyIDLen = 16

// Seal encrypts plain with the first key for storage outside Temporal (the
// claim-check pages in Redis), bound to ad: Open fails unless given the same
// ad, so sealed data moved under another name does not open. The result is
// the key ID, the nonce and the ciphertext.
func (c *Codec) Seal(plain, ad []byte) ([]byte, error) {
	id := c.ids[0]
	aead := c.aeads[id]
	out := make([]byte, keyIDLen+aead.NonceSize(), keyIDLen+aead.NonceSize()+len(plain)+aead.Overhead())
	copy(out, id)
	nonce := out[keyIDLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("payloadcodec: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plain, ad), nil
}

// Open decrypts what Seal returned, with whichever key sealed it.
func (c *Codec) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < keyIDLen {
		return nil, ErrSealed
	}
	id := string(sealed[:keyIDLen])
	aead, ok := c.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	rest := sealed[keyIDLen:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrSealed
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], ad)
	if err != nil {
		return nil, fmt.Errorf("payloadcodec: decrypt: %w", err)
	}
	return plain, nil
}

// KeyIDs are the IDs of the codec's keys (KeyID), the encrypting one first.
func (c *Codec) KeyIDs() []string { return append([]string(nil), c.ids...) }

// SealedKeyID names the key that sealed data Seal returned ("" when it is
// too short to say).
func (c *Codec) SealedKeyID(sealed []byte) string {
	if len(sealed) < keyIDLen {
		return ""
	}
	return string(sealed[:keyIDLen])
}
