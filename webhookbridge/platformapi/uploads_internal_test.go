package platformapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/payloadcodec"
)

// Waits of Eventually in this file: generous, never a timing assertion.
const (
	waitForSlot = time.Minute
	tickSlot    = 10 * time.Millisecond
)

// TestConcurrentUploadsAreCapped: with as many uploads running as the cap,
// the next one is answered 429 with a Retry-After before its body is read;
// once one ends, uploads are taken again.
func TestConcurrentUploadsAreCapped(t *testing.T) {
	const token = "test-api-token-0123456789abcdef"
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // never reached
	t.Cleanup(func() { _ = rdb.Close() })
	a := &API{RDB: rdb, Pages: claimcheck.NewStore(rdb, 0, 0), AllowClearPages: true, Token: token, MaxConcurrentUploads: 1,
		Logger: slog.New(slog.DiscardHandler)}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	a.Register(r)
	upload := func(body io.Reader) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/v1/onboardings/123/documents", body)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		return req
	}

	// The first upload's body never ends until the test says so: it holds
	// the only slot while the API reads it.
	pr, pw := io.Pipe()
	first := make(chan int)
	go func() {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, upload(pr))
		first <- w.Code
	}()
	require.Eventually(t, func() bool { return len(a.uploadSlots()) == 1 }, waitForSlot, tickSlot, "the first upload takes the slot")

	w := httptest.NewRecorder()
	r.ServeHTTP(w, upload(http.NoBody))
	assert.Equal(t, http.StatusTooManyRequests, w.Code, "body %s", w.Body)
	retry, err := strconv.Atoi(w.Header().Get("Retry-After"))
	require.NoError(t, err, "a Retry-After in seconds")
	assert.Positive(t, retry)

	_ = pw.CloseWithError(io.ErrUnexpectedEOF)
	assert.Equal(t, http.StatusBadRequest, <-first, "the broken first upload is refused")
	assert.Empty(t, a.uploadSlots(), "its slot is given back")
	w = httptest.NewRecorder()
	r.ServeHTTP(w, upload(http.NoBody))
	assert.Equal(t, http.StatusBadRequest, w.Code, "the next upload is taken (and refused for its empty body)")
}

// TestUploadFingerprintIsKeyed: the fingerprint kept in Redis next to the
// pages is an HMAC under a key derived from the payload key, not a hash of
// the identity pages anyone reading Redis could check a guess against; a
// record written before a key rotation is still recognised after it.
func TestUploadFingerprintIsKeyed(t *testing.T) {
	pages := [][]byte{[]byte("%PDF-1.4 an identity page")}
	sum := sha256.New()
	for _, f := range [][]byte{[]byte("IDENTITY_PROOF"), []byte(""), pages[0]} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		sum.Write(n[:])
		sum.Write(f)
	}
	unkeyed := hex.EncodeToString(sum.Sum(nil))

	newKey, oldKey := bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{1}, 32)
	before, err := payloadcodec.New([][]byte{oldKey})
	require.NoError(t, err)
	after, err := payloadcodec.New([][]byte{newKey, oldKey})
	require.NoError(t, err)
	old := (&API{FingerprintKeys: before.MACKeys("upload-fingerprint")}).uploadFingerprints("IDENTITY_PROOF", "", pages)
	now := (&API{FingerprintKeys: after.MACKeys("upload-fingerprint")}).uploadFingerprints("IDENTITY_PROOF", "", pages)

	require.Len(t, old, 1)
	require.Len(t, now, 2)
	assert.NotEqual(t, unkeyed, now[0], "keyed, not a plain SHA-256 of the pages")
	assert.NotEqual(t, old[0], now[0], "the current key first")
	assert.Equal(t, old[0], now[1], "a record from before the rotation is recognised")
	assert.Equal(t, []string{unkeyed}, (&API{}).uploadFingerprints("IDENTITY_PROOF", "", pages), "no payload key (development): unkeyed")
	assert.NotEqual(t, now[0], (&API{FingerprintKeys: after.MACKeys("upload-fingerprint")}).uploadFingerprints("IDENTITY_PROOF", "x", pages)[0])
}
