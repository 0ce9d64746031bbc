package bridge_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/claimcheck"
)

// TestDocumentUploadRefusedWithoutPayloadKey: without a key to encrypt
// them, ID documents would sit in clear in Redis, so uploads are refused,
// before any page is stored or Temporal is called, unless the development
// switch allows them.
func TestDocumentUploadRefusedWithoutPayloadKey(t *testing.T) {
	rdb := newRedis(t)
	b := newBridge(rdb, strictTemporal(t))
	b.Pages = claimcheck.NewStore(rdb, 0, 0)
	body, ct := multipartBody(t, map[string]string{"Type": "IDENTITY_PROOF"}, pdfPage(4<<10))
	w := serve(b.InternalRouter(), documentRequest(body, ct, "123"))
	require.Equal(t, http.StatusServiceUnavailable, w.Code, "body %s", w.Body)
	assert.Contains(t, decodeError(t, w).Error, "PAYLOAD_ENCRYPTION_KEY")
	assert.Zero(t, pageKeys(t, rdb), "no page is stored")
}
