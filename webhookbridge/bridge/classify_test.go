package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/mangopay"
)

func TestClassify(t *testing.T) {
	ctx := context.Background()
	// Real Redis errors: a second XGROUP CREATE, a refused connection.
	rdb := redistest.New(t)
	stream := "kycflow:test:classify:" + redistest.Unique(t)
	t.Cleanup(func() { rdb.Del(context.Background(), stream) })
	require.NoError(t, rdb.XGroupCreateMkStream(ctx, stream, "g", "0").Err())
	busyGroup := rdb.XGroupCreateMkStream(ctx, stream, "g", "0").Err()
	require.Error(t, busyGroup)
	noGroup := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "nope", Consumer: "c", Streams: []string{stream, ">"}, Block: -1}).Err()
	refused := redistest.Unreachable(t).Ping(ctx).Err()
	require.Error(t, refused)
	expired, cancel := context.WithTimeout(ctx, -time.Second)
	defer cancel()

	tests := []struct {
		name string
		err  error
		want class
	}{
		{"nil", nil, classNone},
		{"BUSYGROUP from Redis", busyGroup, classExists},
		{"BUSYGROUP, wrapped", fmt.Errorf("create consumer group: %w", busyGroup), classExists},
		{"a message that only says BUSYGROUP", errors.New("BUSYGROUP Consumer Group name already exists"), classFailure},
		{"NOGROUP: the group was deleted under us", noGroup, classOutage},
		{"Redis refuses connections", refused, classOutage},
		{"Redis client closed", fmt.Errorf("ack: %w", redis.ErrClosed), classOutage},
		{"context deadline", expired.Err(), classOutage},
		{"the shared Mangopay call budget cannot admit the lookup yet", fmt.Errorf("mangopay: GET /users/{UserId}: %w",
			&mangopay.RateLimitedError{RetryAt: time.Now().Add(time.Minute), Err: mangopay.ErrBudgetExhausted}), classOutage},
		{"context cancelled, wrapped", fmt.Errorf("signal: %w", context.Canceled), classOutage},
		{"connection dropped mid-reply", io.ErrUnexpectedEOF, classOutage},
		{"a message that says connection refused", errors.New("dial tcp: connection refused"), classFailure},
		{"a message that says Unavailable", errors.New("Unavailable: the payload is rejected"), classFailure},

		{"Temporal unavailable", serviceerror.NewUnavailable("frontend down"), classOutage},
		{"Temporal unavailable, wrapped as the lazy client does", fmt.Errorf("failed reaching server: %w", serviceerror.NewUnavailable("x")), classOutage},
		{"Temporal overloaded", serviceerror.NewResourceExhausted(0, "busy"), classOutage},
		{"Temporal deadline", serviceerror.NewDeadlineExceeded("slow"), classOutage},
		{"Temporal refuses kycflow's credentials", serviceerror.NewPermissionDenied("no", ""), classOutage},
		{"gRPC Unauthenticated (no serviceerror type)", status.Error(codes.Unauthenticated, "bad api key"), classOutage},
		{"Temporal namespace missing", serviceerror.NewNamespaceNotFound("kycflow"), classOutage},
		{"no workflow", serviceerror.NewNotFound("workflow not found"), classNotFound},
		{"workflow ID not reusable", serviceerror.NewWorkflowExecutionAlreadyStarted("closed", "", ""), classExists},
		{"Temporal rejects the payload", serviceerror.NewInvalidArgument("too big"), classFailure},
		{"gRPC InvalidArgument", status.Error(codes.InvalidArgument, "bad"), classFailure},

		{"Mangopay 404", &mangopay.Error{StatusCode: 404, Type: mangopay.ErrTypeResourceNotFound}, classNotFound},
		{"Mangopay 404, wrapped", fmt.Errorf("look up: %w", &mangopay.Error{StatusCode: 404}), classNotFound},
		{"Mangopay 500", &mangopay.Error{StatusCode: 500}, classOutage},
		{"Mangopay 503", &mangopay.Error{StatusCode: 503}, classOutage},
		{"Mangopay 429", &mangopay.Error{StatusCode: 429}, classOutage},
		{"Mangopay 401", &mangopay.Error{StatusCode: 401}, classOutage},
		{"Mangopay 403 (IP not allowlisted)", &mangopay.Error{StatusCode: 403}, classOutage},
		{"Mangopay SCA challenge", &mangopay.PendingUserActionError{Err: &mangopay.Error{StatusCode: 401}}, classOutage},
		{"Mangopay 400", &mangopay.Error{StatusCode: 400, Type: "param_error"}, classFailure},
		{"Mangopay unreachable", &url.Error{Op: "Get", URL: "https://api.mangopay.com", Err: io.ErrUnexpectedEOF}, classOutage},

		{"anything else", errors.New("malformed stream entry 1-0"), classFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, classify(tt.err), "%v", tt.err)
		})
	}
}

// A poll's deadline seen by the server first (a DeadlineExceeded answer
// just before the client's own timer fires) is the poll's end, like the
// client's own; other errors are not.
func TestDeadlineExceeded(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"the client's deadline", expired.Err(), true},
		{"wrapped", fmt.Errorf("get update: %w", context.DeadlineExceeded), true},
		{"the server's, as the SDK converts it", serviceerror.NewDeadlineExceeded("context deadline exceeded"), true},
		{"the server's, unconverted", status.Error(codes.DeadlineExceeded, "deadline exceeded"), true},
		{"Temporal unavailable", serviceerror.NewUnavailable("down"), false},
		{"cancelled", context.Canceled, false},
		{"nil", nil, false},
	} {
		assert.Equal(t, tc.want, deadlineExceeded(tc.err), tc.name)
	}
}
