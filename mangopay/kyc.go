package mangopay

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// KYCDocument is a legacy KYC document container. In Sandbox, creating it
// with Tag "accept" (or "refuse_<reason>") decides the outcome after
// submission.
type KYCDocument struct {
	ID           string            `json:"Id"`
	Tag          string            `json:"Tag"`
	Type         KYCDocumentType   `json:"Type"`
	UserID       string            `json:"UserId"`
	Status       KYCDocumentStatus `json:"Status"`
	CreationDate Timestamp         `json:"CreationDate"`
	// ProcessedDate is set once Mangopay processed the document.
	ProcessedDate *Timestamp `json:"ProcessedDate"`
	// RefusedReasonType is nil unless Status is REFUSED.
	RefusedReasonType    *RefusedReasonType `json:"RefusedReasonType"`
	RefusedReasonMessage *string            `json:"RefusedReasonMessage"`
	// Flags are 6-digit codes detailing a refused identity proof.
	Flags []string `json:"Flags"`
}

// CreateKYCDocumentParams creates a KYC document.
type CreateKYCDocumentParams struct {
	Type KYCDocumentType `json:"Type"`
	Tag  string          `json:"Tag,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header when set.
	IdempotencyKey string `json:"-"`
}

// AddKYCDocumentPageParams adds one page (file) to a KYC document.
type AddKYCDocumentPageParams struct {
	// File is the raw content of a PDF, JPEG or PNG file; the client
	// base64-encodes it. Identity proofs need at least 32 KB, others 1 KB;
	// Mangopay accepts up to about 7 MB.
	File []byte
	// IdempotencyKey is sent as the Idempotency-Key header when set.
	IdempotencyKey string
}

// SubmitKYCDocumentParams are optional fields sent with a submission.
type SubmitKYCDocumentParams struct {
	// Tag replaces the document's Tag when set.
	Tag string
}

// ListKYCDocumentsOptions filters a user's KYC documents.
type ListKYCDocumentsOptions struct {
	ListOptions
	// Status keeps documents in any of these statuses.
	Status []KYCDocumentStatus
	// Type keeps documents of any of these types.
	Type []KYCDocumentType
	// BeforeDate and AfterDate bound CreationDate.
	BeforeDate, AfterDate *time.Time
}

// CreateKYCDocument creates a KYC document for a user (POST
// /users/{UserId}/kyc/documents).
func (c *Client) CreateKYCDocument(ctx context.Context, userID string, params *CreateKYCDocumentParams) (*KYCDocument, error) {
	ep := &endpoint{method: http.MethodPost, tmpl: "/users/{UserId}/kyc/documents"}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	ep.path = "/users/" + id + "/kyc/documents"
	ep.body, ep.idempotencyKey = params, params.IdempotencyKey
	return doResource[KYCDocument](ctx, c, ep)
}

// AddKYCDocumentPage uploads one page to a document in status CREATED (POST
// /users/{UserId}/kyc/documents/{KycDocumentId}/pages). Mangopay answers 204.
func (c *Client) AddKYCDocumentPage(ctx context.Context, userID, docID string, params *AddKYCDocumentPageParams) error {
	ep := &endpoint{method: http.MethodPost, tmpl: "/users/{UserId}/kyc/documents/{KycDocumentId}/pages"}
	uid, err := pathID("user id", userID)
	if err != nil {
		return ep.wrap(err)
	}
	did, err := pathID("kyc document id", docID)
	if err != nil {
		return ep.wrap(err)
	}
	if params == nil {
		return ep.wrap(errNilParams)
	}
	if len(params.File) == 0 {
		return ep.wrap(fmt.Errorf("%w: file is empty", ErrInvalidRequest))
	}
	ep.path = "/users/" + uid + "/kyc/documents/" + did + "/pages"
	ep.body = struct {
		File string `json:"File"`
	}{File: base64.StdEncoding.EncodeToString(params.File)}
	ep.idempotencyKey = params.IdempotencyKey
	_, err = c.do(ctx, ep, nil)
	return err
}

// SubmitKYCDocument asks Mangopay to validate a document (PUT
// /users/{UserId}/kyc/documents/{KycDocumentId} with Status
// VALIDATION_ASKED). params may be nil.
func (c *Client) SubmitKYCDocument(ctx context.Context, userID, docID string, params *SubmitKYCDocumentParams) (*KYCDocument, error) {
	ep := &endpoint{method: http.MethodPut, tmpl: "/users/{UserId}/kyc/documents/{KycDocumentId}"}
	uid, err := pathID("user id", userID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	did, err := pathID("kyc document id", docID)
	if err != nil {
		return nil, ep.wrap(err)
	}
	body := struct {
		Status KYCDocumentStatus `json:"Status"`
		Tag    string            `json:"Tag,omitempty"`
	}{Status: KYCDocumentValidationAsked}
	if params != nil {
		body.Tag = params.Tag
	}
	ep.path = "/users/" + uid + "/kyc/documents/" + did
	ep.body = body
	return doResource[KYCDocument](ctx, c, ep)
}

// GetKYCDocument returns a KYC document (GET /kyc/documents/{KycDocumentId}).
func (c *Client) GetKYCDocument(ctx context.Context, id string) (*KYCDocument, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/kyc/documents/{KycDocumentId}"}
	escaped, err := pathID("kyc document id", id)
	if err != nil {
		return nil, ep.wrap(err)
	}
	ep.path = "/kyc/documents/" + escaped
	return doResource[KYCDocument](ctx, c, ep)
}

// ListKYCDocuments lists a user's KYC documents (GET
// /users/{UserId}/kyc/documents). opts may be nil.
func (c *Client) ListKYCDocuments(ctx context.Context, userID string, opts *ListKYCDocumentsOptions) ([]KYCDocument, *Pagination, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/users/{UserId}/kyc/documents", query: url.Values{}}
	id, err := pathID("user id", userID)
	if err != nil {
		return nil, nil, ep.wrap(err)
	}
	ep.path = "/users/" + id + "/kyc/documents"
	var list *ListOptions
	if opts != nil {
		list = &opts.ListOptions
		if len(opts.Status) > 0 {
			ep.query.Set("Status", joinStrings(opts.Status))
		}
		if len(opts.Type) > 0 {
			ep.query.Set("Type", joinStrings(opts.Type))
		}
		setUnix(ep.query, "BeforeDate", opts.BeforeDate)
		setUnix(ep.query, "AfterDate", opts.AfterDate)
	}
	return doList[KYCDocument](ctx, c, ep, list)
}

// joinStrings joins string-typed values with commas.
func joinStrings[S ~string](values []S) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = string(v)
	}
	return strings.Join(parts, ",")
}
