package bridge

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kycflow/kycflow/mangopay"
)

// class is what an error means to the forwarder.
type class int

const (
	// classNone: no error.
	classNone class = iota
	// classFailure: the event's own failure (Temporal refused its signal,
	// Mangopay rejected the lookup): retried, then dead-lettered.
	classFailure
	// classOutage: a dependency is down, overloaded, slow or refuses
	// kycflow's credentials (Redis, Temporal, Mangopay 5xx, 429, 401, 403,
	// the network), or the bridge is stopping: the entry is kept and
	// retried after a pause, and never counted against the event.
	classOutage
	// classNotFound: what the event names does not exist (a Mangopay 404,
	// no workflow for the user).
	classNotFound
	// classExists: already there (the consumer group; a workflow whose ID
	// the start may not reuse).
	classExists
)

func (c class) String() string {
	return [...]string{"none", "failure", "outage", "not found", "exists"}[c]
}

// classify tells what err means, by type, never by its text: messages
// change between versions and wrapping, types do not.
func classify(err error) class {
	var (
		mpErr       *mangopay.Error
		pending     *mangopay.PendingUserActionError
		netErr      net.Error
		notFound    *serviceerror.NotFound
		started     *serviceerror.WorkflowExecutionAlreadyStarted
		unavailable *serviceerror.Unavailable
		exhausted   *serviceerror.ResourceExhausted
		deadline    *serviceerror.DeadlineExceeded
		canceled    *serviceerror.Canceled
		denied      *serviceerror.PermissionDenied
		nsNotFound  *serviceerror.NamespaceNotFound
		nsUnavail   *serviceerror.NamespaceUnavailable
	)
	switch {
	case err == nil:
		return classNone
	case errors.As(err, &pending):
		return classOutage // Mangopay wants SCA from kycflow's account: an operator must act
	case errors.As(err, &mpErr):
		return classifyMangopay(mpErr)
	case errors.As(err, &notFound):
		return classNotFound
	case errors.As(err, &started), redis.HasErrorPrefix(err, "BUSYGROUP"):
		return classExists
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, mangopay.ErrBudgetExhausted),
		errors.As(err, &unavailable), errors.As(err, &exhausted), errors.As(err, &deadline), errors.As(err, &canceled),
		errors.As(err, &denied), errors.As(err, &nsNotFound), errors.As(err, &nsUnavail),
		grpcOutage(err), redisOutage(err),
		errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return classOutage
	}
	return classFailure
}

// classifyMangopay: only a 404 says the resource does not exist; 5xx and
// 429 are Mangopay's outages, 401 and 403 a credential or allowlist problem
// on kycflow's side; neither is the event's fault.
func classifyMangopay(e *mangopay.Error) class {
	switch {
	case e.StatusCode == http.StatusNotFound:
		return classNotFound
	case e.StatusCode >= 500, e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
		return classOutage
	}
	return classFailure
}

// deadlineExceeded: the call's own deadline ran out, seen by the client
// (context.DeadlineExceeded) or first by the server, which answers
// DeadlineExceeded from the propagated timeout a little before the
// client's timer fires: a long poll that ended, not an outage.
func deadlineExceeded(err error) bool {
	var deadline *serviceerror.DeadlineExceeded
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline) {
		return true
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.DeadlineExceeded
}

// grpcOutage: gRPC statuses the Temporal SDK passes through unconverted
// (Unauthenticated has no serviceerror type).
func grpcOutage(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Unavailable, codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted,
		codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

// redisOutage: a closed client, an exhausted pool, or a server that cannot
// take writes now (loading, read-only replica, out of memory, failover).
func redisOutage(err error) bool {
	return errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) ||
		redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsOOMError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.HasErrorPrefix(err, "NOGROUP")
}
