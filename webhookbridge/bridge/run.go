package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/kycflow/kycflow/webhookbridge/platformapi"
)

// Shutdown bounds. The drain outlasts the platform API's own timeout, so
// that a call in flight is answered rather than cut off; the forwarder
// stops at once (its batch is cancelled) but acknowledges what it finished.
const (
	shutdownTimeout      = platformapi.Timeout + 5*time.Second
	forwarderStopTimeout = ackTimeout + 5*time.Second
)

// Serve runs the public and internal listeners and the forwarder (when
// b.Forwarder is set) until ctx ends, then shuts down gracefully: the
// listeners stop accepting and drain in-flight requests while the forwarder
// stops and acknowledges the entries it handled.
func (b *Bridge) Serve(ctx context.Context, publicLn, internalLn net.Listener) error {
	fwd := b.Forwarder
	public := &http.Server{
		Handler: b.PublicRouter(), ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second,
		WriteTimeout: 5 * time.Second, IdleTimeout: 90 * time.Second, MaxHeaderBytes: 16 << 10,
	}
	internal := &http.Server{
		Handler: b.InternalRouter(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 90 * time.Second,
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	b.warnIfRedisForgets(cctx)
	cancel()
	fctx, stopForwarder := context.WithCancel(context.WithoutCancel(ctx))
	defer stopForwarder()
	errc := make(chan error, 3)
	go func() { errc <- serve(public, publicLn, "public") }()
	go func() { errc <- serve(internal, internalLn, "internal") }()
	if fwd != nil {
		fwd.defaults()
		go func() { _ = fwd.Run(fctx) }()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	b.Logger.Info("shutting down: draining requests")
	stopForwarder()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := errors.Join(runErr, public.Shutdown(sctx), internal.Shutdown(sctx))
	if fwd != nil {
		select {
		case <-fwd.Done:
		case <-time.After(forwarderStopTimeout):
			err = errors.Join(err, errors.New("forwarder did not stop in time"))
		}
	}
	return err
}

func serve(srv *http.Server, ln net.Listener, name string) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	return nil
}
