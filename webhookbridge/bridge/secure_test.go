package bridge_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

// TestDocumentUploadRefusedWithoutPayloadKey: without a key to encrypt
// them, ID documents would sit in clear in Redis, so uploads are refused,
// before any page is stored or Temporal is called, unless the development
// switch allows them.
func TestDocumentUploadRefusedWithoutPayloadKey(t *testing.T) {
	rdb := newRedis(t)
	b := newBridge(rdb, strictTemporal(t))
	b.API.Pages = claimcheck.NewStore(rdb, 0, 0)
	body, ct := multipartBody(t, map[string]string{"Type": "IDENTITY_PROOF"}, pdfPage(4<<10))
	w := serve(b.InternalRouter(), documentRequest(body, ct, "123"))
	require.Equal(t, http.StatusServiceUnavailable, w.Code, "body %s", w.Body)
	assert.Contains(t, decodeError(t, w).Error, "PAYLOAD_ENCRYPTION_KEY")
	assert.Zero(t, pageKeys(t, rdb), "no page is stored")
}

// TestCodecOnTheInternalListener: the bridge serves the codec only with
// its token, as a bearer token or as the endpoint's last segment.
func TestCodecOnTheInternalListener(t *testing.T) {
	const token = "codec-token-0123456789"
	b := bridge.New(bridge.Config{PathToken: testPathToken, APIToken: testAPIToken, CodecToken: token, CodecOrigins: []string{"http://127.0.0.1:8233"}},
		bridge.Deps{Redis: redistest.Unreachable(t), Temporal: strictTemporal(t), Codec: testCodec, Logger: quietLogger()})
	r := b.InternalRouter()
	p, err := testCodec.DataConverter().ToPayload("secret reason")
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"payloads": []map[string]any{{"metadata": p.Metadata, "data": p.Data}}})
	require.NoError(t, err)
	post := func(path, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		return serve(r, req)
	}
	for name, tt := range map[string]struct {
		path, auth string
		want       int
	}{
		"bearer token":      {"/codec/decode", token, http.StatusOK},
		"token in the path": {"/codec/" + token + "/decode", "", http.StatusOK},
		"no token":          {"/codec/decode", "", http.StatusUnauthorized},
		"the API token":     {"/codec/decode", testAPIToken, http.StatusUnauthorized},
		"wrong path token":  {"/codec/" + testAPIToken + "/decode", "", http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			w := post(tt.path, tt.auth)
			require.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, tt.want == http.StatusOK, strings.Contains(w.Body.String(), "payloads"))
		})
	}
}
