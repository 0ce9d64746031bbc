// Package platformapi is the platform's API to kycflow (docs/api.md,
// docs/openapi.yaml): start or resume an onboarding and get its HostedUrl,
// read its state, submit KYC documents, cancel, reopen, retry a PSC
// session. Each call is a bearer-token request that becomes an update or a
// query of the user's onboarding workflow (the workflows package's client
// helpers). The webhook bridge serves it on its internal listener, next to
// health, readiness and metrics.
package platformapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/errclass"
	"github.com/kycflow/kycflow/internal/httpapi"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// API serves the platform API's calls.
type API struct {
	Temporal client.Client
	// Pages holds uploaded document pages; with no Sealer (no
	// PAYLOAD_ENCRYPTION_KEY) uploads are refused unless AllowClearPages.
	Pages  *claimcheck.Store
	Logger *slog.Logger
	// Token is the platform's bearer token; OldTokens are still accepted
	// during a rotation (PLATFORM_API_TOKEN lists the new one first).
	Token     string
	OldTokens []string
	// Operators hold the tokens of the operator actions (operators.go).
	Operators []OperatorToken
	// RDB keeps the records of document uploads by Idempotency-Key
	// (uploads.go); nil, no record is kept and a retry stores its pages
	// again.
	RDB redis.UniversalClient
	// FingerprintKeys key the fingerprint of an upload's content kept in
	// its record in Redis (the current key first, older ones still
	// recognised): derived from PAYLOAD_ENCRYPTION_KEY
	// (payloadcodec.Codec.MACKeys), so that a hash of identity pages in
	// Redis cannot be checked against a guessed document. None (no
	// payload key, development only): the fingerprint is unkeyed.
	FingerprintKeys [][]byte
	// MaxConcurrentUploads caps the document uploads taken at once
	// (DefaultMaxConcurrentUploads when 0); beyond it the answer is 429.
	MaxConcurrentUploads int
	uploadsOnce          sync.Once
	uploads              chan struct{}
	// AllowClearPages accepts document uploads although Pages does not
	// encrypt them: ID documents would sit in clear in Redis, its AOF
	// files and backups, so only the development switch sets it.
	AllowClearPages bool
	// DocumentWait is how long a document submission is waited for before
	// the answer is 202 with where to poll (DefaultDocumentWait when 0).
	DocumentWait time.Duration
}

// Timeout bounds a platform API call: a hung Temporal gets a 503, not a
// request that never ends.
const Timeout = 30 * time.Second

// Register mounts the API under /v1 of r, behind the bearer token and
// Timeout; before runs first on every call (the bridge counts answers by
// route; tests check exchanges against docs/openapi.yaml).
func (a *API) Register(r gin.IRouter, before ...gin.HandlerFunc) {
	v1 := r.Group("/v1", append(before, a.authenticate, deadline(Timeout))...)
	// Operators' tokens read and cancel (with a reason); only they reopen.
	v1.POST("/onboardings", platformOnly, a.createOnboarding)
	v1.GET("/onboardings/:userId", a.getOnboarding)
	v1.GET("/onboardings/:userId/timeline", a.getTimeline)
	v1.POST("/onboardings/:userId/documents", platformOnly, a.limitUploads, a.submitDocument)
	v1.GET("/onboardings/:userId/documents/:key", platformOnly, a.documentResult)
	v1.POST("/onboardings/:userId/cancel", a.cancelOnboarding)
	v1.POST("/onboardings/:userId/reopen", operatorOnly, a.reopenOnboarding)
	v1.POST("/onboardings/:userId/pscs/:pscId/retry", platformOnly, a.retryPSC)
}

func deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

func (a *API) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
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
			c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: check.err.Error(), Field: check.field})
			return false
		}
	}
	return true
}

func (a *API) createOnboarding(c *gin.Context) {
	var body createOnboardingBody
	if !decodeJSON(c, &body) {
		return
	}
	if !webhookstream.ValidResourceID(body.UserID) {
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "UserId must be a Mangopay user id (1 to 128 of A-Z, a-z, 0-9, _ and -)", Field: "UserId"})
		return
	}
	key, ok := callKey(c)
	if !ok {
		return
	}
	req := workflows.EnsureSessionRequest{ReturnURL: body.ReturnURL, Tag: body.Tag, SessionLanguage: body.SessionLanguage, Actor: actor(c), IdempotencyKey: key}
	if !validSessionRequest(c, req) {
		return
	}
	res, err := workflows.EnsureSession(c.Request.Context(), a.Temporal, body.UserID, req)
	if errors.Is(err, workflows.ErrStillWorking) {
		// Temporal has the onboarding; Mangopay or the call budget is slow.
		// The HostedUrl reaches the platform by notification and by GET.
		c.Header("Location", "/v1/onboardings/"+url.PathEscape(body.UserID))
		c.JSON(http.StatusAccepted, workflows.EnsureSessionResult{UserID: body.UserID, Status: workflows.StatusStarting})
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

func (a *API) getOnboarding(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	st, err := workflows.GetState(c.Request.Context(), a.Temporal, userID)
	if err != nil {
		a.fail(c, err)
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

func (a *API) documentWait() time.Duration {
	if a.DocumentWait > 0 {
		return a.DocumentWait
	}
	return DefaultDocumentWait
}

func (a *API) submitDocument(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	if !a.Pages.Encrypted() && !a.AllowClearPages {
		a.logger().Error("document upload refused: set PAYLOAD_ENCRYPTION_KEY so that pages are encrypted in Redis", "request_id", c.GetString(httpapi.RequestIDKey))
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, httpapi.Error{Error: "document uploads are disabled: this bridge has no PAYLOAD_ENCRYPTION_KEY to encrypt the pages with"})
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUploadBody)
	if err := c.Request.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, httpapi.Error{Error: "the upload is larger than 5 pages of 7 MB", Field: "Pages"})
			return
		}
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "expected a multipart/form-data body: " + err.Error()})
		return
	}
	defer func() { _ = c.Request.MultipartForm.RemoveAll() }()
	form := c.Request.MultipartForm
	typ := first(form.Value["Type"])
	files := form.File["Pages"]
	switch {
	case typ == "":
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "Type is required", Field: "Type"})
		return
	case len(files) == 0 || len(files) > maxPages:
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "send 1 to 5 files in the Pages field", Field: "Pages"})
		return
	}
	key, ok := idempotencyKey(c)
	if !ok {
		return
	}
	pages, ok := readPages(c, files)
	if !ok {
		return
	}
	keys, ok := a.storePages(c, userID, key, c.GetHeader("Idempotency-Key") != "", typ, first(form.Value["Tag"]), pages)
	if !ok {
		return
	}
	cleanup := func() { a.forgetUpload(c, userID, key, keys) }
	// The key names the submission: a retry with it gets the first answer,
	// never a second document, and the 202 points at it.
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.documentWait())
	defer cancel()
	res, err := workflows.SubmitDocument(ctx, a.Temporal, userID, workflows.SubmitDocumentRequest{
		Type: typ, Pages: keys, Tag: first(form.Value["Tag"]), IdempotencyKey: key,
	})
	switch {
	case err == nil:
		c.JSON(http.StatusOK, res)
	case errors.Is(err, workflows.ErrRejected), errors.Is(err, workflows.ErrNoOnboarding):
		// Nothing will read the pages.
		cleanup()
		a.fail(c, err)
	case errors.Is(err, workflows.ErrStillWorking):
		// The update runs on and reads the pages; they expire with their
		// TTL if it never does.
		a.stillUploading(c, userID, key)
	default:
		// The update may have been accepted: keep the pages (TTL).
		a.fail(c, err)
	}
}

// readPages reads the uploaded pages, answering the request itself when one
// is too large or unreadable.
func readPages(c *gin.Context, files []*multipart.FileHeader) ([][]byte, bool) {
	var pages [][]byte
	for _, fh := range files {
		if fh.Size > claimcheck.DefaultMaxSize {
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, httpapi.Error{Error: "a page is larger than 7 MB", Field: "Pages"})
			return nil, false
		}
		f, err := fh.Open()
		if err != nil {
			c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "unreadable page", Field: "Pages"})
			return nil, false
		}
		data, err := io.ReadAll(io.LimitReader(f, claimcheck.DefaultMaxSize+1))
		_ = f.Close()
		if err != nil {
			c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "unreadable page", Field: "Pages"})
			return nil, false
		}
		pages = append(pages, data)
	}
	return pages, true
}

// idempotencyKey is the platform's Idempotency-Key header, or a fresh key.
func idempotencyKey(c *gin.Context) (string, bool) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		var r [16]byte
		_, _ = rand.Read(r[:])
		return "doc-" + hex.EncodeToString(r[:]), true
	}
	if len(key) > maxIdempotencyKey || !webhookstream.ValidResourceID(key) {
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{
			Error: "Idempotency-Key must be 1 to 128 of A-Z, a-z, 0-9, _ and -", Field: "Idempotency-Key",
		})
		return "", false
	}
	return key, true
}

// stillUploading answers 202: the submission goes on; GET the Location for
// its result.
func (a *API) stillUploading(c *gin.Context, userID, key string) {
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
func (a *API) documentResult(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	key := c.Param("key")
	if len(key) > maxIdempotencyKey || !webhookstream.ValidResourceID(key) {
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "not an Idempotency-Key", Field: "Idempotency-Key"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), documentPollWait)
	defer cancel()
	var res workflows.SubmitDocumentResult
	err := a.Temporal.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{
		WorkflowID: workflows.WorkflowID(userID), UpdateID: key,
	}).Get(ctx, &res)
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		c.JSON(http.StatusOK, res)
	case c.Request.Context().Err() == nil && (ctx.Err() != nil || errclass.DeadlineExceeded(err)):
		// The poll's own wait ran out (the server may say so before the
		// client's timer fires): the upload is still running.
		a.stillUploading(c, userID, key)
	case errclass.Of(err) == errclass.NotFound:
		c.AbortWithStatusJSON(http.StatusNotFound, httpapi.Error{Error: "no document submission with this Idempotency-Key for this user"})
	case errors.As(err, &appErr):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, httpapi.Error{Error: "the submission failed: " + appErr.Message()})
	case errclass.Of(err) == errclass.Outage:
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, httpapi.Error{Error: "Temporal is unavailable; try again"})
	default:
		a.fail(c, err)
	}
}

type cancelBody struct {
	Reason string `json:"Reason"`
}

func (a *API) cancelOnboarding(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	var body cancelBody
	if c.Request.ContentLength != 0 && !decodeJSON(c, &body) {
		return
	}
	// An operator cancels on behalf of compliance: that takes a reason.
	// The platform's is optional, but checked the same way: it goes into
	// the timeline and the Web UI as well.
	if isOperator(c) {
		reason, ok := checkReason(c, body.Reason)
		if !ok {
			return
		}
		body.Reason = reason
	} else {
		body.Reason = strings.TrimSpace(body.Reason)
		if err := audit.ValidateReason(body.Reason); err != nil {
			c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: err.Error(), Field: "Reason"})
			return
		}
	}
	st, err := workflows.Cancel(c.Request.Context(), a.Temporal, userID, workflows.CancelRequest{Reason: body.Reason, Actor: actor(c)})
	if err != nil {
		a.fail(c, err)
		return
	}
	if isOperator(c) {
		a.logOperatorAction(c, "cancel", userID, body.Reason)
	}
	c.JSON(http.StatusOK, st)
}

// reopenBody is POST /v1/onboardings/<UserId>/reopen.
type reopenBody struct {
	ReturnURL       string `json:"ReturnUrl"`
	Tag             string `json:"Tag"`
	SessionLanguage string `json:"SessionLanguage"`
	// Reason says why the operator reopens (required).
	Reason string `json:"Reason"`
}

// reopenOnboarding is an operator's explicit restart of an onboarding that
// ended FAILED or NOT_ELIGIBLE (a plain POST /v1/onboardings answers those
// with their status and reason).
func (a *API) reopenOnboarding(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	var body reopenBody
	if !decodeJSON(c, &body) {
		return
	}
	reason, ok := checkReason(c, body.Reason)
	if !ok {
		return
	}
	req := workflows.EnsureSessionRequest{ReturnURL: body.ReturnURL, Tag: body.Tag, SessionLanguage: body.SessionLanguage,
		Actor: actor(c), Reason: reason}
	if !validSessionRequest(c, req) {
		return
	}
	res, err := workflows.Reopen(c.Request.Context(), a.Temporal, userID, req)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.logOperatorAction(c, "reopen", userID, reason)
	c.JSON(http.StatusOK, res)
}

// retryPSC asks for a new link for one PSC session of a business.
func (a *API) retryPSC(c *gin.Context) {
	userID, ok := pathUser(c)
	if !ok {
		return
	}
	pscID := c.Param("pscId")
	if !webhookstream.ValidResourceID(pscID) {
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "the PSC id in the path is not a Mangopay id", Field: "PscId"})
		return
	}
	psc, err := workflows.RetryPSC(c.Request.Context(), a.Temporal, userID, workflows.RetryPSCRequest{PscID: pscID})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, psc)
}

// fail maps the workflow helpers' errors to statuses.
func (a *API) fail(c *gin.Context, err error) {
	var refused *workflows.RequestError
	switch {
	case errors.As(err, &refused):
		// Mangopay refused what the platform sent: the field and Mangopay's
		// words, for the platform to correct and call again.
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, httpapi.Error{Error: refused.Error(), Field: refused.Field, Fields: refused.Fields})
	case errors.Is(err, workflows.ErrNoOnboarding):
		c.AbortWithStatusJSON(http.StatusNotFound, httpapi.Error{Error: "no onboarding for this user"})
	case errors.Is(err, workflows.ErrRejected):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, httpapi.Error{Error: err.Error()})
	case errors.Is(err, workflows.ErrTemporalUnavailable), errors.Is(err, context.DeadlineExceeded):
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, httpapi.Error{Error: "Temporal is unavailable; try again"})
	default:
		// An error nobody classified may name anything inside (a payload
		// key's ID, a server's address): the detail goes to the log, the
		// caller gets the request ID to quote.
		id := c.GetString(httpapi.RequestIDKey)
		a.logger().Error("platform API call failed", "route", c.FullPath(), "error", err, "request_id", id)
		c.AbortWithStatusJSON(http.StatusBadGateway, httpapi.Error{Error: "the onboarding service failed; quote request ID " + id + " (X-Request-Id) to its operators"})
	}
}

func pathUser(c *gin.Context) (string, bool) {
	id := c.Param("userId")
	if !webhookstream.ValidResourceID(id) {
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "the user id in the path is not a Mangopay user id", Field: "UserId"})
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
		c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, httpapi.Error{Error: "the JSON body is too large (at most 64 KiB)"})
		return false
	case err != nil:
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: "unreadable body"})
		return false
	}
	if err := decodeStrict(data, v); err != nil {
		var fe *jsonFieldError
		field := ""
		if errors.As(err, &fe) {
			field = fe.Field
		}
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: err.Error(), Field: field})
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
