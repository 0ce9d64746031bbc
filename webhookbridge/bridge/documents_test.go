package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// slowMangopay makes every simulator API call take d until the test ends.
func slowMangopay(t *testing.T, sim *sandbox.Sandbox, d time.Duration) {
	t.Helper()
	sim.SetFaults(sandbox.Faults{APILatencyMs: int(d.Milliseconds())})
	t.Cleanup(func() { sim.SetFaults(sandbox.Faults{}) })
}

// TestDocumentUploadOutlivesTheRequest: the platform's HTTP client gives
// up on a slow upload; the update Temporal accepted goes on, and its pages
// must still be there for it (they were deleted on every error, leaving
// the KYC document CREATED at Mangopay). The platform's retry with the same
// Idempotency-Key gets the first document, not a second one.
func TestDocumentUploadOutlivesTheRequest(t *testing.T) {
	dev := requireDev(t)
	b := newBridge(dev.rdb, dev.c)
	srv := httptest.NewServer(b.InternalRouter())
	t.Cleanup(srv.Close)
	userID := createUser(t, dev.mp)
	createOnboarding(t, b.InternalRouter(), userID, "")
	t.Cleanup(func() { endOnboarding(t, b.InternalRouter(), userID) })

	slowMangopay(t, dev.sim, 700*time.Millisecond)
	post := func(client *http.Client) (*http.Response, error) {
		body, ct := multipartBody(t, map[string]string{"Type": "IDENTITY_PROOF"}, pdfPage(40<<10))
		req := documentRequest(body, ct, userID)
		req.RequestURI = ""
		u := *req.URL
		u.Scheme, u.Host = "http", srv.Listener.Addr().String()
		req.URL = &u
		req.Header.Set("Idempotency-Key", "upload-1")
		return client.Do(req)
	}
	_, err := post(&http.Client{Timeout: 500 * time.Millisecond})
	require.Error(t, err, "the platform gave up")

	require.Eventually(t, func() bool {
		v, _ := stateOf(t, b.InternalRouter(), userID)
		return len(v.Documents) == 1 && v.Documents[0].Status == "VALIDATION_ASKED"
	}, waitFor, tick, "the accepted upload completes: its pages were kept")

	resp, err := post(http.DefaultClient)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	var res workflows.SubmitDocumentResult
	require.NoError(t, json.Unmarshal(raw, &res))
	v, _ := stateOf(t, b.InternalRouter(), userID)
	require.Len(t, v.Documents, 1, "the retry is the same submission")
	assert.Equal(t, v.Documents[0].KycDocumentID, res.KycDocumentID)
	docs, _, err := dev.mp.ListKYCDocuments(context.Background(), userID, nil)
	require.NoError(t, err)
	assert.Len(t, docs, 1, "one KYC document at Mangopay")
}

// TestDocumentUploadAccepted: an upload still running after DocumentWait
// is answered 202 with a Location; polling it gives the result.
func TestDocumentUploadAccepted(t *testing.T) {
	dev := requireDev(t)
	b := newBridge(dev.rdb, dev.c)
	b.API.DocumentWait = time.Second
	r := b.InternalRouter()
	userID := createUser(t, dev.mp)
	createOnboarding(t, r, userID, "")
	t.Cleanup(func() { endOnboarding(t, r, userID) })

	slowMangopay(t, dev.sim, 800*time.Millisecond)
	body, ct := multipartBody(t, map[string]string{"Type": "IDENTITY_PROOF"}, pdfPage(40<<10), pdfPage(33<<10))
	w := serve(r, documentRequest(body, ct, userID))
	require.Equal(t, http.StatusAccepted, w.Code, "body %s", w.Body)
	loc := w.Header().Get("Location")
	require.NotEmpty(t, loc)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Positive(t, pageKeys(t, dev.rdb), "the pages stay for the running upload")

	var res workflows.SubmitDocumentResult
	require.Eventually(t, func() bool {
		w := serve(r, apiRequest(http.MethodGet, loc, nil))
		if w.Code == http.StatusAccepted {
			return false
		}
		require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &res))
		return true
	}, waitFor, tick, "the poll ends with the result")
	assert.Equal(t, "VALIDATION_ASKED", res.Status)
	v, _ := stateOf(t, r, userID)
	require.Len(t, v.Documents, 1)
	assert.Equal(t, v.Documents[0].KycDocumentID, res.KycDocumentID)

	w = serve(r, apiRequest(http.MethodGet, "/v1/onboardings/"+userID+"/documents/no-such-key", nil))
	assert.Equal(t, http.StatusNotFound, w.Code, "body %s", w.Body)
}

// TestDocumentUploadRetryStoresNothingNew: a retry with the same
// Idempotency-Key and body gets the first answer and stores no page again
// (each retry stored every page anew, up to 35 MB kept an hour); the same
// key with another body is refused 409 and stores nothing either.
func TestDocumentUploadRetryStoresNothingNew(t *testing.T) {
	dev := requireDev(t)
	r := newBridge(dev.rdb, dev.c).InternalRouter()
	userID := createUser(t, dev.mp)
	createOnboarding(t, r, userID, "")
	t.Cleanup(func() { endOnboarding(t, r, userID) })
	post := func(fields map[string]string, pages ...[]byte) *httptest.ResponseRecorder {
		body, ct := multipartBody(t, fields, pages...)
		req := documentRequest(body, ct, userID)
		req.Header.Set("Idempotency-Key", "retried-upload")
		return serve(r, req)
	}
	page := pdfPage(40 << 10)

	w := post(map[string]string{"Type": "IDENTITY_PROOF"}, page)
	var first workflows.SubmitDocumentResult
	decodeJSON(t, w, &first)
	require.Zero(t, pageKeys(t, dev.rdb), "the submitted page was uploaded and deleted")

	w = post(map[string]string{"Type": "IDENTITY_PROOF"}, page)
	var again workflows.SubmitDocumentResult
	decodeJSON(t, w, &again)
	assert.Equal(t, first.KycDocumentID, again.KycDocumentID, "the retry is the same submission")
	assert.Zero(t, pageKeys(t, dev.rdb), "the retry stored no page")

	for name, fields := range map[string]map[string]string{
		"another page": {"Type": "IDENTITY_PROOF"},
		"another Type": {"Type": "ADDRESS_PROOF"},
		"another Tag":  {"Type": "IDENTITY_PROOF", "Tag": "second"},
	} {
		t.Run(name, func(t *testing.T) {
			p := page
			if name == "another page" {
				p = pdfPage(41 << 10)
			}
			w := post(fields, p)
			require.Equal(t, http.StatusConflict, w.Code, "body %s", w.Body)
			assert.Equal(t, "Idempotency-Key", decodeError(t, w).Field)
			assert.Zero(t, pageKeys(t, dev.rdb), "a conflicting upload stores nothing")
		})
	}
	v, _ := stateOf(t, r, userID)
	assert.Len(t, v.Documents, 1)
}
