package payloadcodec_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
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

func decodeBody(t *testing.T, c *payloadcodec.Codec) []byte {
	t.Helper()
	p, err := c.DataConverter().ToPayload("hello")
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"payloads": []map[string]any{{
		"metadata": map[string][]byte{"encoding": p.Metadata["encoding"], "encryption-key-id": p.Metadata["encryption-key-id"]},
		"data":     p.Data,
	}}})
	require.NoError(t, err)
	return body
}

const (
	webUI      = "http://127.0.0.1:8233"
	codecToken = "operator-token-1234567890"
)

func TestHandler(t *testing.T) {
	c, err := payloadcodec.New([][]byte{key(1)})
	require.NoError(t, err)
	body := decodeBody(t, c)
	h := payloadcodec.Handler(c, []string{webUI}, codecToken)

	call := func(method, path, origin, token string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
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
	decoded := func(t *testing.T, rec *httptest.ResponseRecorder) string {
		t.Helper()
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var got struct {
			Payloads []struct {
				Data []byte `json:"data"`
			} `json:"payloads"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		require.Len(t, got.Payloads, 1)
		return string(got.Payloads[0].Data)
	}
	t.Run("the Web UI decodes with the bearer token", func(t *testing.T) {
		rec := call(http.MethodPost, "/decode", webUI, codecToken, body)
		assert.Equal(t, `"hello"`, decoded(t, rec))
		assert.Equal(t, webUI, rec.Header().Get("Access-Control-Allow-Origin"))
		assert.Contains(t, rec.Header().Values("Vary"), "Origin")
	})
	t.Run("the Web UI decodes with the token in its endpoint", func(t *testing.T) {
		assert.Equal(t, `"hello"`, decoded(t, call(http.MethodPost, "/"+codecToken+"/decode", webUI, "", body)))
	})
	t.Run("the CLI decodes without an Origin", func(t *testing.T) {
		assert.Equal(t, `"hello"`, decoded(t, call(http.MethodPost, "/decode", "", codecToken, body)))
	})
	tests := []struct {
		name, method, path, origin, token string
		body                              []byte
		want                              int
	}{
		{"no token, no Origin (curl)", http.MethodPost, "/decode", "", "", body, http.StatusUnauthorized},
		{"no token from the Web UI", http.MethodPost, "/decode", webUI, "", body, http.StatusUnauthorized},
		{"wrong token", http.MethodPost, "/decode", "", codecToken + "x", body, http.StatusUnauthorized},
		{"wrong path token", http.MethodPost, "/" + codecToken + "x/decode", "", "", body, http.StatusUnauthorized},
		{"another origin", http.MethodPost, "/decode", "https://evil.example", codecToken, body, http.StatusForbidden},
		{"unknown operation", http.MethodPost, "/" + codecToken + "/keys", "", "", body, http.StatusNotFound},
		{"GET", http.MethodGet, "/decode", "", codecToken, nil, http.StatusMethodNotAllowed},
		{"body over the cap", http.MethodPost, "/decode", "", codecToken, bytes.Repeat([]byte(" "), payloadcodec.MaxRequestBody+1), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(tt.method, tt.path, tt.origin, tt.token, tt.body)
			assert.Equal(t, tt.want, rec.Code, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), "hello")
		})
	}
	t.Run("body over the cap without Content-Length", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/decode", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte(" "), payloadcodec.MaxRequestBody)), bytes.NewReader(body)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+codecToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})

	preflights := []struct {
		name, origin, method string
		want                 int
	}{
		{"from the Web UI", webUI, http.MethodPost, http.StatusNoContent},
		{"from another origin", "https://evil.example", http.MethodPost, http.StatusForbidden},
		{"without an Origin", "", http.MethodPost, http.StatusForbidden},
		{"for another method", webUI, http.MethodDelete, http.StatusForbidden},
	}
	for _, tt := range preflights {
		t.Run("preflight "+tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodOptions, "/decode", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			req.Header.Set("Access-Control-Request-Method", tt.method)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.want, rec.Code)
			if tt.want == http.StatusNoContent {
				assert.Equal(t, "POST", rec.Header().Get("Access-Control-Allow-Methods"))
				assert.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Authorization")
			}
		})
	}
}

// TestHandlerWithoutTokenRefuses: a codec server without a token would
// decrypt for anyone who reaches it; it refuses every request instead.
func TestHandlerWithoutTokenRefuses(t *testing.T) {
	c, err := payloadcodec.New([][]byte{key(1)})
	require.NoError(t, err)
	h := payloadcodec.Handler(c, []string{webUI}, "")
	req := httptest.NewRequest(http.MethodPost, "/decode", bytes.NewReader(decodeBody(t, c)))
	req.Header.Set("Origin", webUI)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotContains(t, rec.Body.String(), "hello")
}

func TestLoadServerConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := payloadcodec.LoadServerConfig(env(map[string]string{"CODEC_SERVER_TOKEN": codecToken}))
	require.NoError(t, err)
	assert.Equal(t, payloadcodec.DefaultServerAddr, cfg.Addr)
	assert.Equal(t, []string{"http://127.0.0.1:8233", "http://localhost:8233"}, cfg.Origins)

	for name, m := range map[string]map[string]string{
		"no token":     {},
		"short token":  {"CODEC_SERVER_TOKEN": "short"},
		"token with /": {"CODEC_SERVER_TOKEN": "abcdefgh/ijklmnopq"},
		"bad origin":   {"CODEC_SERVER_TOKEN": codecToken, "CODEC_ALLOWED_ORIGINS": "127.0.0.1:8233"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := payloadcodec.LoadServerConfig(env(m))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "abcdefgh")
		})
	}
}

// TestServerOnItsOwnListener runs the codec as `webhookbridge codec` does.
func TestServerOnItsOwnListener(t *testing.T) {
	c, err := payloadcodec.New([][]byte{key(1)})
	require.NoError(t, err)
	srv := httptest.NewServer(payloadcodec.NewServer(c, payloadcodec.ServerConfig{Token: codecToken, Origins: []string{webUI}}).Handler)
	t.Cleanup(srv.Close)
	res, err := http.Post(srv.URL+"/codec/"+codecToken+"/decode", "application/json", bytes.NewReader(decodeBody(t, c)))
	require.NoError(t, err)
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(got))
	assert.Contains(t, string(got), "payloads")
	res2, err := http.Post(srv.URL+"/codec/decode", "application/json", bytes.NewReader(decodeBody(t, c)))
	require.NoError(t, err)
	res2.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res2.StatusCode)
}

// TestHandlerTokenRotation: CODEC_SERVER_TOKEN lists the new token first and
// the old one after it during a rotation; both open the codec (as a bearer
// token and in the endpoint), the pair as one string opens nothing, and a
// token from neither is refused.
func TestHandlerTokenRotation(t *testing.T) {
	c, err := payloadcodec.New([][]byte{key(1)})
	require.NoError(t, err)
	body := decodeBody(t, c)
	const newToken, oldToken = "codec-token-new-0123456789", "codec-token-old-0123456789"
	h := payloadcodec.Handler(c, []string{webUI}, newToken+", "+oldToken)
	tests := []struct {
		name, path, bearer string
		want               int
	}{
		{"the new token as a bearer", "/decode", newToken, http.StatusOK},
		{"the old token as a bearer", "/decode", oldToken, http.StatusOK},
		{"the new token in the endpoint", "/" + newToken + "/decode", "", http.StatusOK},
		{"the old token in the endpoint", "/" + oldToken + "/decode", "", http.StatusOK},
		{"the list itself", "/decode", newToken + ", " + oldToken, http.StatusUnauthorized},
		{"another token", "/decode", "codec-token-other-012345678", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.want, rec.Code, rec.Body.String())
		})
	}
}

func TestCheckTokenList(t *testing.T) {
	tests := []struct {
		token string
		ok    bool
	}{
		{"codec-token-new-0123456789", true},
		{"codec-token-new-0123456789,codec-token-old-0123456789", true},
		{"codec-token-new-0123456789, short", false},
		{"codec-token-new-0123456789,codec/token-old-0123456789", false},
		{" , ", false},
	}
	for _, tt := range tests {
		err := payloadcodec.CheckToken(tt.token)
		assert.Equal(t, tt.ok, err == nil, "CheckToken(%q): %v", tt.token, err)
		if err != nil {
			assert.NotContains(t, err.Error(), "0123456789", "the error does not quote the token")
		}
	}
}
