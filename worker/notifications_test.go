package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/config"
)

// TestResendNamesTheOperator: a resend is an operator's action: without
// who (--operator or KYCFLOW_OPERATOR) and why (--reason) it is refused
// before anything is sent.
func TestResendNamesTheOperator(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no reason", map[string]string{"KYCFLOW_OPERATOR": "alice"}, []string{"resend", "user_m_1"}, "--reason is required"},
		{"no operator", nil, []string{"resend", "--reason", "endpoint fixed", "user_m_1"}, "--operator (or KYCFLOW_OPERATOR) is required"},
		{"a bad operator name", nil, []string{"resend", "--operator", "alice smith", "--reason", "endpoint fixed", "-all"}, "--operator must be"},
		{"a reason of two lines", nil, []string{"resend", "--operator", "alice", "--reason", "a\nb", "user_m_1"}, "--reason must be one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"KYCFLOW_DEV": "1"}
			for k, v := range tc.env {
				vars[k] = v
			}
			env, err := config.Load(config.Notifications, func(k string) string { return vars[k] })
			require.NoError(t, err)
			assert.ErrorContains(t, notifications(env, tc.args, io.Discard), tc.want)
		})
	}
}
