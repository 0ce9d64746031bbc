package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/temporal"
)

// A validator's rejection is a bad request, except the busy one: the run
// recorded nothing and asking again is safe.
func TestClientErrorTellsABusyRejection(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"invalid request", temporal.NewApplicationError("ReturnUrl is required", ""), ErrRejected},
		{"busy run", temporal.NewApplicationError(busyRejection+": a Mangopay call is under way; ask again shortly", ""), ErrStillWorking},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clientError(context.Background(), nil, "user_m_1", "ensure session", tt.err)
			assert.True(t, errors.Is(got, tt.want), "got %v", got)
		})
	}
}
