package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/workflows"
)

// InternalRouter is the platform's API (bearer token) plus health, readiness
// and metrics.
func (b *Bridge) InternalRouter() *gin.Engine {
	r := b.engine()
	r.Use(internalMiddleware...)
	r.GET("/healthz", healthz)
	r.GET("/readyz", b.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(b.Metrics.Registry, promhttp.HandlerOpts{})))
	if b.Codec != nil {
		codec := gin.WrapH(http.StripPrefix("/codec", b.Codec))
		// /codec/decode with a bearer token, or /codec/<token>/decode.
		r.POST("/codec/*op", codec)
		r.OPTIONS("/codec/*op", codec)
	}
	v1 := r.Group("/v1", b.countRoute, b.authenticate, deadline(apiTimeout))
	v1.POST("/onboardings", b.createOnboarding)
	v1.GET("/onboardings/:userId", b.getOnboarding)
	v1.GET("/onboardings/:userId/timeline", b.getTimeline)
	v1.POST("/onboardings/:userId/documents", b.submitDocument)
	v1.GET("/onboardings/:userId/documents/:key", b.documentResult)
	v1.POST("/onboardings/:userId/cancel", b.cancelOnboarding)
	v1.POST("/onboardings/:userId/reopen", b.reopenOnboarding)
	v1.POST("/onboardings/:userId/pscs/:pscId/retry", b.retryPSC)
	return r
}

// internalMiddleware runs before every handler of the internal listener.
// It is empty in production; the package's tests use it to hold every
// exchange to the published contract, docs/openapi.yaml.
var internalMiddleware []gin.HandlerFunc

// apiTimeout bounds a platform API call: a hung Temporal gets a 503, not a
// request that never ends.
const apiTimeout = 30 * time.Second

// readyz reports Redis and Temporal separately, each "ok" or
// "unavailable": the causes go to the log, not to whoever can reach the
// listener (they carry addresses and internal details).
func (b *Bridge) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	var redisErr, temporalErr error
	var wg sync.WaitGroup
	wg.Go(func() { redisErr = b.RDB.Ping(ctx).Err() })
	wg.Go(func() { _, temporalErr = b.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}) })
	wg.Wait()
	status, out := http.StatusOK, gin.H{}
	for name, err := range map[string]error{"Redis": redisErr, "Temporal": temporalErr} {
		out[name] = "ok"
		if err != nil {
			status, out[name] = http.StatusServiceUnavailable, "unavailable"
			b.Logger.Warn("not ready", "dependency", name, "error", err)
		}
	}
	c.JSON(status, out)
}

// createOnboardingBody is POST /v1/onboardings.
type createOnboardingBody struct {
	UserID          string `json:"UserId"`
	ReturnURL       string `json:"ReturnUrl"`
	Tag             string `json:"Tag"`
	SessionLanguage string `json:"SessionLanguage"`
}

// validSessionRequest checks the session fields of a body, answering 400
// with the field named itself.
func validSessionRequest(c *gin.Context, req workflows.EnsureSessionRequest) bool {
	for _, check := range []struct {
		field string
		err   error
	}{
		{"ReturnUrl", workflows.ValidateReturnURL(req.ReturnURL)},
		{"Tag", workflows.ValidateTag(req.Tag)},
		{"SessionLanguage", workflows.ValidateSessionLanguage(req.SessionLanguage)},
	} {
		if check.err != nil {
			c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: check.err.Error(), Field: check.field})
			return false
		}
	}
	return true
}

func (b *Bridge) createOnboarding(c *gin.Context) {
	var body createOnboardingBody
	if !decodeJSON(c, &body) {
		return
	}
	if !validResourceID(body.UserID) {
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "UserId must be a Mangopay user id (1 to 128 of A-Z, a-z, 0-9, _ and -)", Field: "UserId"})
		return
	}
	key, ok := callKey(c)
	if !ok {
		return
	}
	req := workflows.EnsureSessionRequest{ReturnURL: body.ReturnURL, Tag: body.Tag, SessionLanguage: body.SessionLanguage, IdempotencyKey: key}
	if !validSessionRequest(c, req) {
		return
	}
	res, err := workflows.EnsureSession(c.Request.Context(), b.Temporal, body.UserID, req)
	if errors.Is(err, workflows.ErrStillWorking) {
		// Temporal has the onboarding; Mangopay or the call budget is slow.
		// The HostedUrl reaches the platform by notification and by GET.
		c.Header("Location", "/v1/onboardings/"+url.PathEscape(body.UserID))
		c.JSON(http.StatusAccepted, workflows.EnsureSessionResult{UserID: body.UserID, Status: workflows.StatusStarting})
		return
	}
	if err != nil {
		b.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

func (b *Bridge) getOnboarding(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	st, err := workflows.GetState(c.Request.Context(), b.Temporal, userID)
	if err != nil {
		b.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// Document upload limits: Mangopay takes at most 5 pages of about 7 MB.
const (
	maxPages      = 5
	maxUploadBody = maxPages*claimcheck.DefaultMaxSize + 1<<20
)

// Waits for a document's upload. A submission still running after
// DefaultDocumentWait is answered 202 with where to poll; each poll waits
// at most documentPollWait.
const (
	DefaultDocumentWait = 20 * time.Second
	documentPollWait    = 2 * time.Second
	maxIdempotencyKey   = 128
)

func (b *Bridge) documentWait() time.Duration {
	if b.DocumentWait > 0 {
		return b.DocumentWait
	}
	return DefaultDocumentWait
}

func (b *Bridge) submitDocument(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	if !b.Pages.Encrypted() && !b.AllowClearPages {
		b.Logger.Error("document upload refused: set PAYLOAD_ENCRYPTION_KEY so that pages are encrypted in Redis", "request_id", c.GetString(ctxRequestID))
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "document uploads are disabled: this bridge has no PAYLOAD_ENCRYPTION_KEY to encrypt the pages with"})
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUploadBody)
	if err := c.Request.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, apiError{Error: "the upload is larger than 5 pages of 7 MB", Field: "Pages"})
			return
		}
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "expected a multipart/form-data body: " + err.Error()})
		return
	}
	defer func() { _ = c.Request.MultipartForm.RemoveAll() }()
	form := c.Request.MultipartForm
	typ := first(form.Value["Type"])
	files := form.File["Pages"]
	switch {
	case typ == "":
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "Type is required", Field: "Type"})
		return
	case len(files) == 0 || len(files) > maxPages:
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "send 1 to 5 files in the Pages field", Field: "Pages"})
		return
	}
	key, ok := idempotencyKey(c)
	if !ok {
		return
	}
	var keys []string
	cleanup := func() { _ = b.Pages.Delete(context.WithoutCancel(c.Request.Context()), keys...) }
	for _, fh := range files {
		if fh.Size > claimcheck.DefaultMaxSize {
			cleanup()
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, apiError{Error: "a page is larger than 7 MB", Field: "Pages"})
			return
		}
		f, err := fh.Open()
		if err != nil {
			cleanup()
			c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "unreadable page", Field: "Pages"})
			return
		}
		data, err := io.ReadAll(io.LimitReader(f, claimcheck.DefaultMaxSize+1))
		_ = f.Close()
		if err != nil {
			cleanup()
			c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "unreadable page", Field: "Pages"})
			return
		}
		key, err := b.Pages.Put(c.Request.Context(), data)
		if err != nil {
			cleanup()
			if errors.Is(err, claimcheck.ErrTooLarge) {
				c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, apiError{Error: err.Error(), Field: "Pages"})
				return
			}
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "cannot store the pages right now"})
			return
		}
		keys = append(keys, key)
	}
	// The key names the submission: a retry with it gets the first answer,
	// never a second document, and the 202 points at it.
	ctx, cancel := context.WithTimeout(c.Request.Context(), b.documentWait())
	defer cancel()
	res, err := workflows.SubmitDocument(ctx, b.Temporal, userID, workflows.SubmitDocumentRequest{
		Type: typ, Pages: keys, Tag: first(form.Value["Tag"]), IdempotencyKey: key,
	})
	switch {
	case err == nil:
		c.JSON(http.StatusOK, res)
	case errors.Is(err, workflows.ErrRejected), errors.Is(err, workflows.ErrNoOnboarding):
		// Nothing will read the pages.
		cleanup()
		b.fail(c, err)
	case errors.Is(err, workflows.ErrStillWorking):
		// The update runs on and reads the pages; they expire with their
		// TTL if it never does.
		b.stillUploading(c, userID, key)
	default:
		// The update may have been accepted: keep the pages (TTL).
		b.fail(c, err)
	}
}

// idempotencyKey is the platform's Idempotency-Key header, or a fresh key.
func idempotencyKey(c *gin.Context) (string, bool) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		var r [16]byte
		_, _ = rand.Read(r[:])
		return "doc-" + hex.EncodeToString(r[:]), true
	}
	if len(key) > maxIdempotencyKey || !validResourceID(key) {
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{
			Error: "Idempotency-Key must be 1 to 128 of A-Z, a-z, 0-9, _ and -", Field: "Idempotency-Key",
		})
		return "", false
	}
	return key, true
}

// stillUploading answers 202: the submission goes on; GET the Location for
// its result.
func (b *Bridge) stillUploading(c *gin.Context, userID, key string) {
	c.Header("Location", "/v1/onboardings/"+userID+"/documents/"+key)
	c.Header("Retry-After", "5")
	c.Header("Idempotency-Key", key)
	c.JSON(http.StatusAccepted, documentPending{Status: "UPLOADING", IdempotencyKey: key})
}

// documentPending is the body of a 202 for a document still being uploaded.
type documentPending struct {
	Status         string `json:"Status"`
	IdempotencyKey string `json:"IdempotencyKey"`
}

// documentResult is GET /v1/onboardings/<user>/documents/<key>: the
// result of the submission with that Idempotency-Key, 202 while it runs.
func (b *Bridge) documentResult(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	key := c.Param("key")
	if len(key) > maxIdempotencyKey || !validResourceID(key) {
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "not an Idempotency-Key", Field: "Idempotency-Key"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), documentPollWait)
	defer cancel()
	var res workflows.SubmitDocumentResult
	err := b.Temporal.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{
		WorkflowID: workflows.WorkflowID(userID), UpdateID: key,
	}).Get(ctx, &res)
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		c.JSON(http.StatusOK, res)
	case c.Request.Context().Err() == nil && (ctx.Err() != nil || deadlineExceeded(err)):
		// The poll's own wait ran out (the server may say so before the
		// client's timer fires): the upload is still running.
		b.stillUploading(c, userID, key)
	case classify(err) == classNotFound:
		c.AbortWithStatusJSON(http.StatusNotFound, apiError{Error: "no document submission with this Idempotency-Key for this user"})
	case errors.As(err, &appErr):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, apiError{Error: "the submission failed: " + appErr.Message()})
	case classify(err) == classOutage:
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "Temporal is unavailable; try again"})
	default:
		b.fail(c, err)
	}
}

type cancelBody struct {
	Reason string `json:"Reason"`
}

func (b *Bridge) cancelOnboarding(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	var body cancelBody
	if c.Request.ContentLength != 0 && !decodeJSON(c, &body) {
		return
	}
	st, err := workflows.Cancel(c.Request.Context(), b.Temporal, userID, workflows.CancelRequest{Reason: body.Reason})
	if err != nil {
		b.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// reopenBody is POST /v1/onboardings/<UserId>/reopen.
type reopenBody struct {
	ReturnURL       string `json:"ReturnUrl"`
	Tag             string `json:"Tag"`
	SessionLanguage string `json:"SessionLanguage"`
}

// reopenOnboarding is an operator's explicit restart of an onboarding that
// ended FAILED or NOT_ELIGIBLE (a plain POST /v1/onboardings answers those
// with their status and reason).
func (b *Bridge) reopenOnboarding(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	var body reopenBody
	if !decodeJSON(c, &body) {
		return
	}
	req := workflows.EnsureSessionRequest{ReturnURL: body.ReturnURL, Tag: body.Tag, SessionLanguage: body.SessionLanguage}
	if !validSessionRequest(c, req) {
		return
	}
	res, err := workflows.Reopen(c.Request.Context(), b.Temporal, userID, req)
	if err != nil {
		b.fail(c, err)
		return
	}
	b.Logger.Info("onboarding reopened by an operator", "user_id", userID, "status", string(res.Status))
	c.JSON(http.StatusOK, res)
}

// retryPSC asks for a new link for one PSC session of a business.
func (b *Bridge) retryPSC(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	pscID := c.Param("pscId")
	if !validResourceID(pscID) {
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "the PSC id in the path is not a Mangopay id", Field: "PscId"})
		return
	}
	psc, err := workflows.RetryPSC(c.Request.Context(), b.Temporal, userID, workflows.RetryPSCRequest{PscID: pscID})
	if err != nil {
		b.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, psc)
}

// fail maps the workflow helpers' errors to statuses.
func (b *Bridge) fail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, workflows.ErrNoOnboarding):
		c.AbortWithStatusJSON(http.StatusNotFound, apiError{Error: "no onboarding for this user"})
	case errors.Is(err, workflows.ErrRejected):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, apiError{Error: err.Error()})
	case errors.Is(err, workflows.ErrTemporalUnavailable), errors.Is(err, context.DeadlineExceeded):
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "Temporal is unavailable; try again"})
	default:
		b.Logger.Error("platform API call failed", "route", c.FullPath(), "error", err, "request_id", c.GetString(ctxRequestID))
		c.AbortWithStatusJSON(http.StatusBadGateway, apiError{Error: "the onboarding service failed: " + err.Error()})
	}
}

func pathUser(c *gin.Context) (string, bool) {
	id := c.Param("userId")
	if !validResourceID(id) {
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "the user id in the path is not a Mangopay user id", Field: "UserId"})
		return "", false
	}
	return id, true
}

// decodeJSON reads a bounded, strict JSON body (decodeStrict), answering
// 400 itself, with the field at fault when there is one.
func decodeJSON(c *gin.Context, v any) bool {
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, apiError{Error: "the JSON body is too large (at most 64 KiB)"})
		return false
	case err != nil:
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: "unreadable body"})
		return false
	}
	if err := decodeStrict(data, v); err != nil {
		var fe *jsonFieldError
		field := ""
		if errors.As(err, &fe) {
			field = fe.Field
		}
		c.AbortWithStatusJSON(http.StatusBadRequest, apiError{Error: err.Error(), Field: field})
		return false
	}
	return true
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
