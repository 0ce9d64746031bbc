package errclass

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
		want Class
	}{
		{"nil", nil, None},
		{"BUSYGROUP from Redis", busyGroup, Exists},
		{"BUSYGROUP, wrapped", fmt.Errorf("create consumer group: %w", busyGroup), Exists},
		{"a message that only says BUSYGROUP", errors.New("BUSYGROUP Consumer Group name already exists"), Failure},
		{"NOGROUP: the group was deleted under us", noGroup, Outage},
		{"Redis refuses connections", refused, Outage},
		{"Redis client closed", fmt.Errorf("ack: %w", redis.ErrClosed), Outage},
		{"context deadline", expired.Err(), Outage},
		{"the shared Mangopay call budget cannot admit the lookup yet", fmt.Errorf("mangopay: GET /users/{UserId}: %w",
			&mangopay.RateLimitedError{RetryAt: time.Now().Add(time.Minute), Err: mangopay.ErrBudgetExhausted}), Outage},
		{"context cancelled, wrapped", fmt.Errorf("signal: %w", context.Canceled), Outage},
		{"connection dropped mid-reply", io.ErrUnexpectedEOF, Outage},
		{"a message that says connection refused", errors.New("dial tcp: connection refused"), Failure},
		{"a message that says Unavailable", errors.New("Unavailable: the payload is rejected"), Failure},

		{"Temporal unavailable", serviceerror.NewUnavailable("frontend down"), Outage},
		{"Temporal unavailable, wrapped as the lazy client does", fmt.Errorf("failed reaching server: %w", serviceerror.NewUnavailable("x")), Outage},
		{"Temporal overloaded", serviceerror.NewResourceExhausted(0, "busy"), Outage},
		{"Temporal deadline", serviceerror.NewDeadlineExceeded("slow"), Outage},
		{"Temporal refuses kycflow's credentials", serviceerror.NewPermissionDenied("no", ""), Outage},
		{"gRPC Unauthenticated (no serviceerror type)", status.Error(codes.Unauthenticated, "bad api key"), Outage},
		{"Temporal namespace missing", serviceerror.NewNamespaceNotFound("kycflow"), Outage},
		{"no workflow", serviceerror.NewNotFound("workflow not found"), NotFound},
		{"workflow ID not reusable", serviceerror.NewWorkflowExecutionAlreadyStarted("closed", "", ""), Exists},
		{"Temporal rejects the payload", serviceerror.NewInvalidArgument("too big"), Failure},
		{"gRPC InvalidArgument", status.Error(codes.InvalidArgument, "bad"), Failure},

		{"Mangopay 404", &mangopay.Error{StatusCode: 404, Type: mangopay.ErrTypeResourceNotFound}, NotFound},
		{"Mangopay 404, wrapped", fmt.Errorf("look up: %w", &mangopay.Error{StatusCode: 404}), NotFound},
		{"Mangopay 500", &mangopay.Error{StatusCode: 500}, Outage},
		{"Mangopay 503", &mangopay.Error{StatusCode: 503}, Outage},
		{"Mangopay 429", &mangopay.Error{StatusCode: 429}, Outage},
		{"Mangopay 401", &mangopay.Error{StatusCode: 401}, Outage},
		{"Mangopay 403 (IP not allowlisted)", &mangopay.Error{StatusCode: 403}, Outage},
		{"Mangopay SCA challenge", &mangopay.PendingUserActionError{Err: &mangopay.Error{StatusCode: 401}}, Outage},
		{"Mangopay 400", &mangopay.Error{StatusCode: 400, Type: "param_error"}, Failure},
		{"Mangopay unreachable", &url.Error{Op: "Get", URL: "https://api.mangopay.com", Err: io.ErrUnexpectedEOF}, Outage},

		{"anything else", errors.New("malformed stream entry 1-0"), Failure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Of(tt.err), "%v", tt.err)
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
		assert.Equal(t, tc.want, DeadlineExceeded(tc.err), tc.name)
	}
}
