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

// The activities send the fields as a Go map. The workflow reads them the
// same whichever way the error reached it: encoded into a payload and
// decoded (an activity's, a local activity's on a worker) or as the Go
// value itself (a local activity's in the test environment).
func TestRequestErrorOfReadsTheFieldsHoweverTheyCame(t *testing.T) {
	fields := map[string]string{"Tag": "too long", "ReturnUrl": "too long", "SessionLanguage": "unknown"}
	raw := temporal.NewApplicationError("One or several required parameters are missing or incorrect", mangopayParamError, fields)
	fc := temporal.GetDefaultFailureConverter()
	for name, err := range map[string]error{
		"as the Go value":   raw,
		"through a payload": fc.FailureToError(fc.ErrorToFailure(raw)),
	} {
		t.Run(name, func(t *testing.T) {
			rerr, ok := requestErrorOf(err)
			require.True(t, ok)
			assert.Equal(t, "ReturnUrl", rerr.Field)
			assert.Equal(t, []string{"ReturnUrl", "SessionLanguage", "Tag"}, rerr.Fields)
		})
	}
}
