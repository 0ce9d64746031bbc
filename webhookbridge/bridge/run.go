package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve runs the public and internal listeners and the forwarder (when
// b.Forwarder is set) until ctx ends, then shuts down gracefully: the listeners stop accepting and drain
// in-flight requests, then the forwarder finishes its batch.
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
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := errors.Join(runErr, public.Shutdown(sctx), internal.Shutdown(sctx))
	stopForwarder()
	if fwd != nil {
		select {
		case <-fwd.Done:
		case <-sctx.Done():
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
