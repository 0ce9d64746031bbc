package activities_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/routing"
)

const returnURL = "https://platform.example/kyc/back"

// unknownUserID has the shape of a Mangopay user id but exists nowhere.
const unknownUserID = "user_m_01JTG7NDTE52MZCCF50QHJ870A"

// harness runs the activities against the in-process Mangopay simulator and
// the test Redis.
type harness struct {
	sim    *sandbox.Sandbox
	url    string
	client *mangopay.Client
	rdb    *redis.Client
	index  *routing.Index
	pages  *claimcheck.Store
	acts   *activities.Activities

	mu    sync.Mutex
	users map[string]bool // created in the simulator
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	// simtest seeds the simulator at random: its ids (and so the routing
	// keys) stay apart from those of concurrent runs sharing a real Redis.
	s := simtest.Start(t, sandbox.Config{Settings: simtest.FastSettings()})
	sim, srvURL, client := s.Sandbox, s.URL, s.Client

	rdb := redistest.New(t)
	hr := &harness{
		sim: sim, url: srvURL, client: client, rdb: rdb,
		index: routing.NewIndex(rdb, 0), pages: claimcheck.NewStore(rdb, 0, 0),
	}
	hr.acts = &activities.Activities{Mangopay: client, Index: hr.index, Pages: hr.pages}
	t.Cleanup(hr.forgetRoutes)
	return hr
}

// forgetRoutes deletes the routing entries that point at this harness's
// users, so that runs against a shared Redis leave nothing behind for
// routing.DefaultTTL. The simulator's user ids are unique to the harness.
func (h *harness) forgetRoutes() {
	h.mu.Lock()
	users := h.users
	h.mu.Unlock()
	if len(users) == 0 {
		return
	}
	ctx := context.Background()
	iter := h.rdb.Scan(ctx, 0, "kycflow:route:*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		if v, err := h.rdb.Get(ctx, k).Result(); err == nil && users[v] {
			_ = h.rdb.Del(ctx, k).Err()
		}
	}
}

func (h *harness) remember(userID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.users == nil {
		h.users = map[string]bool{}
	}
	h.users[userID] = true
}

// env returns a fresh activity environment with the harness's activities.
func (h *harness) env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(h.acts)
	return env
}

// faults injects failures until the end of the test.
func (h *harness) faults(t *testing.T, f sandbox.Faults) {
	t.Helper()
	h.sim.SetFaults(f)
	t.Cleanup(func() { h.sim.SetFaults(sandbox.Faults{}) })
}

func (h *harness) naturalUser(t *testing.T, category mangopay.UserCategory) string {
	t.Helper()
	p := simtest.NaturalOwner()
	if category == mangopay.UserCategoryPayer {
		p = simtest.NaturalPayer()
	}
	u, err := h.client.CreateNaturalUserSCA(context.Background(), p)
	require.NoError(t, err)
	h.remember(u.ID)
	return u.ID
}

func (h *harness) legalUser(t *testing.T, kind mangopay.LegalPersonType) string {
	t.Helper()
	u, err := h.client.CreateLegalUserSCA(context.Background(), simtest.LegalOwner(kind))
	require.NoError(t, err)
	h.remember(u.ID)
	return u.ID
}

// pdfPage is a valid identity-proof page: a PDF of at least 32 KB.
func pdfPage(n byte) []byte {
	page := append([]byte("%PDF-1.4\n"), make([]byte, 33<<10)...)
	page[len(page)-1] = n
	return page
}

// key returns a fresh idempotency key.
func key(t *testing.T) string { return mangopay.DeriveIdempotencyKey(redistest.Unique(t)) }

// requirePermanent checks that err is a non-retryable application error of
// type typ.
func requirePermanent(t *testing.T, err error, typ string) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want *temporal.ApplicationError, got %T: %v", err, err)
	assert.Equal(t, typ, appErr.Type(), "error %v", err)
	assert.True(t, appErr.NonRetryable(), "error %v must be non-retryable", err)
}

// requireRetryable checks that Temporal will retry err: anything but a
// non-retryable application error.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		assert.False(t, appErr.NonRetryable(), "error %v (type %s) must be retryable", err, appErr.Type())
	}
}

func TestReadUser(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	tests := []struct {
		name            string
		userID          string
		wantPersonType  string
		wantLegalType   string
		wantCategory    string
		wantErrType     string
		wantNoRawValues []string
	}{
		{name: "natural owner", userID: h.naturalUser(t, mangopay.UserCategoryOwner), wantPersonType: "NATURAL", wantCategory: "OWNER"},
		{name: "natural payer", userID: h.naturalUser(t, mangopay.UserCategoryPayer), wantPersonType: "NATURAL", wantCategory: "PAYER"},
		{name: "legal owner", userID: h.legalUser(t, mangopay.LegalBusiness), wantPersonType: "LEGAL", wantLegalType: "BUSINESS", wantCategory: "OWNER"},
		{name: "unknown user", userID: unknownUserID, wantErrType: activities.ErrTypeUserNotFound},
		{name: "empty user id", userID: "", wantErrType: "Mangopay:InvalidRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			val, err := env.ExecuteActivity(h.acts.ReadUser, activities.ReadUserInput{UserID: tt.userID})
			if tt.wantErrType != "" {
				requirePermanent(t, err, tt.wantErrType)
				return
			}
			require.NoError(t, err)
			var got activities.ReadUserResult
			require.NoError(t, val.Get(&got))
			assert.Equal(t, activities.ReadUserResult{
				UserID: tt.userID, PersonType: tt.wantPersonType, LegalPersonType: tt.wantLegalType,
				UserCategory: tt.wantCategory, KYCLevel: "LIGHT",
			}, got)
			assertNoPersonalData(t, got)
		})
	}
}

func TestCreateSession(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	owner := h.naturalUser(t, mangopay.UserCategoryOwner)

	val, err := env.ExecuteActivity(h.acts.CreateSession, activities.CreateSessionInput{
		UserID: owner, ReturnURL: returnURL, Tag: "kycflow", IdempotencyKey: key(t),
	})
	require.NoError(t, err)
	var got activities.CreateSessionResult
	require.NoError(t, val.Get(&got))
	assert.NotEmpty(t, got.SessionID)
	assert.True(t, strings.HasPrefix(got.HostedURL, h.url+"/"), "HostedURL %q, want it on the simulator %s", got.HostedURL, h.url)
	assert.Equal(t, "PENDING", got.Status)
	assert.False(t, got.CreationDate.IsZero())

	userID, found, err := h.index.Lookup(context.Background(), routing.KindSession, got.SessionID)
	require.NoError(t, err)
	assert.True(t, found, "the session is indexed for webhook routing")
	assert.Equal(t, owner, userID)
}

func TestCreateSessionIdempotent(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	t.Run("same key twice", func(t *testing.T) {
		env := h.env()
		owner := h.naturalUser(t, mangopay.UserCategoryOwner)
		in := activities.CreateSessionInput{UserID: owner, ReturnURL: returnURL, IdempotencyKey: key(t)}
		var ids []string
		for range 2 {
			val, err := env.ExecuteActivity(h.acts.CreateSession, in)
			require.NoError(t, err)
			var got activities.CreateSessionResult
			require.NoError(t, val.Get(&got))
			ids = append(ids, got.SessionID)
		}
		assert.Equal(t, ids[0], ids[1], "the second call returns the first session")
		list, _, err := h.client.ListIdentityVerifications(ctx, owner, nil)
		require.NoError(t, err)
		assert.Len(t, list, 1, "one session at Mangopay, not two")
	})

	t.Run("response lost after the session was created", func(t *testing.T) {
		env := h.env()
		owner := h.naturalUser(t, mangopay.UserCategoryOwner)
		in := activities.CreateSessionInput{UserID: owner, ReturnURL: returnURL, IdempotencyKey: key(t)}

		h.sim.SetFaults(sandbox.Faults{APIErrorRate: 1, APIErrorAfterCommit: true})
		_, err := env.ExecuteActivity(h.acts.CreateSession, in)
		h.sim.SetFaults(sandbox.Faults{})
		requireRetryable(t, err)
		list, _, err := h.client.ListIdentityVerifications(ctx, owner, nil)
		require.NoError(t, err)
		require.Len(t, list, 1, "the session was created although the response was lost")

		val, err := env.ExecuteActivity(h.acts.CreateSession, in)
		require.NoError(t, err, "the retry recovers the original session")
		var got activities.CreateSessionResult
		require.NoError(t, val.Get(&got))
		assert.Equal(t, list[0].ID, got.SessionID)
		assert.True(t, strings.HasPrefix(got.HostedURL, h.url+"/"), "HostedURL %q", got.HostedURL)

		list, _, err = h.client.ListIdentityVerifications(ctx, owner, nil)
		require.NoError(t, err)
		assert.Len(t, list, 1, "still one session")
		userID, found, err := h.index.Lookup(ctx, routing.KindSession, got.SessionID)
		require.NoError(t, err)
		assert.True(t, found, "the retry indexes the recovered session")
		assert.Equal(t, owner, userID)
	})
}

func TestCreateSessionPermanentErrors(t *testing.T) {
	h := newHarness(t)
	env := h.env()

	tests := []struct {
		name     string
		userID   string
		settings func(*sandbox.Settings)
		wantType string
	}{
		{name: "payer", userID: h.naturalUser(t, mangopay.UserCategoryPayer), wantType: activities.ErrTypeNotEligible},
		{name: "partnership", userID: h.legalUser(t, mangopay.LegalPartnership), wantType: activities.ErrTypeNotEligible},
		{name: "unknown user", userID: unknownUserID, wantType: "Mangopay:" + mangopay.ErrTypeParamError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.settings != nil {
				set := sandbox.DefaultSettings()
				set.OutcomeDelaySeconds, set.KycProcessingDelaySeconds, set.RateLimitEnforced = 0, 0, false
				tt.settings(&set)
				require.NoError(t, h.sim.SetSettings(set))
				t.Cleanup(func() {
					restored := sandbox.DefaultSettings()
					restored.OutcomeDelaySeconds, restored.KycProcessingDelaySeconds, restored.RateLimitEnforced = 0, 0, false
					require.NoError(t, h.sim.SetSettings(restored))
				})
			}
			_, err := env.ExecuteActivity(h.acts.CreateSession, activities.CreateSessionInput{
				UserID: tt.userID, ReturnURL: returnURL, IdempotencyKey: key(t),
			})
			requirePermanent(t, err, tt.wantType)
		})
	}
}

// TestFeatureNotActivatedWaits: hosted KYC not activated for the client is
// the platform's to fix, not the user's: retried, never NOT_ELIGIBLE.
func TestFeatureNotActivatedWaits(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds, set.KycProcessingDelaySeconds, set.RateLimitEnforced, set.IdvActivated = 0, 0, false, false
	require.NoError(t, h.sim.SetSettings(set))
	t.Cleanup(func() {
		set.IdvActivated = true
		require.NoError(t, h.sim.SetSettings(set))
	})
	_, err := env.ExecuteActivity(h.acts.CreateSession, activities.CreateSessionInput{
		UserID: h.naturalUser(t, mangopay.UserCategoryOwner), ReturnURL: returnURL, IdempotencyKey: key(t),
	})
	requireRetryable(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %T: %v", err, err)
	assert.Equal(t, activities.ErrTypeAccessDenied, appErr.Type())
}

// TestTransientErrors checks that Mangopay's 429 and 5xx answers reach
// Temporal as retryable errors, for every activity that calls Mangopay.
func TestTransientErrors(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	owner := h.naturalUser(t, mangopay.UserCategoryOwner)
	session, err := h.client.CreateIdentityVerification(context.Background(), owner, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
	require.NoError(t, err)
	doc, err := h.client.CreateKYCDocument(context.Background(), owner, &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCIdentityProof})
	require.NoError(t, err)
	pageKey, err := h.pages.Put(context.Background(), pdfPage(1))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.pages.Delete(context.Background(), pageKey) })

	calls := []struct {
		name string
		fn   any
		in   any
	}{
		{"ReadUser", h.acts.ReadUser, activities.ReadUserInput{UserID: owner}},
		{"CreateSession", h.acts.CreateSession, activities.CreateSessionInput{UserID: owner, ReturnURL: returnURL, IdempotencyKey: key(t)}},
		{"GetSession", h.acts.GetSession, activities.GetSessionInput{SessionID: session.ID}},
		{"CreateDocument", h.acts.CreateDocument, activities.CreateDocumentInput{UserID: owner, Type: "IDENTITY_PROOF", IdempotencyKey: key(t)}},
		{"UploadPages", h.acts.UploadPages, activities.UploadPagesInput{UserID: owner, DocumentID: doc.ID, PageKeys: []string{pageKey}}},
		{"SubmitDocument", h.acts.SubmitDocument, activities.SubmitDocumentInput{UserID: owner, DocumentID: doc.ID}},
		{"GetDocument", h.acts.GetDocument, activities.GetDocumentInput{DocumentID: doc.ID}},
	}
	// 401 (after re-authentication) and 403 are kycflow's own credentials
	// or permissions: retried until an operator fixes them.
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable,
		http.StatusUnauthorized, http.StatusForbidden} {
		for _, c := range calls {
			t.Run(http.StatusText(status)+"/"+c.name, func(t *testing.T) {
				h.faults(t, sandbox.Faults{APIErrorRate: 1, APIErrorStatus: status})
				_, err := env.ExecuteActivity(c.fn, c.in)
				requireRetryable(t, err)
				if status == http.StatusUnauthorized || status == http.StatusForbidden {
					var appErr *temporal.ApplicationError
					require.True(t, errors.As(err, &appErr), "got %T: %v", err, err)
					assert.Equal(t, activities.ErrTypeAccessDenied, appErr.Type())
				}
			})
		}
	}

	list, _, err := h.client.ListIdentityVerifications(context.Background(), owner, nil)
	require.NoError(t, err)
	assert.Len(t, list, 1, "no session was created by the failed calls")
}

func TestGetSession(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	ctx := context.Background()

	newSession := func(t *testing.T, owner string) string {
		t.Helper()
		iv, err := h.client.CreateIdentityVerification(ctx, owner, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
		require.NoError(t, err)
		return iv.ID
	}

	tests := []struct {
		name        string
		outcome     map[string]sandbox.Choice // nil: the user has not submitted
		submit      bool
		wantStatus  string
		wantCheck   activities.CheckSummary // checked when Type is set
		wantNoCheck bool
	}{
		{name: "pending", wantStatus: "PENDING", wantNoCheck: true},
		{
			name: "refused", submit: true,
			outcome:    map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "DOCUMENT_FALSIFIED"}},
			wantStatus: "REFUSED",
			wantCheck:  activities.CheckSummary{Type: "IDENTITY_DOCUMENT_VERIFICATION", Status: "REFUSED"},
		},
		{
			name: "validated", submit: true, wantStatus: "VALIDATED",
			wantCheck: activities.CheckSummary{Type: "IDENTITY_DOCUMENT_VERIFICATION", Status: "VALIDATED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owner := h.naturalUser(t, mangopay.UserCategoryOwner)
			id := newSession(t, owner)
			if tt.submit {
				require.NoError(t, h.sim.SubmitOutcome(id, tt.outcome))
				h.sim.Settle()
			}
			val, err := env.ExecuteActivity(h.acts.GetSession, activities.GetSessionInput{SessionID: id})
			require.NoError(t, err)
			var got activities.GetSessionResult
			require.NoError(t, val.Get(&got))
			assert.Equal(t, id, got.SessionID)
			assert.Equal(t, owner, got.UserID)
			assert.Equal(t, tt.wantStatus, got.Status)
			assert.False(t, got.CreationDate.IsZero())
			if tt.wantNoCheck {
				assert.Empty(t, got.Checks)
			}
			if tt.wantCheck.Type != "" {
				var c *activities.CheckSummary
				for i := range got.Checks {
					if got.Checks[i].Type == tt.wantCheck.Type {
						c = &got.Checks[i]
					}
				}
				require.NotNil(t, c, "check %s in %+v", tt.wantCheck.Type, got.Checks)
				assert.Equal(t, tt.wantCheck.Status, c.Status)
				if tt.wantCheck.Status == "REFUSED" {
					require.Len(t, c.Reasons, 1)
					assert.Equal(t, "DOCUMENT_FALSIFIED", c.Reasons[0].Type)
					assert.NotEmpty(t, c.Reasons[0].Value, "Mangopay's text for the reason")
				} else {
					assert.Empty(t, c.Reasons)
				}
			}
			assertNoPersonalData(t, got)
		})
	}

	t.Run("unknown session", func(t *testing.T) {
		_, err := env.ExecuteActivity(h.acts.GetSession, activities.GetSessionInput{SessionID: "idnver_01JTG7NDTE52MZCCF50QHJ870A"})
		requirePermanent(t, err, "Mangopay:"+mangopay.ErrTypeResourceNotFound)
	})
}

// assertNoPersonalData checks that a result, as Temporal would store it in
// the workflow history, carries none of the user's verified data.
func assertNoPersonalData(t *testing.T, result any) {
	t.Helper()
	b, err := json.Marshal(result)
	require.NoError(t, err)
	upper := strings.ToUpper(string(b))
	for _, s := range []string{"ALEX", "SMITH", "652117514", "1990-09-01", "EXAMPLE.COM", "PARIS", "FIRST_NAME", "LAST_NAME", "BIRTHDATE"} {
		assert.NotContains(t, upper, s, "personal data in %s", b)
	}
}

func TestCreateDocument(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	ctx := context.Background()
	owner := h.naturalUser(t, mangopay.UserCategoryOwner)

	idem := key(t)
	in := activities.CreateDocumentInput{UserID: owner, Type: "IDENTITY_PROOF", Tag: "accept", IdempotencyKey: idem}
	val, err := env.ExecuteActivity(h.acts.CreateDocument, in)
	require.NoError(t, err)
	var got activities.CreateDocumentResult
	require.NoError(t, val.Get(&got))
	assert.NotEmpty(t, got.DocumentID)
	assert.Equal(t, "CREATED", got.Status)

	userID, found, err := h.index.Lookup(ctx, routing.KindDocument, got.DocumentID)
	require.NoError(t, err)
	assert.True(t, found, "the document is indexed for webhook routing")
	assert.Equal(t, owner, userID)

	val, err = env.ExecuteActivity(h.acts.CreateDocument, in)
	require.NoError(t, err, "a retry with the same key")
	var again activities.CreateDocumentResult
	require.NoError(t, val.Get(&again))
	assert.Equal(t, got.DocumentID, again.DocumentID, "the retry returns the same document")
	docs, _, err := h.client.ListKYCDocuments(ctx, owner, nil)
	require.NoError(t, err)
	assert.Len(t, docs, 1)

	tests := []struct {
		name     string
		in       activities.CreateDocumentInput
		wantType string
	}{
		{"payer", activities.CreateDocumentInput{UserID: h.naturalUser(t, mangopay.UserCategoryPayer), Type: "IDENTITY_PROOF"}, "Mangopay:" + mangopay.ErrTypeInvalidAction},
		{"registration proof for a natural user", activities.CreateDocumentInput{UserID: owner, Type: "REGISTRATION_PROOF"}, "Mangopay:" + mangopay.ErrTypeParamError},
		{"unknown user", activities.CreateDocumentInput{UserID: unknownUserID, Type: "IDENTITY_PROOF"}, "Mangopay:" + mangopay.ErrTypeResourceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(h.acts.CreateDocument, tt.in)
			requirePermanent(t, err, tt.wantType)
		})
	}
}

// newDocument creates an identity proof for a new owner and returns both ids.
func (h *harness) newDocument(t *testing.T, tag string) (userID, docID string) {
	t.Helper()
	userID = h.naturalUser(t, mangopay.UserCategoryOwner)
	d, err := h.client.CreateKYCDocument(context.Background(), userID, &mangopay.CreateKYCDocumentParams{Type: mangopay.KYCIdentityProof, Tag: tag})
	require.NoError(t, err)
	return userID, d.ID
}

// putPages stores pages in the claim-check store and returns their keys.
func (h *harness) putPages(t *testing.T, pages ...[]byte) []string {
	t.Helper()
	keys := make([]string, 0, len(pages))
	for _, p := range pages {
		k, err := h.pages.Put(context.Background(), p)
		require.NoError(t, err)
		keys = append(keys, k)
	}
	t.Cleanup(func() { _ = h.pages.Delete(context.Background(), keys...) })
	return keys
}

// pageCount tells how many pages Mangopay holds for a document by adding
// pages until it answers max_page_number (at most 5 pages a document). It
// fills the document, so call it last.
func (h *harness) pageCount(t *testing.T, userID, docID string) int {
	t.Helper()
	const maxPages = 5
	added := 0
	for {
		err := h.client.AddKYCDocumentPage(context.Background(), userID, docID, &mangopay.AddKYCDocumentPageParams{File: pdfPage(9)})
		if err != nil {
			var me *mangopay.Error
			require.True(t, errors.As(err, &me), "unexpected error %v", err)
			require.Equal(t, mangopay.ErrTypeMaxPageNumber, me.Type, "unexpected error %v", err)
			return maxPages - added
		}
		added++
		require.LessOrEqual(t, added, maxPages, "the document never filled up")
	}
}

func TestUploadPages(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	t.Run("two pages", func(t *testing.T) {
		env := h.env()
		userID, docID := h.newDocument(t, "accept")
		keys := h.putPages(t, pdfPage(1), pdfPage(2))

		val, err := env.ExecuteActivity(h.acts.UploadPages, activities.UploadPagesInput{UserID: userID, DocumentID: docID, PageKeys: keys})
		require.NoError(t, err)
		var got activities.UploadPagesResult
		require.NoError(t, val.Get(&got))
		assert.Equal(t, 2, got.Pages)
		for _, k := range keys {
			_, err := h.pages.Get(ctx, k)
			assert.ErrorIs(t, err, claimcheck.ErrNotFound, "page %s is deleted once uploaded", k)
		}
		assert.Equal(t, 2, h.pageCount(t, userID, docID))
	})

	t.Run("page missing from the store", func(t *testing.T) {
		env := h.env()
		userID, docID := h.newDocument(t, "accept")
		keys := h.putPages(t, pdfPage(1))
		keys = append(keys, "kycflow:page:00000000000000000000000000000000")

		_, err := env.ExecuteActivity(h.acts.UploadPages, activities.UploadPagesInput{UserID: userID, DocumentID: docID, PageKeys: keys})
		requirePermanent(t, err, activities.ErrTypePageMissing)
	})

	t.Run("malformed key", func(t *testing.T) {
		env := h.env()
		userID, docID := h.newDocument(t, "accept")
		_, err := env.ExecuteActivity(h.acts.UploadPages, activities.UploadPagesInput{UserID: userID, DocumentID: docID, PageKeys: []string{"kycflow:route:session:x"}})
		requirePermanent(t, err, activities.ErrTypePageMissing)
		assert.Equal(t, 0, h.pageCount(t, userID, docID))
	})

	t.Run("page swapped in Redis for clear bytes", func(t *testing.T) {
		// With a payload key only sealed pages are sent: bytes put under a
		// claim key by someone with write access to Redis are refused for
		// good, never uploaded as the user's.
		codec, err := payloadcodec.New([][]byte{bytes.Repeat([]byte{7}, 32)})
		require.NoError(t, err)
		sealed := claimcheck.NewStore(h.rdb, 0, 0, claimcheck.WithSealer(codec))
		acts := *h.acts
		acts.Pages = sealed
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(&acts)
		userID, docID := h.newDocument(t, "accept")
		key, err := sealed.Put(ctx, pdfPage(1))
		require.NoError(t, err)
		t.Cleanup(func() { _ = sealed.Delete(context.Background(), key) })
		require.NoError(t, h.rdb.Set(ctx, key, pdfPage(9), 0).Err())
		_, err = env.ExecuteActivity(acts.UploadPages, activities.UploadPagesInput{UserID: userID, DocumentID: docID, PageKeys: []string{key}})
		requirePermanent(t, err, activities.ErrTypePageMissing)
		assert.Equal(t, 0, h.pageCount(t, userID, docID), "nothing reached Mangopay")
	})

	t.Run("page Mangopay refuses", func(t *testing.T) {
		env := h.env()
		userID, docID := h.newDocument(t, "accept")
		keys := h.putPages(t, []byte("not a document at all"))
		_, err := env.ExecuteActivity(h.acts.UploadPages, activities.UploadPagesInput{UserID: userID, DocumentID: docID, PageKeys: keys})
		requirePermanent(t, err, "Mangopay:"+mangopay.ErrTypeParamError)
	})

	t.Run("resume after the first page", func(t *testing.T) {
		env := h.env()
		userID, docID := h.newDocument(t, "accept")
		// The first attempt uploaded page 1, heartbeated 1, deleted nothing
		// and failed; page 1 has since expired from the store. The retry
		// must start from page 2 and never read page 1 again.
		require.NoError(t, h.client.AddKYCDocumentPage(ctx, userID, docID, &mangopay.AddKYCDocumentPageParams{File: pdfPage(1)}))
		expired := "kycflow:page:00000000000000000000000000000001"
		keys := append([]string{expired}, h.putPages(t, pdfPage(2))...)
		env.SetHeartbeatDetails(1)

		val, err := env.ExecuteActivity(h.acts.UploadPages, activities.UploadPagesInput{UserID: userID, DocumentID: docID, PageKeys: keys})
		require.NoError(t, err)
		var got activities.UploadPagesResult
		require.NoError(t, val.Get(&got))
		assert.Equal(t, 2, got.Pages, "the document has both pages")
		_, err = h.pages.Get(ctx, keys[1])
		assert.ErrorIs(t, err, claimcheck.ErrNotFound, "page 2 is deleted once uploaded")
		assert.Equal(t, 2, h.pageCount(t, userID, docID), "page 1 once, page 2 once")
	})
}

func TestSubmitDocument(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	ctx := context.Background()

	// A tag without a Sandbox rule keeps the document in VALIDATION_ASKED.
	userID, docID := h.newDocument(t, "kycflow-review")
	require.NoError(t, h.client.AddKYCDocumentPage(ctx, userID, docID, &mangopay.AddKYCDocumentPageParams{File: pdfPage(1)}))
	in := activities.SubmitDocumentInput{UserID: userID, DocumentID: docID}

	for _, name := range []string{"first submit", "second submit reads the document back"} {
		t.Run(name, func(t *testing.T) {
			val, err := env.ExecuteActivity(h.acts.SubmitDocument, in)
			require.NoError(t, err)
			var got activities.DocumentResult
			require.NoError(t, val.Get(&got))
			assert.Equal(t, activities.DocumentResult{DocumentID: docID, Status: "VALIDATION_ASKED"}, got)
		})
	}

	t.Run("already processed", func(t *testing.T) {
		userID, docID := h.newDocument(t, "accept")
		require.NoError(t, h.client.AddKYCDocumentPage(ctx, userID, docID, &mangopay.AddKYCDocumentPageParams{File: pdfPage(1)}))
		_, err := h.client.SubmitKYCDocument(ctx, userID, docID, nil)
		require.NoError(t, err)
		h.sim.Advance(time.Second)

		val, err := env.ExecuteActivity(h.acts.SubmitDocument, activities.SubmitDocumentInput{UserID: userID, DocumentID: docID})
		require.NoError(t, err)
		var got activities.DocumentResult
		require.NoError(t, val.Get(&got))
		assert.Equal(t, "VALIDATED", got.Status)
	})

	t.Run("document of another user", func(t *testing.T) {
		// docID is submitted already, but not by this user: Mangopay answers
		// 404 and the activity must not report someone else's document as
		// submitted.
		stranger := h.naturalUser(t, mangopay.UserCategoryOwner)
		_, err := env.ExecuteActivity(h.acts.SubmitDocument, activities.SubmitDocumentInput{UserID: stranger, DocumentID: docID})
		requirePermanent(t, err, "Mangopay:"+mangopay.ErrTypeResourceNotFound)
	})

	t.Run("no page", func(t *testing.T) {
		userID, docID := h.newDocument(t, "accept")
		_, err := env.ExecuteActivity(h.acts.SubmitDocument, activities.SubmitDocumentInput{UserID: userID, DocumentID: docID})
		requirePermanent(t, err, "Mangopay:"+mangopay.ErrTypeParamError)
	})
}

func TestGetDocument(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	ctx := context.Background()

	tests := []struct {
		name       string
		tag        string
		wantStatus string
		wantReason string
	}{
		{"accepted", "accept", "VALIDATED", ""},
		{"refused as falsified", "refuse_falsified", "REFUSED", "DOCUMENT_FALSIFIED"},
		{"refused as unreadable", "refuse_unreadable", "REFUSED", "DOCUMENT_UNREADABLE"},
		{"still in review", "kycflow-review", "VALIDATION_ASKED", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userID, docID := h.newDocument(t, tt.tag)
			require.NoError(t, h.client.AddKYCDocumentPage(ctx, userID, docID, &mangopay.AddKYCDocumentPageParams{File: pdfPage(1)}))
			_, err := env.ExecuteActivity(h.acts.SubmitDocument, activities.SubmitDocumentInput{UserID: userID, DocumentID: docID})
			require.NoError(t, err)
			h.sim.Advance(time.Second)

			val, err := env.ExecuteActivity(h.acts.GetDocument, activities.GetDocumentInput{DocumentID: docID})
			require.NoError(t, err)
			var got activities.DocumentResult
			require.NoError(t, val.Get(&got))
			assert.Equal(t, docID, got.DocumentID)
			assert.Equal(t, tt.wantStatus, got.Status)
			assert.Equal(t, tt.wantReason, got.RefusedReasonType)
			if tt.wantReason != "" {
				assert.NotEmpty(t, got.RefusedReasonMessage)
			} else {
				assert.Empty(t, got.RefusedReasonMessage)
			}
		})
	}

	t.Run("unknown document", func(t *testing.T) {
		_, err := env.ExecuteActivity(h.acts.GetDocument, activities.GetDocumentInput{DocumentID: "kyc_01JTG7NDTE52MZCCF50QHJ870A"})
		requirePermanent(t, err, "Mangopay:"+mangopay.ErrTypeResourceNotFound)
	})
}

// TestUploadPagesInTwoBatches adds pages to one document in two calls, as a
// workflow does when the platform sends pages one at a time. Every page
// handed to UploadPages must reach Mangopay: the second call's first page is
// a different page from the first call's, even though both are "page 1" of
// their call.
func TestUploadPagesInTwoBatches(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	userID, docID := h.newDocument(t, "accept")

	for i, page := range [][]byte{pdfPage(1), pdfPage(2)} {
		keys := h.putPages(t, page)
		val, err := env.ExecuteActivity(h.acts.UploadPages, activities.UploadPagesInput{UserID: userID, DocumentID: docID, PageKeys: keys})
		require.NoError(t, err, "batch %d", i+1)
		var got activities.UploadPagesResult
		require.NoError(t, val.Get(&got))
		assert.Equal(t, 1, got.Pages, "batch %d", i+1)
	}
	assert.Equal(t, 2, h.pageCount(t, userID, docID), "both batches' pages are on the document")
}

// TestCreateSessionSurvivesARedisOutage: with IndexBestEffort (every
// onboarding since long-lived-fixes) a Redis that is down does not fail the
// creation, which would repeat the Mangopay call; the result says the index
// is missing. Without it (older onboardings) the activity fails, as before.
func TestCreateSessionSurvivesARedisOutage(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	down := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	acts := &activities.Activities{Mangopay: h.client, Index: routing.NewIndex(down, 0), Pages: h.pages}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	owner := h.naturalUser(t, mangopay.UserCategoryOwner)

	v, err := env.ExecuteActivity(acts.CreateSession, activities.CreateSessionInput{
		UserID: owner, ReturnURL: returnURL, IdempotencyKey: key(t), IndexBestEffort: true,
	})
	require.NoError(t, err)
	var res activities.CreateSessionResult
	require.NoError(t, v.Get(&res))
	assert.NotEmpty(t, res.SessionID)
	assert.False(t, res.Indexed)

	_, err = env.ExecuteActivity(acts.CreateSession, activities.CreateSessionInput{UserID: owner, ReturnURL: returnURL, IdempotencyKey: key(t)})
	requireRetryable(t, err)
}

func TestRateLimitedRetriesNoSoonerThanTheReset(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	owner := h.naturalUser(t, mangopay.UserCategoryOwner)
	set := simtest.FastSettings()
	set.RateLimitEnforced = true
	set.RateLimits = [4]int{1, 4500, 8800, 105600} // the 15-minute window is spent
	require.NoError(t, h.sim.SetSettings(set))

	calls := []struct {
		name string
		fn   any
		in   any
	}{
		{"ReadUser", h.acts.ReadUser, activities.ReadUserInput{UserID: owner}},
		{"CreateSession", h.acts.CreateSession, activities.CreateSessionInput{UserID: owner, ReturnURL: returnURL, IdempotencyKey: key(t)}},
		{"CreateDocument", h.acts.CreateDocument, activities.CreateDocumentInput{UserID: owner, Type: "IDENTITY_PROOF", IdempotencyKey: key(t)}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(c.fn, c.in)
			requireRetryable(t, err)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "got %T: %v", err, err)
			assert.Equal(t, activities.ErrTypeRateLimited, appErr.Type())
			reset := h.client.RateLimits().Windows[0].Reset
			require.False(t, reset.IsZero())
			// Temporal waits until the window's reset (to the second), not
			// its own backoff.
			assert.GreaterOrEqual(t, appErr.NextRetryDelay(), time.Until(reset)-time.Second)
			assert.LessOrEqual(t, appErr.NextRetryDelay(), 15*time.Minute+2*time.Second, "the reset plus a second of margin")
		})
	}
}

// TestGetSessionIndexesPSCs: any read that lists a PSC session indexes it,
// so that the bridge routes the PSC's webhooks (Mangopay cannot be asked
// whose a PSC is): reading the validated main session of a business is one.
func TestGetSessionIndexesPSCs(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	ctx := context.Background()
	owner := h.legalUser(t, mangopay.LegalPersonType("BUSINESS"))
	iv, err := h.client.CreateIdentityVerification(ctx, owner, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
	require.NoError(t, err)
	require.NoError(t, h.sim.SubmitOutcome(iv.ID, nil))
	h.sim.Settle()

	_, err = env.ExecuteActivity(h.acts.GetSession, activities.GetSessionInput{SessionID: iv.ID})
	require.NoError(t, err)

	read, err := h.client.GetIdentityVerification(ctx, iv.ID)
	require.NoError(t, err)
	require.NotEmpty(t, read.PSCs, "a validated business session lists its PSC sessions")
	for _, p := range read.PSCs {
		user, found, err := h.index.Lookup(ctx, routing.KindPSC, p.ID)
		require.NoError(t, err)
		assert.True(t, found, "PSC %s indexed by the read that listed it", p.ID)
		assert.Equal(t, owner, user)
	}
}

// A PSC session of an earlier main session (here a
// renewal's, REJECTED, before a downgrade and a new verification) must not
// hide that Mangopay says REGULAR: KYCLevel is the truth.
func TestReadPSCsKYCLevelIsTheTruth(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	userID := h.legalUser(t, mangopay.LegalBusiness)
	validateMain := func() string {
		t.Helper()
		iv, err := h.client.CreateIdentityVerification(ctx, userID, &mangopay.CreateIdentityVerificationParams{ReturnURL: returnURL})
		require.NoError(t, err)
		require.NoError(t, h.sim.SubmitOutcome(iv.ID, map[string]sandbox.Choice{}))
		h.sim.Settle()
		return iv.ID
	}
	pscOf := func(mainID string) string {
		t.Helper()
		list, _, err := h.client.ListUserPSCs(ctx, userID, &mangopay.ListOptions{PerPage: 100})
		require.NoError(t, err)
		for _, p := range list {
			if p.MainSessionID == mainID {
				return p.ID
			}
		}
		t.Fatalf("no PSC session of main session %s", mainID)
		return ""
	}
	first := validateMain()
	require.NoError(t, h.sim.DecidePsc(pscOf(first), sandbox.PscValidated))
	_, err := h.sim.RequireRenewal(userID, 30)
	require.NoError(t, err)
	renewal := validateMain()
	require.NoError(t, h.sim.DecidePsc(pscOf(renewal), sandbox.PscRejected)) // stays REJECTED for ever
	require.NoError(t, h.sim.Downgrade(userID))
	again := validateMain()
	require.NoError(t, h.sim.DecidePsc(pscOf(again), sandbox.PscValidated))
	u, err := h.client.GetUserSCA(ctx, userID)
	require.NoError(t, err)
	require.Equal(t, mangopay.KYCLevelRegular, u.KYCLevel, "Mangopay verified the business again")

	val, err := h.env().ExecuteActivity(h.acts.ReadPSCs, activities.ReadPSCsInput{UserID: userID})
	require.NoError(t, err)
	var res activities.ReadPSCsResult
	require.NoError(t, val.Get(&res))
	assert.Len(t, res.PSCs, 3, "every generation is listed")
	assert.Equal(t, "REGULAR", res.KYCLevel, "a REJECTED PSC of an earlier main session does not block the user")
}
