package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
)

// CreateDocumentInput asks for a new KYC document.
type CreateDocumentInput struct {
	UserID         string
	Type           string
	Tag            string
	IdempotencyKey string
}

// CreateDocumentResult is the new document.
type CreateDocumentResult struct {
	DocumentID string
	Status     string
}

// CreateDocument creates a KYC document and indexes it for webhook routing.
func (a *Activities) CreateDocument(ctx context.Context, in CreateDocumentInput) (CreateDocumentResult, error) {
	d, err := a.Mangopay.CreateKYCDocument(ctx, in.UserID, &mangopay.CreateKYCDocumentParams{
		Type: mangopay.KYCDocumentType(in.Type), Tag: in.Tag, IdempotencyKey: in.IdempotencyKey,
	})
	if err != nil {
		return CreateDocumentResult{}, a.mangopayError(ctx, "create kyc document", err)
	}
	if err := a.Index.Put(ctx, routing.KindDocument, d.ID, in.UserID); err != nil {
		return CreateDocumentResult{}, err
	}
	return CreateDocumentResult{DocumentID: d.ID, Status: string(d.Status.Normalize())}, nil
}

// UploadPagesInput names the pages (claim-check keys) to add to a document.
type UploadPagesInput struct {
	UserID     string
	DocumentID string
	PageKeys   []string
}

// UploadPagesResult counts the pages uploaded.
type UploadPagesResult struct {
	Pages int
}

// UploadPages reads each page from the claim-check store and adds it to the
// document, then deletes the pages. Progress is heartbeated so that a retry
// resumes after the last uploaded page; each page also has its own
// idempotency key, so a page whose response was lost is not added twice.
func (a *Activities) UploadPages(ctx context.Context, in UploadPagesInput) (UploadPagesResult, error) {
	done := 0
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &done); err != nil {
			done = 0
		}
	}
	for i := done; i < len(in.PageKeys); i++ {
		data, err := a.Pages.Get(ctx, in.PageKeys[i])
		if errors.Is(err, claimcheck.ErrNotFound) {
			return UploadPagesResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("page %d of document %s is no longer in the claim-check store", i+1, in.DocumentID), ErrTypePageMissing, err)
		}
		if errors.Is(err, claimcheck.ErrUnsealed) {
			// Not the page the platform uploaded (or not one this key
			// wrote): never sent to Mangopay as the user's, and retrying
			// will not change it. The submission fails as for a lost page.
			return UploadPagesResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("page %d of document %s is not sealed with the payload key: refused", i+1, in.DocumentID), ErrTypePageMissing, err)
		}
		if err != nil {
			return UploadPagesResult{}, err
		}
		err = a.Mangopay.AddKYCDocumentPage(ctx, in.UserID, in.DocumentID, &mangopay.AddKYCDocumentPageParams{
			// Keyed on the claim key: stable across retries, distinct for
			// every page, whatever batch it comes in.
			File: data, IdempotencyKey: mangopay.DeriveIdempotencyKey(in.DocumentID, in.PageKeys[i]),
		})
		if err != nil {
			return UploadPagesResult{}, a.mangopayError(ctx, "add kyc page", err)
		}
		activity.RecordHeartbeat(ctx, i+1)
	}
	if err := a.Pages.Delete(ctx, in.PageKeys...); err != nil {
		// The pages expire on their own; an upload that happened must not be redone.
		activity.GetLogger(ctx).Warn("delete uploaded pages", "kyc_document_id", in.DocumentID, "error", err)
	}
	return UploadPagesResult{Pages: len(in.PageKeys)}, nil
}

// SubmitDocumentInput names the document to submit.
type SubmitDocumentInput struct {
	UserID     string
	DocumentID string
}

// DocumentResult is what Mangopay says of a document.
type DocumentResult struct {
	DocumentID           string
	Status               string
	RefusedReasonType    string
	RefusedReasonMessage string
}

// SubmitDocument asks Mangopay to validate the document. A retry after a
// lost response finds the document already submitted and reports it.
func (a *Activities) SubmitDocument(ctx context.Context, in SubmitDocumentInput) (DocumentResult, error) {
	d, err := a.Mangopay.SubmitKYCDocument(ctx, in.UserID, in.DocumentID, &mangopay.SubmitKYCDocumentParams{})
	var apiErr *mangopay.Error
	if errors.As(err, &apiErr) && apiErr.Type == mangopay.ErrTypeParamError {
		// Mangopay refuses to submit a document twice: if this user's
		// document has moved on, an earlier try went through.
		cur, getErr := a.Mangopay.GetKYCDocument(ctx, in.DocumentID)
		if getErr == nil && cur.UserID == in.UserID && cur.Status.Normalize() != mangopay.KYCDocumentCreated {
			return documentResult(cur), nil
		}
	}
	if err != nil {
		return DocumentResult{}, a.mangopayError(ctx, "submit kyc document", err)
	}
	return documentResult(d), nil
}

// GetDocumentInput names the document to read.
type GetDocumentInput struct {
	DocumentID string
}

// GetDocument reads a document.
func (a *Activities) GetDocument(ctx context.Context, in GetDocumentInput) (DocumentResult, error) {
	d, err := a.Mangopay.GetKYCDocument(ctx, in.DocumentID)
	if err != nil {
		return DocumentResult{}, a.mangopayError(ctx, "read kyc document", err)
	}
	return documentResult(d), nil
}

func documentResult(d *mangopay.KYCDocument) DocumentResult {
	r := DocumentResult{DocumentID: d.ID, Status: string(d.Status.Normalize())}
	if d.RefusedReasonType != nil {
		r.RefusedReasonType = string(*d.RefusedReasonType)
	}
	if d.RefusedReasonMessage != nil {
		r.RefusedReasonMessage = *d.RefusedReasonMessage
	}
	return r
}
