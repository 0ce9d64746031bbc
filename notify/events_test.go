package notify_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/notify"
)

// TestMangopayStatusesHavePublishedEventTypes: every status of a KYC
// document or a PSC session that kycflow knows (normalized) is sent under a
// published name, the same one platforms have received so far.
func TestMangopayStatusesHavePublishedEventTypes(t *testing.T) {
	for _, s := range []mangopay.KYCDocumentStatus{
		mangopay.KYCDocumentCreated, mangopay.KYCDocumentValidationAsked, mangopay.KYCDocumentValidated,
		mangopay.KYCDocumentRefused, mangopay.KYCDocumentOutOfDate, mangopay.KYCDocumentOutdated, mangopay.KYCDocumentRejected,
	} {
		norm := string(s.Normalize())
		got := notify.DocumentEventType(norm)
		assert.Contains(t, notify.EventTypes, got, "document status %s", s)
		assert.Equal(t, "document."+strings.ToLower(norm), got)
	}
	for _, s := range []mangopay.PSCStatus{
		mangopay.PSCPendingValidation, mangopay.PSCValidated, mangopay.PSCRejected, mangopay.PSCAbandoned, "REFUSED",
	} {
		norm := string(s.Normalize())
		got := notify.PSCEventType(norm)
		assert.Contains(t, notify.EventTypes, got, "PSC status %s", s)
		assert.Equal(t, "psc."+strings.ToLower(norm), got)
	}
	assert.Equal(t, "document.some_new_status", notify.DocumentEventType("SOME_NEW_STATUS"), "an unknown status is still sent")
	assert.Equal(t, "psc.some_new_status", notify.PSCEventType("SOME_NEW_STATUS"))
}
