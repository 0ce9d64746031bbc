// Package payloadcodec encrypts what kycflow stores in Temporal (workflow and
// activity inputs and results, signals, updates, queries, memo, and, through
// the failure converter, error messages) with AES-256-GCM, so that Mangopay
// reasons, user IDs and URLs are not readable in Temporal's database. Search
// attributes are never encoded by a codec: they hold IDs and statuses only.
// Handler serves the codec over HTTP for the Temporal Web UI.
package payloadcodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Metadata of an encrypted payload.
const (
	MetadataEncoding = "binary/encrypted"
	MetadataKeyID    = "encryption-key-id"
)

// ErrUnknownKey is returned when a payload was encrypted with a key this
// codec does not hold.
var ErrUnknownKey = errors.New("payloadcodec: payload encrypted with an unknown key")

// Codec is an AES-256-GCM converter.PayloadCodec. It encrypts with the first
// key and decrypts with any, so keys can be rotated: put the new key first
// and keep the old one until no open workflow needs it.
type Codec struct {
	ids   []string
	aeads map[string]cipher.AEAD
	keys  [][]byte // for MACKeys, in the same order
}

var _ converter.PayloadCodec = (*Codec)(nil)

// ParseKeys reads PAYLOAD_ENCRYPTION_KEY: comma-separated 32-byte keys in
// base64 or hex, the first one used for encryption.
func ParseKeys(v string) ([][]byte, error) {
	var keys [][]byte
	for i, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		k, err := hex.DecodeString(s)
		if err != nil {
			k, err = base64.StdEncoding.DecodeString(s)
		}
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("PAYLOAD_ENCRYPTION_KEY: key %d must be 32 bytes in hex or base64 (e.g. openssl rand -hex 32)", i+1)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("PAYLOAD_ENCRYPTION_KEY: no key")
	}
	return keys, nil
}

// New returns a codec for the keys (the first encrypts).
func New(keys [][]byte) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("payloadcodec: at least one key is required")
	}
	c := &Codec{aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("payloadcodec: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("payloadcodec: %w", err)
		}
		id := KeyID(k)
		c.ids = append(c.ids, id)
		c.keys = append(c.keys, slices.Clone(k))
		c.aeads[id] = aead
	}
	return c, nil
}

// MACKeys derives from each key (the current one first) a key for one
// purpose, HMAC-SHA256(key, "kycflow/"+purpose): what a deployment keeps
// keyed (a fingerprint of personal data stored in Redis, say) without using
// the encryption key itself. All of them are returned so that a value keyed
// before a rotation is still recognised after it.
func (c *Codec) MACKeys(purpose string) [][]byte {
	out := make([][]byte, 0, len(c.keys))
	for _, k := range c.keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("kycflow/" + purpose))
		out = append(out, m.Sum(nil))
	}
	return out
}

// KeyID names a key without revealing it: the first 8 bytes of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// Encode encrypts each payload (the whole payload, metadata included).
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.ids[0]
	aead := c.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := p.Marshal()
		if err != nil {
			return nil, fmt.Errorf("payloadcodec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payloadcodec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(MetadataEncoding), MetadataKeyID: []byte(id)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes others through (payloads
// written before encryption was turned on).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, errors.New("payloadcodec: encrypted payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payloadcodec: decrypt: %w", err)
		}
		var orig commonpb.Payload
		if err := orig.Unmarshal(plain); err != nil {
			return nil, fmt.Errorf("payloadcodec: unmarshal payload: %w", err)
		}
		out[i] = &orig
	}
	return out, nil
}

// DataConverter wraps Temporal's default converter with the codec.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encodes error messages and stack traces too: Mangopay's
// error texts can carry data about the user.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: c.DataConverter(), EncodeCommonAttributes: true,
	})
}

// FromEnv builds the codec from PAYLOAD_ENCRYPTION_KEY; nil when it is unset
// (payloads are then stored as plain JSON, as in the local dev stack).
func FromEnv(getenv func(string) string) (*Codec, error) {
	v := strings.TrimSpace(getenv("PAYLOAD_ENCRYPTION_KEY"))
	if v == "" {
		return nil, nil
	}
	keys, err := ParseKeys(v)
	if err != nil {
		return nil, err
	}
	return New(keys)
}
