package payloadcodec_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/kycflow/kycflow/payloadcodec"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

type event struct {
	UserID string `json:"UserId"`
	Reason string `json:"Reason"`
}

func TestRoundTripHidesThePlaintext(t *testing.T) {
	c, err := payloadcodec.New([][]byte{key(1)})
	require.NoError(t, err)
	dc := c.DataConverter()
	in := event{UserID: "user_m_01SECRET", Reason: "FACE_MATCH_FAIL"}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	assert.Equal(t, payloadcodec.MetadataEncoding, string(p.Metadata[converter.MetadataEncoding]))
	assert.Equal(t, payloadcodec.KeyID(key(1)), string(p.Metadata[payloadcodec.MetadataKeyID]))
	assert.NotContains(t, string(p.Data), "user_m_01SECRET", "the stored bytes do not show the data")
	var out event
	require.NoError(t, dc.FromPayload(p, &out))
	assert.Equal(t, in, out)
}

func TestDecode(t *testing.T) {
	old, err := payloadcodec.New([][]byte{key(1)})
	require.NoError(t, err)
	rotated, err := payloadcodec.New([][]byte{key(2), key(1)})
	require.NoError(t, err)
	other, err := payloadcodec.New([][]byte{key(3)})
	require.NoError(t, err)
	plain, err := converter.GetDefaultDataConverter().ToPayload("written before encryption")
	require.NoError(t, err)
	enc, err := old.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	tampered := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	tampered.Data[len(tampered.Data)-1] ^= 1

	tests := []struct {
		name    string
		codec   *payloadcodec.Codec
		in      *commonpb.Payload
		wantErr error
		anyErr  bool
	}{
		{"same key", old, enc[0], nil, false},
		{"rotated: the old key still decrypts", rotated, enc[0], nil, false},
		{"plain payloads pass through", old, plain, nil, false},
		{"unknown key", other, enc[0], payloadcodec.ErrUnknownKey, true},
		{"tampered", old, tampered, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.codec.Decode([]*commonpb.Payload{tt.in})
			if tt.anyErr {
				require.Error(t, err)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				return
			}
			require.NoError(t, err)
			var s string
			require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out[0], &s))
			assert.Equal(t, "written before encryption", s)
		})
	}
}

func TestParseKeys(t *testing.T) {
	hexKey := hex.EncodeToString(key(7))
	tests := []struct {
		in   string
		n    int
		fail bool
	}{
		{hexKey, 1, false},
		{"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", 1, false},
		{hexKey + ", " + hex.EncodeToString(key(8)), 2, false},
		{"", 0, true},
		{"short", 0, true},
		{hex.EncodeToString(key(1)[:16]), 0, true},
	}
	for _, tt := range tests {
		keys, err := payloadcodec.ParseKeys(tt.in)
		if tt.fail {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Len(t, keys, tt.n)
	}
}

func TestHandler(t *testing.T) {
	c, err := payloadcodec.New([][]byte{key(1)})
	require.NoError(t, err)
	p, err := c.DataConverter().ToPayload("hello")
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"payloads": []map[string]any{{
		"metadata": map[string][]byte{"encoding": p.Metadata["encoding"], "encryption-key-id": p.Metadata["encryption-key-id"]},
		"data":     p.Data,
	}}})
	require.NoError(t, err)
	h := payloadcodec.Handler(c, []string{"http://127.0.0.1:8233"}, "operator-token-123")

	call := func(origin, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	t.Run("the Web UI decodes", func(t *testing.T) {
		rec := call("http://127.0.0.1:8233", "operator-token-123")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, "http://127.0.0.1:8233", rec.Header().Get("Access-Control-Allow-Origin"))
		var got struct {
			Payloads []struct {
				Metadata map[string][]byte `json:"metadata"`
				Data     []byte            `json:"data"`
			} `json:"payloads"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		require.Len(t, got.Payloads, 1)
		assert.Equal(t, "json/plain", string(got.Payloads[0].Metadata["encoding"]))
		assert.Equal(t, `"hello"`, string(got.Payloads[0].Data))
	})
	t.Run("another origin", func(t *testing.T) {
		assert.Equal(t, http.StatusForbidden, call("https://evil.example", "operator-token-123").Code)
	})
	t.Run("no token", func(t *testing.T) { assert.Equal(t, http.StatusUnauthorized, call("http://127.0.0.1:8233", "").Code) })
	t.Run("preflight", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodOptions, "/decode", nil)
		req.Header.Set("Origin", "http://127.0.0.1:8233")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusNoContent, rec.Code)
	})
}
