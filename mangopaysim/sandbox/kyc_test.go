package sandbox_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// file returns a file of the given format and size.
func file(magic string, size int) string {
	b := append([]byte(magic), bytes.Repeat([]byte{0x20}, size-len(magic))...)
	return base64.StdEncoding.EncodeToString(b)
}

const (
	pdf  = "%PDF-1.4\n"
	jpeg = "\xff\xd8\xff\xe0"
	png  = "\x89PNG\r\n\x1a\n"
)

func TestKYCDocumentTypes(t *testing.T) {
	e := newEnv(t, fastSettings())
	natural, soletrader, business := e.natural(), e.legal("SOLETRADER"), e.legal("BUSINESS")
	tests := []struct {
		user, typ string
		status    int
		errField  string
	}{
		{natural, "IDENTITY_PROOF", 200, ""},
		{natural, "ADDRESS_PROOF", 200, ""},
		{natural, "REGISTRATION_PROOF", 400, "Type"},
		{natural, "SHAREHOLDER_DECLARATION", 400, "Type"},
		{soletrader, "ARTICLES_OF_ASSOCIATION", 400, "Type"},
		{soletrader, "REGISTRATION_PROOF", 200, ""},
		{business, "ARTICLES_OF_ASSOCIATION", 200, ""},
		{business, "ADDRESS_PROOF", 400, "Type"}, // "ADDRESS_PROOF cannot be submitted for BUSINESS user"
		{soletrader, "ADDRESS_PROOF", 400, "Type"},
		{natural, "DELIVERY_PROOF", 400, "Type"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			res := e.api("POST", "/users/"+tt.user+"/kyc/documents", map[string]any{"Type": tt.typ})
			require.Equal(t, tt.status, res.status, string(res.body))
			body := res.json()
			if tt.errField != "" {
				assert.Contains(t, body["errors"], tt.errField)
				return
			}
			assert.Equal(t, "CREATED", body["Status"])
			assert.True(t, strings.HasPrefix(body["Id"].(string), "kyc_"))
			assert.Equal(t, []any{}, body["Flags"])
			assert.Nil(t, body["ProcessedDate"])
		})
	}
	t.Run("unknown user", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, e.api("POST", "/users/user_m_nope/kyc/documents", map[string]any{"Type": "IDENTITY_PROOF"}).status)
	})
}

func TestKYCPages(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	newDoc := func(typ string) string {
		return e.mustID(e.api("POST", "/users/"+userID+"/kyc/documents", map[string]any{"Type": typ}))
	}
	page := func(doc, f string) response {
		return e.api("POST", "/users/"+userID+"/kyc/documents/"+doc+"/pages", map[string]any{"File": f})
	}
	id := newDoc("IDENTITY_PROOF")
	addr := newDoc("ADDRESS_PROOF")
	tests := []struct {
		name     string
		doc      string
		file     string
		status   int
		errType  string
		errField string
	}{
		{"pdf", id, file(pdf, 40<<10), 204, "", ""},
		{"jpeg", id, file(jpeg, 40<<10), 204, "", ""},
		{"png", id, file(png, 40<<10), 204, "", ""},
		{"identity proof under 32 KB", id, file(pdf, 31<<10), 400, "param_error", "File"},
		{"other document over 1 KB", addr, file(pdf, 2<<10), 204, "", ""},
		{"other document under 1 KB", addr, file(pdf, 500), 400, "param_error", "File"},
		{"not base64", id, "@@@@", 400, "param_error", "File"},
		{"empty", id, "", 400, "param_error", "File"},
		{"gif is not accepted", id, file("GIF89a", 40<<10), 415, "param_error", "File"},
		{"over 7 MB", id, file(pdf, 7<<20+1), 413, "param_error", "File"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := page(tt.doc, tt.file)
			require.Equal(t, tt.status, res.status, string(res.body))
			if tt.status == 204 {
				assert.Empty(t, res.body)
				return
			}
			assert.Equal(t, tt.errType, res.json()["Type"])
			assert.Contains(t, res.json()["errors"], tt.errField)
		})
	}

	t.Run("at most 5 pages", func(t *testing.T) {
		doc := newDoc("IDENTITY_PROOF")
		for range 5 {
			require.Equal(t, 204, page(doc, file(pdf, 33<<10)).status)
		}
		res := page(doc, file(pdf, 33<<10))
		require.Equal(t, 400, res.status)
		assert.Equal(t, "max_page_number", res.json()["Type"])
	})

	t.Run("submit needs a page and is done once", func(t *testing.T) {
		doc := newDoc("IDENTITY_PROOF")
		submit := map[string]any{"Status": "VALIDATION_ASKED"}
		path := "/users/" + userID + "/kyc/documents/" + doc
		assert.Equal(t, 400, e.api("PUT", path, submit).status)
		require.Equal(t, 204, page(doc, file(pdf, 33<<10)).status)
		assert.Equal(t, 400, e.api("PUT", path, map[string]any{"Status": "VALIDATED"}).status)
		res := e.api("PUT", path, submit)
		require.Equal(t, 200, res.status, string(res.body))
		assert.Equal(t, "VALIDATION_ASKED", res.json()["Status"])
		assert.Equal(t, 400, e.api("PUT", path, submit).status)
		assert.Equal(t, 400, page(doc, file(pdf, 33<<10)).status, "no pages after submission")
	})
}

func TestKYCSandboxTags(t *testing.T) {
	tests := []struct {
		typ, tag   string
		wantStatus string
		wantReason any
		wantEvent  string
	}{
		{"IDENTITY_PROOF", "accept", "VALIDATED", nil, "KYC_SUCCEEDED"},
		{"IDENTITY_PROOF", "refuse_falsified", "REFUSED", "DOCUMENT_FALSIFIED", "KYC_FAILED"},
		{"IDENTITY_PROOF", "refuse_unreadable", "REFUSED", "DOCUMENT_UNREADABLE", "KYC_FAILED"},
		{"IDENTITY_PROOF", "refuse_underage", "REFUSED", "UNDERAGE_PERSON", "KYC_FAILED"},
		{"IDENTITY_PROOF", "some other tag", "VALIDATION_ASKED", nil, ""},
		{"ADDRESS_PROOF", "refuse_expired", "VALIDATED", nil, "KYC_SUCCEEDED"}, // validated automatically
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.tag, func(t *testing.T) {
			set := fastSettings()
			set.KycProcessingDelaySeconds = 6
			e := newEnv(t, set)
			userID := e.natural()
			doc := e.mustID(e.api("POST", "/users/"+userID+"/kyc/documents", map[string]any{"Type": tt.typ, "Tag": tt.tag}))
			require.Equal(t, 204, e.api("POST", "/users/"+userID+"/kyc/documents/"+doc+"/pages", map[string]any{"File": file(jpeg, 40<<10)}).status)
			require.Equal(t, 200, e.api("PUT", "/users/"+userID+"/kyc/documents/"+doc, map[string]any{"Status": "VALIDATION_ASKED"}).status)
			assert.Equal(t, "VALIDATION_ASKED", e.api("GET", "/kyc/documents/"+doc, nil).json()["Status"])

			e.sim.Advance(6 * time.Second)
			got := e.api("GET", "/kyc/documents/"+doc, nil).json()
			assert.Equal(t, tt.wantStatus, got["Status"])
			assert.Equal(t, tt.wantReason, got["RefusedReasonType"])
			if tt.wantEvent != "" {
				assert.NotNil(t, got["ProcessedDate"])
				evs := e.api("GET", "/events?EventType="+tt.wantEvent, nil).list()
				require.Len(t, evs, 1)
				assert.Equal(t, doc, evs[0]["ResourceId"])
			}
			list := e.api("GET", "/users/"+userID+"/kyc/documents?Status="+tt.wantStatus, nil).list()
			assert.Len(t, list, 1)
		})
	}
}

func TestDowngradeOutdatesIdentityProof(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID := e.natural()
	doc := e.mustID(e.api("POST", "/users/"+userID+"/kyc/documents", map[string]any{"Type": "IDENTITY_PROOF", "Tag": "accept"}))
	require.Equal(t, 204, e.api("POST", "/users/"+userID+"/kyc/documents/"+doc+"/pages", map[string]any{"File": file(pdf, 40<<10)}).status)
	require.Equal(t, 200, e.api("PUT", "/users/"+userID+"/kyc/documents/"+doc, map[string]any{"Status": "VALIDATION_ASKED"}).status)
	e.sim.Advance(time.Second)
	require.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"], "a validated identity proof makes a natural user REGULAR")
	require.Equal(t, 200, e.ctl("POST", "/_sim/users/"+userID+"/downgrade", nil).status)
	assert.Equal(t, "OUT_OF_DATE", e.api("GET", "/kyc/documents/"+doc, nil).json()["Status"])
	assert.Len(t, e.api("GET", "/events?EventType=KYC_OUTDATED", nil).list(), 1)
}
