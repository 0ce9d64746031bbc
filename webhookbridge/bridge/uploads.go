package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/claimcheck"
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
func (b *Bridge) uploadSlots() chan struct{} {
	b.uploadsOnce.Do(func() {
		n := b.MaxConcurrentUploads
		if n <= 0 {
			n = DefaultMaxConcurrentUploads
		}
		b.uploads = make(chan struct{}, n)
	})
	return b.uploads
}

// limitUploads answers 429 with a Retry-After beyond MaxConcurrentUploads
// uploads at once, before the body is read: a burst of 35 MB uploads
// would otherwise take the bridge's memory and the temporary disk.
func (b *Bridge) limitUploads(c *gin.Context) {
	slots := b.uploadSlots()
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
		c.Next()
	default:
		c.Header("Retry-After", strconv.Itoa(uploadRetryAfter))
		c.AbortWithStatusJSON(http.StatusTooManyRequests, apiError{Error: "too many document uploads at once on this bridge; try again after Retry-After seconds"})
	}
}

// uploadFingerprint identifies a submission's content: its Type, Tag and
// pages, each length-prefixed so that no two different bodies collide by
// moving bytes from one field to the next.
func uploadFingerprint(typ, tag string, pages [][]byte) string {
	h := sha256.New()
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

func uploadRecordKey(userID, idempotencyKey string) string {
	return uploadRecordPrefix + userID + ":" + idempotencyKey
}

// errUploadConflict: the Idempotency-Key names a submission with another
// body.
var errUploadConflict = errors.New("this Idempotency-Key was used for another document (a different Type, Tag or pages); use a new key for a new document")

// recordedUpload returns the claim keys of the submission recorded under
// rk, if any (found false when there is none), or errUploadConflict when
// it was recorded with another fingerprint.
func (b *Bridge) recordedUpload(ctx context.Context, rk, fp string) (keys []string, found bool, err error) {
	v, err := b.RDB.Get(ctx, rk).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	got, list, _ := strings.Cut(v, "|")
	if got != fp {
		return nil, true, errUploadConflict
	}
	return strings.Split(list, ","), true, nil
}

// storePages stores the pages of a submission and returns their claim
// keys, answering the request itself when it cannot. With an Idempotency-Key
// from the platform (recorded true) a retry of the same body gets the pages
// stored the first time, and another body under the same key gets 409.
func (b *Bridge) storePages(c *gin.Context, userID, idempotencyKey string, recorded bool, typ, tag string, pages [][]byte) ([]string, bool) {
	ctx := c.Request.Context()
	var rk, fp string
	if recorded {
		rk, fp = uploadRecordKey(userID, idempotencyKey), uploadFingerprint(typ, tag, pages)
		if keys, found, err := b.recordedUpload(ctx, rk, fp); found || err != nil {
			return keys, b.answerRecorded(c, err)
		}
	}
	var keys []string
	for _, data := range pages {
		key, err := b.Pages.Put(ctx, data)
		if err != nil {
			b.deletePages(c, keys)
			if errors.Is(err, claimcheck.ErrTooLarge) {
				c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, apiError{Error: err.Error(), Field: "Pages"})
				return nil, false
			}
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "cannot store the pages right now"})
			return nil, false
		}
		keys = append(keys, key)
	}
	if !recorded {
		return keys, true
	}
	set, err := b.RDB.SetNX(ctx, rk, fp+"|"+strings.Join(keys, ","), claimcheck.DefaultTTL).Result()
	if err == nil && set {
		return keys, true
	}
	// A concurrent request with the same key recorded its pages first (or
	// Redis failed): ours are not needed.
	b.deletePages(c, keys)
	if err != nil {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "cannot store the pages right now"})
		return nil, false
	}
	keys, found, err := b.recordedUpload(ctx, rk, fp)
	if !found && err == nil {
		err = errors.New("the record of the concurrent upload vanished")
	}
	return keys, b.answerRecorded(c, err)
}

// answerRecorded answers the request when looking up the record failed.
func (b *Bridge) answerRecorded(c *gin.Context, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errUploadConflict):
		c.AbortWithStatusJSON(http.StatusConflict, apiError{Error: err.Error(), Field: "Idempotency-Key"})
	default:
		b.Logger.Error("document upload: the record of its Idempotency-Key is unreadable", "error", err, "request_id", c.GetString(ctxRequestID))
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "cannot store the pages right now"})
	}
	return false
}

// forgetUpload deletes a submission's pages and its record: nothing will
// read them (the submission was refused), and a corrected retry with the
// same key must not be answered with them.
func (b *Bridge) forgetUpload(c *gin.Context, userID, idempotencyKey string, keys []string) {
	b.deletePages(c, keys)
	_ = b.RDB.Del(context.WithoutCancel(c.Request.Context()), uploadRecordKey(userID, idempotencyKey)).Err()
}

func (b *Bridge) deletePages(c *gin.Context, keys []string) {
	_ = b.Pages.Delete(context.WithoutCancel(c.Request.Context()), keys...)
}
