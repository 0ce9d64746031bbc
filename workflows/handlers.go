package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/mangopay"
)

// DocumentTypes are the KYC document types submit-document accepts.
var DocumentTypes = []string{"IDENTITY_PROOF", "REGISTRATION_PROOF", "ARTICLES_OF_ASSOCIATION", "SHAREHOLDER_DECLARATION", "ADDRESS_PROOF"}

// view is the state as the platform sees it at now (the workflow's clock).
func (w *onboarding) view(now time.Time) StateView {
	v := StateView{
		UserID: w.st.UserID, UserType: w.st.UserType, Status: w.st.Status, Reason: w.st.Reason, Attempt: w.st.Attempt,
		Documents: w.st.Documents, History: w.st.History, UpdatedAt: rfc3339(w.st.UpdatedAt),
		ScopeBlocked: w.st.ScopeBlocked, Undelivered: w.heldView(),
	}
	if w.st.AccessDenied != "" && !w.st.Status.Final() {
		v.Reason = w.st.AccessDenied
	}
	if s := w.st.Session; s != nil {
		v.IdvSessionID, v.Checks = s.IdvSessionID, s.Checks
		v.HostedURL, v.ExpiresAt = w.usableLink(now)
	}
	if w.st.ReviewSince != nil {
		v.ReviewSince = rfc3339(*w.st.ReviewSince)
	}
	v.PSCs = usablePSCLinks(w.st.PSCs)
	if w.st.RenewalDeadline != nil {
		v.RenewalDeadline = rfc3339(*w.st.RenewalDeadline)
	}
	return v
}

// usableLink is the current session's HostedUrl and ExpiresAt, or nothing
// when the link cannot be used: only a PENDING session, before its
// ExpiresAt, of an onboarding that awaits the user (AWAITING_USER, or
// RENEWAL_REQUIRED with its renewal session open), has one.
func (w *onboarding) usableLink(now time.Time) (hostedURL, expiresAt string) {
	s := w.st.Session
	if s == nil || (w.st.Status != StatusAwaitingUser && w.st.Status != StatusRenewal) ||
		mangopay.IdentityVerificationStatus(s.Status) != mangopay.IdentityVerificationPending || !now.Before(s.ExpiresAt) {
		return "", ""
	}
	return s.HostedURL, rfc3339(s.ExpiresAt)
}

func (w *onboarding) hasUsableLink(now time.Time) bool {
	u, _ := w.usableLink(now)
	return u != ""
}

// usablePSCLinks drops the HostedUrl of PSC sessions that no longer take
// one (validated, rejected, abandoned): a new link comes from a retry.
func usablePSCLinks(pscs []PSC) []PSC {
	if !slices.ContainsFunc(pscs, func(p PSC) bool { return p.HostedURL != "" && p.Status != string(mangopay.PSCPendingValidation) }) {
		return pscs
	}
	out := slices.Clone(pscs)
	for i := range out {
		if out[i].Status != string(mangopay.PSCPendingValidation) {
			out[i].HostedURL = ""
		}
	}
	return out
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// busyRejection starts the message of an ensure-session refused because the
// run cannot take it now (the client maps it to ErrStillWorking).
const busyRejection = "the onboarding is busy"

// busyPastContinueAsNew: the run is past its continue-as-new point and
// cannot continue as new now: its loop is in a Mangopay call that retries
// (a session creation, a read through an outage or a 403), or an update
// handler calls Mangopay. An update accepted then would grow the history
// past its bound (a platform calling ensure-session on every login);
// refused, it is not written to the history at all, and the caller asks
// again.
func (w *onboarding) busyPastContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	past := info.GetContinueAsNewSuggested() || (w.cfg.MaxHistoryEvents > 0 && info.GetCurrentHistoryLength() >= w.cfg.MaxHistoryEvents)
	// A handler calling Mangopay is in w.stops (AllHandlersFinished would
	// count the update being validated).
	return past && (!w.waiting || len(w.stops) > 0)
}

func (w *onboarding) validateEnsureSession(ctx workflow.Context, req EnsureSessionRequest) error {
	if err := w.validateEnsureRequest(req); err != nil {
		return err
	}
	if w.busyPastContinueAsNew(ctx) {
		return errors.New(busyRejection + ": a Mangopay call is under way; ask again shortly")
	}
	return nil
}

func (w *onboarding) validateEnsureRequest(req EnsureSessionRequest) error {
	if req.ReturnURL != "" {
		if err := ValidateReturnURL(req.ReturnURL); err != nil {
			return err
		}
	} else if w.st.ReturnURL == "" {
		return errors.New("ReturnUrl is required")
	}
	if err := ValidateSessionLanguage(req.SessionLanguage); err != nil {
		return err
	}
	if err := validateWho(req.Actor, req.Reason); err != nil {
		return err
	}
	return ValidateTag(req.Tag)
}

// ensureSession gives the current usable session, or opens a new attempt
// when the last one ended in a state that allows it (expired, or refused
// with attempts left: the user is back, so the backoff is skipped).
func (w *onboarding) ensureSession(ctx workflow.Context, req EnsureSessionRequest) (EnsureSessionResult, error) {
	defer w.handlerDone()
	cause := ensureSessionCause(req)
	if err := w.releaseForNext(ctx, req, cause); err != nil {
		return EnsureSessionResult{}, err
	}
	ctx = withCause(ctx, cause)
	if cause.Kind == audit.CauseOperator || w.st.Status == StatusStarting {
		// An operator's reopen is recorded whatever it leads to; so is the
		// signup that started the onboarding (its Idempotency-Key).
		w.recordCall(ctx, cause)
	}
	if req.ReturnURL != "" {
		w.st.ReturnURL = req.ReturnURL
	}
	if req.Tag != "" {
		w.st.Tag = req.Tag
	}
	if req.SessionLanguage != "" {
		w.st.SessionLanguage = req.SessionLanguage
	}
	refusals := w.st.RequestsRefused
	refused := func() bool { return w.st.RequestsRefused != refusals && w.st.Rejected != nil }
	settled := func() bool {
		if refused() {
			return true // Mangopay refused what the platform sent: its 4xx
		}
		if w.st.Status.Final() {
			return true // whatever was pending, nothing more will happen
		}
		if w.st.AccessDenied != "" {
			return true // the answer is that it waits; the platform hears when it goes on
		}
		return !w.creating && w.st.Status != StatusStarting && !w.sessionWanted()
	}
	if err := workflow.Await(ctx, settled); err != nil {
		return EnsureSessionResult{}, err
	}
	if refused() {
		return EnsureSessionResult{}, requestRefused(w.st.Rejected)
	}
	// Unless a creation is under way (one waiting for Mangopay to let kycflow
	// in answers at once): a wish left behind would outlive it.
	// A session past its 7 days (the expiry grace hour) is re-read and, if
	// still PENDING, replaced: its link can no longer be submitted.
	pastExpiry := w.st.Status == StatusAwaitingUser && w.st.Session != nil && !workflow.Now(ctx).Before(w.st.Session.ExpiresAt)
	// A renewal session still usable is the one to give.
	renewalOpen := w.st.Status == StatusRenewal && w.hasUsableLink(workflow.Now(ctx))
	if !w.creating && w.st.AccessDenied == "" &&
		(w.st.Status == StatusExpired || w.st.Status == StatusRefused || w.st.Status == StatusRenewal && !renewalOpen || pastExpiry) {
		w.st.WantSession, w.st.WantCause = true, &cause
		w.poke()
		if err := workflow.Await(ctx, settled); err != nil {
			return EnsureSessionResult{}, err
		}
	}
	if refused() {
		return EnsureSessionResult{}, requestRefused(w.st.Rejected)
	}
	r := EnsureSessionResult{UserID: w.st.UserID, Status: w.st.Status, Reason: w.st.Reason, Attempt: w.st.Attempt, ScopeBlocked: w.st.ScopeBlocked}
	if w.st.AccessDenied != "" && !w.st.Status.Final() {
		r.Reason = w.st.AccessDenied
	}
	if s := w.st.Session; s != nil {
		r.IdvSessionID = s.IdvSessionID
		r.HostedURL, r.ExpiresAt = w.usableLink(workflow.Now(ctx))
	}
	return r, nil
}

func (w *onboarding) validateSubmitDocument(req SubmitDocumentRequest) error {
	if !slices.Contains(DocumentTypes, req.Type) {
		return fmt.Errorf("Type must be one of %v", DocumentTypes)
	}
	if len(req.Pages) == 0 || len(req.Pages) > MaxPages {
		return fmt.Errorf("a document needs 1 to %d pages, got %d", MaxPages, len(req.Pages))
	}
	for i, k := range req.Pages {
		if !claimcheck.IsKey(k) {
			return fmt.Errorf("Pages[%d] is not a claim-check key", i)
		}
		if slices.Index(req.Pages, k) != i {
			return fmt.Errorf("Pages[%d] repeats an earlier page", i)
		}
	}
	if err := ValidateTag(req.Tag); err != nil {
		return err
	}
	if w.st.Status == StatusStarting || w.st.Status.Final() {
		return fmt.Errorf("documents cannot be submitted while the onboarding is %s", w.st.Status)
	}
	if req.Type == "ADDRESS_PROOF" && w.st.UserType != "" && w.st.UserType != string(mangopay.PersonNatural) {
		// Mangopay's API reference: a 400 for BUSINESS, ORGANIZATION,
		// SOLETRADER and PARTNERSHIP users.
		return fmt.Errorf("ADDRESS_PROOF cannot be submitted for a %s user", w.st.UserType)
	}
	return nil
}

// submitDocument creates a KYC document, uploads its pages from the
// claim-check store and submits it. The outcome arrives later by webhook.
func (w *onboarding) submitDocument(ctx workflow.Context, req SubmitDocumentRequest) (SubmitDocumentResult, error) {
	defer w.handlerDone()
	ctx, forget := w.stoppable(ctx)
	defer forget()
	info := workflow.GetInfo(ctx)
	updateID := workflow.GetCurrentUpdateInfo(ctx).ID
	// The update's ID is the platform's Idempotency-Key of the submission.
	ctx = withCause(ctx, audit.CallCause(UpdateSubmitDocument, "", "", updateID))
	// The platform's retry (same Idempotency-Key, so the same update ID)
	// of a submission an earlier run already took.
	if i := slices.IndexFunc(w.st.Documents, func(d Document) bool { return d.RequestID == updateID }); i >= 0 {
		d := w.st.Documents[i]
		return SubmitDocumentResult{KycDocumentID: d.KycDocumentID, Status: d.Status}, nil
	}
	key := mangopay.DeriveIdempotencyKey(info.WorkflowExecution.ID, info.FirstRunID, "kyc-document", updateID)
	var created activities.CreateDocumentResult
	// A 401/403 answers at once (the platform retries with the same key):
	// retried for as long as Mangopay denies access (weeks, in a
	// credential rollout), the handler would hold the run past its
	// continue-as-new point. Nothing is created yet, so nothing is lost.
	err := workflow.ExecuteActivity(accessDeniedStops(mangopayCtx(ctx, "create KYC document")), a.CreateDocument, activities.CreateDocumentInput{
		UserID: w.st.UserID, Type: req.Type, Tag: req.Tag, IdempotencyKey: key,
	}).Get(ctx, &created)
	if rerr, ok := requestErrorOf(err); ok {
		// A document type the user type cannot take, say: the field and
		// Mangopay's words, for the platform to correct.
		return SubmitDocumentResult{}, requestRefused(rerr)
	}
	if err != nil {
		return SubmitDocumentResult{}, fmt.Errorf("create KYC document: %s", errMessage(err))
	}
	w.st.Documents = append(w.st.Documents, Document{
		KycDocumentID: created.DocumentID, Type: req.Type, Status: created.Status, CreatedAt: workflow.Now(ctx), RequestID: updateID,
	})
	doc := func() *Document {
		return &w.st.Documents[slices.IndexFunc(w.st.Documents, func(d Document) bool { return d.KycDocumentID == created.DocumentID })]
	}

	uploadCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		Summary:             fmt.Sprintf("upload %d page(s)", len(req.Pages)),
	})
	if err := workflow.ExecuteActivity(uploadCtx, a.UploadPages, activities.UploadPagesInput{
		UserID: w.st.UserID, DocumentID: created.DocumentID, PageKeys: req.Pages,
	}).Get(ctx, nil); err != nil {
		return SubmitDocumentResult{}, fmt.Errorf("upload pages of %s: %s", created.DocumentID, errMessage(err))
	}
	var submitted activities.DocumentResult
	if err := workflow.ExecuteActivity(mangopayCtx(ctx, "submit KYC document"), a.SubmitDocument, activities.SubmitDocumentInput{
		UserID: w.st.UserID, DocumentID: created.DocumentID,
	}).Get(ctx, &submitted); err != nil {
		return SubmitDocumentResult{}, fmt.Errorf("submit %s: %s", created.DocumentID, errMessage(err))
	}
	d := doc()
	if d.Status == created.Status { // a webhook may already have moved it on
		d.Status = submitted.Status
	}
	w.notifyDocument(ctx, *d, created.Status)
	return SubmitDocumentResult{KycDocumentID: d.KycDocumentID, Status: d.Status}, nil
}

// handlerDone wakes the main loop when an update handler ends, so that it
// can continue as new (the server's updates-per-run cap) or act on what the
// handler changed.
func (w *onboarding) handlerDone() {
	w.poke()
}

// stoppable gives an update handler that calls activities a context that
// finish cancels once FinalNotifyWait has passed: a handler retrying an
// activity (a Mangopay outage) then ends with an error instead of being
// left unanswered when the run completes. The returned func forgets it.
func (w *onboarding) stoppable(ctx workflow.Context) (workflow.Context, func()) {
	ctx, cancel := workflow.WithCancel(ctx)
	w.nextStop++
	id := w.nextStop
	w.stops = append(w.stops, handlerStop{id: id, cancel: cancel})
	return ctx, func() {
		w.stops = slices.DeleteFunc(w.stops, func(h handlerStop) bool { return h.id == id })
	}
}

// handlerStop cancels one running handler's context (stoppable), in the
// order the handlers started.
type handlerStop struct {
	id     int
	cancel workflow.CancelFunc
}

// stopHandlers cancels every stoppable handler still running.
func (w *onboarding) stopHandlers() {
	for _, h := range slices.Clone(w.stops) {
		h.cancel()
	}
}

func validateCancel(req CancelRequest) error {
	return validateWho(req.Actor, req.Reason)
}

// validateWho checks who calls and why: both go into the timeline.
func validateWho(actor, reason string) error {
	if name, operator := strings.CutPrefix(actor, audit.OperatorPrefix); operator && (name == "" || strings.TrimSpace(reason) == "") {
		return errors.New("an operator's action needs the operator's name in Actor and a Reason: both go into the timeline")
	}
	// The update's caller may be anything with Temporal access, not only
	// the platform API: the same checks as the API's, so that no reason
	// forges timeline lines or Web UI links and no actor poses as another.
	if err := audit.ValidateReason(reason); err != nil {
		return err
	}
	return audit.ValidateActor(actor)
}

// cancel ends the onboarding; the workflow completes once handlers finish.
func (w *onboarding) cancel(ctx workflow.Context, req CancelRequest) (StateView, error) {
	defer w.handlerDone()
	cause := audit.CallCause(UpdateCancel, req.Actor, req.Reason, "")
	ctx = withCause(ctx, cause)
	if w.st.Status.Final() && cause.Kind == audit.CauseOperator {
		w.recordCall(ctx, cause) // a cancel that found the onboarding over
	}
	if !w.st.Status.Final() {
		reason := req.Reason
		if reason == "" {
			reason = "cancelled by the platform"
		}
		w.setStatus(ctx, StatusCancelled, reason)
	}
	return w.view(workflow.Now(ctx)), nil
}
