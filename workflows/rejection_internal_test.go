package workflows

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// Mangopay's param_error may name several fields: every one is reported
// (Field is the first, sorted, so that replay sees the same), so that the
// platform corrects them all in one go.
func TestRequestErrorOfNamesEveryRefusedField(t *testing.T) {
	tests := []struct {
		name   string
		errors string
		field  string
		fields []string
	}{
		{"one field", `{"ReturnUrl":"too long"}`, "ReturnUrl", nil},
		{"two fields", `{"ReturnUrl":"too long","Tag":"too long"}`, "ReturnUrl", []string{"ReturnUrl", "Tag"}},
		{"no field", `{}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := temporal.NewApplicationError("One or several required parameters are missing or incorrect", mangopayParamError, json.RawMessage(tt.errors))
			rerr, ok := requestErrorOf(err)
			require.True(t, ok)
			assert.Equal(t, tt.field, rerr.Field)
			assert.Equal(t, tt.fields, rerr.Fields)
		})
	}
	_, ok := requestErrorOf(errors.New("not Mangopay's"))
	assert.False(t, ok)
}
