package platformapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/httpapi"
)

// DefaultMaxConcurrentUploads is how many document uploads a bridge takes
// at once when BRIDGE_MAX_CONCURRENT_UPLOADS is unset: each holds up to
// 5 pages of 7 MB in memory while it is stored.
const DefaultMaxConcurrentUploads = 4

// uploadRetryAfter is the Retry-After, in seconds, of an upload refused
// because as many as the cap are running.
const uploadRetryAfter = 5

// uploadRecordPrefix names the record of a submission's pages, by user and
// Idempotency-Key: "<fingerprint>|<claim key>,<claim key>...". A retry with
// the same key and body reuses the pages already stored (nothing is stored
// again); the same key with another body is refused. It lives as long as
// the pages (claimcheck.DefaultTTL).
const uploadRecordPrefix = "kycflow:upload:"

// uploadSlots is the semaphore of the concurrent uploads.
func (a *API) uploadSlots() chan struct{} {
	a.uploadsOnce.Do(func() {
		n := a.MaxConcurrentUploads
		if n <= 0 {
			n = DefaultMaxConcurrentUploads
		}
		a.uploads = make(chan struct{}, n)
	})
	return a.uploads
}

// limitUploads answers 429 with a Retry-After beyond MaxConcurrentUploads
// uploads at once, before the body is read: a burst of 35 MB uploads
// would otherwise take the bridge's memory and the temporary disk.
func (a *API) limitUploads(c *gin.Context) {
	slots := a.uploadSlots()
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
		c.Next()
	default:
		c.Header("Retry-After", strconv.Itoa(uploadRetryAfter))
		c.AbortWithStatusJSON(http.StatusTooManyRequests, httpapi.Error{Error: "too many document uploads at once on this bridge; try again after Retry-After seconds"})
	}
}

// uploadFingerprint identifies a submission's content: its Type, Tag and
// pages, each length-prefixed so that no two different bodies collide by
// moving bytes from one field to the next. It is an HMAC under key: the
// record sits in Redis next to the sealed pages, and an unkeyed hash of
// identity pages would let anyone reading Redis confirm a guessed document.
// A nil key (no PAYLOAD_ENCRYPTION_KEY: development only, where the pages
// themselves are in clear) makes it a plain SHA-256.
func uploadFingerprint(key []byte, typ, tag string, pages [][]byte) string {
	h := sha256.New()
	if key != nil {
		h = hmac.New(sha256.New, key)
	}
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(typ))
	field([]byte(tag))
	for _, p := range pages {
		field(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uploadFingerprints are the submission's fingerprints under each of
// FingerprintKeys, the current one first: a record written before a key
// rotation is still recognised.
func (a *API) uploadFingerprints(typ, tag string, pages [][]byte) []string {
	if len(a.FingerprintKeys) == 0 {
		return []string{uploadFingerprint(nil, typ, tag, pages)}
	}
	fps := make([]string, 0, len(a.FingerprintKeys))
	for _, k := range a.FingerprintKeys {
		fps = append(fps, uploadFingerprint(k, typ, tag, pages))
	}
	return fps
}

func uploadRecordKey(userID, idempotencyKey string) string {
	return uploadRecordPrefix + userID + ":" + idempotencyKey
}

// errUploadConflict: the Idempotency-Key names a submission with another
// body.
var errUploadConflict = errors.New("this Idempotency-Key was used for another document (a different Type, Tag or pages); use a new key for a new document")

// recordedUpload returns the claim keys of the submission recorded under
// rk, if any (found false when there is none), or errUploadConflict when
// it was recorded with another fingerprint (none of fps).
func (a *API) recordedUpload(ctx context.Context, rk string, fps []string) (keys []string, found bool, err error) {
	v, err := a.RDB.Get(ctx, rk).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	got, list, _ := strings.Cut(v, "|")
	if !slices.Contains(fps, got) {
		return nil, true, errUploadConflict
	}
	return strings.Split(list, ","), true, nil
}

// storePages stores the pages of a submission and returns their claim
// keys, answering the request itself when it cannot. With an Idempotency-Key
// from the platform (recorded true) a retry of the same body gets the pages
// stored the first time, and another body under the same key gets 409.
func (a *API) storePages(c *gin.Context, userID, idempotencyKey string, recorded bool, typ, tag string, pages [][]byte) ([]string, bool) {
	ctx := c.Request.Context()
	recorded = recorded && a.RDB != nil
	var rk string
	var fps []string
	if recorded {
		rk, fps = uploadRecordKey(userID, idempotencyKey), a.uploadFingerprints(typ, tag, pages)
		if keys, found, err := a.recordedUpload(ctx, rk, fps); found || err != nil {
			return keys, a.answerRecorded(c, err)
		}
	}
	var keys []string
	for _, data := range pages {
		key, err := a.Pages.Put(ctx, data)
		if err != nil {
			a.deletePages(c, keys)
			if errors.Is(err, claimcheck.ErrTooLarge) {
				c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, httpapi.Error{Error: err.Error(), Field: "Pages"})
				return nil, false
			}
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, httpapi.Error{Error: "cannot store the pages right now"})
			return nil, false
		}
		keys = append(keys, key)
	}
	if !recorded {
		return keys, true
	}
	set, err := a.RDB.SetNX(ctx, rk, fps[0]+"|"+strings.Join(keys, ","), claimcheck.DefaultTTL).Result()
	if err == nil && set {
		return keys, true
	}
	// A concurrent request with the same key recorded its pages first (or
	// Redis failed): ours are not needed.
	a.deletePages(c, keys)
	if err != nil {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, httpapi.Error{Error: "cannot store the pages right now"})
		return nil, false
	}
	keys, found, err := a.recordedUpload(ctx, rk, fps)
	if !found && err == nil {
		err = errors.New("the record of the concurrent upload vanished")
	}
	return keys, a.answerRecorded(c, err)
}

// answerRecorded answers the request when looking up the record failed.
func (a *API) answerRecorded(c *gin.Context, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errUploadConflict):
		c.AbortWithStatusJSON(http.StatusConflict, httpapi.Error{Error: err.Error(), Field: "Idempotency-Key"})
	default:
		a.logger().Error("document upload: the record of its Idempotency-Key is unreadable", "error", err, "request_id", c.GetString(httpapi.RequestIDKey))
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, httpapi.Error{Error: "cannot store the pages right now"})
	}
	return false
}

// forgetUpload deletes a submission's pages and its record: nothing will
// read them (the submission was refused), and a corrected retry with the
// same key must not be answered with them.
func (a *API) forgetUpload(c *gin.Context, userID, idempotencyKey string, keys []string) {
	a.deletePages(c, keys)
	if a.RDB == nil {
		return
	}
	_ = a.RDB.Del(context.WithoutCancel(c.Request.Context()), uploadRecordKey(userID, idempotencyKey)).Err()
}

func (a *API) deletePages(c *gin.Context, keys []string) {
	_ = a.Pages.Delete(context.WithoutCancel(c.Request.Context()), keys...)
}
