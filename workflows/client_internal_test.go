package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// A validator's rejection is a bad request, except the busy one: the run
// recorded nothing and asking again is safe. An update Temporal dropped
// before the run accepted it is to be asked again too, but nothing works
// on it meanwhile (Temporal unavailable, not still working). One dropped by a closing run is not
// asked again of whatever run comes next: there is no onboarding to take it.
func TestClientErrorTellsABusyRejection(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"invalid request", temporal.NewApplicationError("ReturnUrl is required", ""), ErrRejected},
		{"busy run", temporal.NewApplicationError(busyRejection+": a Mangopay call is under way; ask again shortly", ""), ErrStillWorking},
		{"update dropped by a failed workflow task", serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure."), ErrTemporalUnavailable},
		{"update dropped by a closing run", serviceerror.NewNotFound("workflow update was aborted by closing workflow"), ErrNoOnboarding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clientError(context.Background(), nil, "user_m_1", "ensure session", tt.err)
			assert.True(t, errors.Is(got, tt.want), "got %v", got)
		})
	}
}

// An update Temporal dropped before the run took it (a workflow task failed
// on the server, or the run closed under it) is asked again, a bounded
// number of times; any other error is the caller's at once.
func TestAnAbortedUpdateIsAskedAgain(t *testing.T) {
	taskFailed := serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")
	closing := serviceerror.NewNotFound("workflow update was aborted by closing workflow")
	tests := []struct {
		name      string
		errs      []error // the answers, in order; nil after them
		wantCalls int
		wantErr   error
	}{
		{"workflow task failed once", []error{taskFailed}, 2, nil},
		{"run closed under the update", []error{fmt.Errorf("ensure session: %w", closing)}, 2, nil},
		{"a refusal is not asked again", []error{ErrRejected}, 1, ErrRejected},
		{"no onboarding is not asked again", []error{serviceerror.NewNotFound("workflow not found")}, 1, nil},
		{"bounded", slices.Repeat([]error{taskFailed}, abortedUpdateRetries+5), abortedUpdateRetries + 1, taskFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			_, err := retryAborted(context.Background(), func() (int, error) {
				calls++
				if calls <= len(tt.errs) {
					return 0, tt.errs[calls-1]
				}
				return 1, nil
			})
			assert.Equal(t, tt.wantCalls, calls)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else if tt.wantCalls == 1 {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}
