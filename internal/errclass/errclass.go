// Package errclass tells what an error from kycflow's dependencies (Redis,
// Temporal, Mangopay, the network) means to the code that must react: the
// event's own failure, an outage to wait out, a resource that does not
// exist, one that exists already. The webhook forwarder and the platform
// API share it.
package errclass

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

// Class is what an error means to its caller.
type Class int

const (
	// None: no error.
	None Class = iota
	// Failure: the event's own failure (Temporal refused its signal,
	// Mangopay rejected the lookup): retried, then dead-lettered.
	Failure
	// Outage: a dependency is down, overloaded, slow or refuses
	// kycflow's credentials (Redis, Temporal, Mangopay 5xx, 429, 401, 403,
	// the network), or the bridge is stopping: the entry is kept and
	// retried after a pause, and never counted against the event.
	Outage
	// NotFound: what the event names does not exist (a Mangopay 404,
	// no workflow for the user).
	NotFound
	// Exists: already there (the consumer group; a workflow whose ID
	// the start may not reuse).
	Exists
)

func (c Class) String() string {
	return [...]string{"none", "failure", "outage", "not found", "exists"}[c]
}

// Of tells what err means, by type, never by its text: messages change
// between versions and wrapping, types do not.
func Of(err error) Class {
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
		return None
	case errors.As(err, &pending):
		return Outage // Mangopay wants SCA from kycflow's account: an operator must act
	case errors.As(err, &mpErr):
		return classifyMangopay(mpErr)
	case errors.As(err, &notFound):
		return NotFound
	case errors.As(err, &started), redis.HasErrorPrefix(err, "BUSYGROUP"):
		return Exists
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, mangopay.ErrBudgetExhausted),
		errors.As(err, &unavailable), errors.As(err, &exhausted), errors.As(err, &deadline), errors.As(err, &canceled),
		errors.As(err, &denied), errors.As(err, &nsNotFound), errors.As(err, &nsUnavail),
		grpcOutage(err), redisOutage(err),
		errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Outage
	}
	return Failure
}

// classifyMangopay: only a 404 says the resource does not exist; 5xx and
// 429 are Mangopay's outages, 401 and 403 a credential or allowlist problem
// on kycflow's side; neither is the event's fault.
func classifyMangopay(e *mangopay.Error) Class {
	switch {
	case e.StatusCode == http.StatusNotFound:
		return NotFound
	case e.StatusCode >= 500, e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
		return Outage
	}
	return Failure
}

// DeadlineExceeded: the call's own deadline ran out, seen by the client
// (context.DeadlineExceeded) or first by the server, which answers
// DeadlineExceeded from the propagated timeout a little before the
// client's timer fires: a long poll that ended, not an outage.
func DeadlineExceeded(err error) bool {
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
