package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/attention"
	"github.com/kycflow/kycflow/workflows"
)

func TestPrintAttention(t *testing.T) {
	list := []attention.Onboarding{
		{Reason: attention.AccessDenied, WorkflowID: "kyc-user_m_1", UserID: "user_m_1"},
		{Reason: attention.ReviewOverdue, WorkflowID: "kyc-user_m_2", UserID: "user_m_2", Status: workflows.StatusInReview, Since: "2026-11-30T10:00:00Z"},
	}
	var out bytes.Buffer
	require.NoError(t, printAttention(&out, list, false))
	assert.Equal(t, "REASON                  USER      STATUS     SINCE\n"+
		"mangopay_access_denied  user_m_1  -          -\n"+
		"review_overdue          user_m_2  IN_REVIEW  2026-11-30T10:00:00Z\n", out.String())

	out.Reset()
	require.NoError(t, printAttention(&out, list, true))
	var got []attention.Onboarding
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, list, got)

	out.Reset()
	require.NoError(t, printAttention(&out, nil, true))
	assert.JSONEq(t, "[]", out.String(), "an empty list, not null")
	out.Reset()
	require.NoError(t, printAttention(&out, nil, false))
	assert.Equal(t, "no onboarding needs a person\n", out.String())
}
