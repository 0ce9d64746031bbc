package mangopay_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/mangopay"
)

func TestEventTypeClassification(t *testing.T) {
	tests := []struct {
		in       mangopay.EventType
		resource mangopay.Resource
		topic    mangopay.Topic
	}{
		{mangopay.EventIdentityVerificationValidated, mangopay.ResourceIDVSession, mangopay.TopicSession},
		{mangopay.EventIdentityVerificationPending, mangopay.ResourceIDVSession, mangopay.TopicSession},
		{mangopay.EventIdentityVerificationOutdated, mangopay.ResourceIDVSession, mangopay.TopicSession},
		{mangopay.EventIdentityVerificationPendingPSCAction, mangopay.ResourceIDVSession, mangopay.TopicPSC},
		{mangopay.EventIdentityVerificationPSCFailed, mangopay.ResourceIDVSession, mangopay.TopicPSC},
		{mangopay.EventIdentityVerificationPSCRejected, mangopay.ResourceIDVSession, mangopay.TopicPSC},
		{"IDENTITY_VERIFICATION_PSC_SOMETHING_NEW", mangopay.ResourceIDVSession, mangopay.TopicPSC},
		{mangopay.EventKYCSucceeded, mangopay.ResourceKYCDocument, mangopay.TopicDocument},
		{mangopay.EventKYCCreated, mangopay.ResourceKYCDocument, mangopay.TopicDocument},
		{mangopay.EventUserKYCLight, mangopay.ResourceUser, mangopay.TopicLevel},
		{mangopay.EventUserKYCRegular, mangopay.ResourceUser, mangopay.TopicLevel},
		{mangopay.EventUserKYCRenewalRequired, mangopay.ResourceUser, mangopay.TopicRenewal},
		{mangopay.EventUserKYCRenewed, mangopay.ResourceUser, mangopay.TopicRenewal},
		{mangopay.EventUserKYCRenewal, mangopay.ResourceUser, mangopay.TopicNone},
		{mangopay.EventUserInflowsBlocked, mangopay.ResourceUser, mangopay.TopicScope},
		{mangopay.EventUserOutflowsUnblocked, mangopay.ResourceUser, mangopay.TopicScope},
		{mangopay.EventUserAccountClosed, mangopay.ResourceUser, mangopay.TopicNone},
		{mangopay.EventUBODeclarationValidated, mangopay.ResourceNone, mangopay.TopicNone},
		{"PAYIN_NORMAL_SUCCEEDED", mangopay.ResourceNone, mangopay.TopicNone},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			assert.Equal(t, tt.resource, tt.in.Resource())
			assert.Equal(t, tt.topic, tt.in.Topic())
		})
	}
}
