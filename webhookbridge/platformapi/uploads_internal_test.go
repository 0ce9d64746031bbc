package platformapi

import (
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
