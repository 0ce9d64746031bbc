package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/temporalconn"
	"github.com/kycflow/kycflow/keyretire"
	"github.com/kycflow/kycflow/payloadcodec"
)

// retireKey is `worker retire-key [--wait D]`: with PAYLOAD_ENCRYPTION_KEY
// listing the new key first and the keys to retire after it, it seals the
// document pages again under the new key, makes every open onboarding that
// holds an old key continue as new, and says whether anything still needs
// an old key (exit 0 when nothing does, 3 otherwise).
func retireKey(env *config.Env, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("retire-key", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the onboardings asked to continue as new")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("usage: worker retire-key [--wait 2m]: %w", err)
	}
	codec, err := payloadcodec.FromEnv(env.Get)
	if err != nil {
		return err
	}
	if codec == nil || len(codec.KeyIDs()) < 2 {
		return errors.New("PAYLOAD_ENCRYPTION_KEY must list the new key first and the key(s) to retire after it")
	}
	logger := logsetup.New(env.Get)
	opts, err := temporalconn.Options(logger, env.Get)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer tc.Close()
	rdb, err := redisconn.NewPrefixed(env.Get("REDIS_URL"), env.Get("REDIS_KEY_PREFIX"))
	if err != nil {
		return err
	}
	defer rdb.Close()
	res, err := keyretire.Run(ctx, keyretire.Input{
		Temporal: tc, Codec: codec, Pages: claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(codec)), Wait: *wait,
	})
	if err != nil {
		return err
	}
	ids := codec.KeyIDs()
	fmt.Fprintf(out, "current key %s; retiring %s\n", ids[0], strings.Join(ids[1:], ", "))
	fmt.Fprintf(out, "document pages: %d, sealed again: %d, still under another key: %d\n", res.Pages.Pages, res.Pages.Resealed, res.Pages.Left)
	fmt.Fprintf(out, "open onboardings: %d, continued as new: %d, still holding an old key: %d\n", res.Open, len(res.Reencoded), len(res.Left))
	for _, id := range res.Left {
		fmt.Fprintf(out, "  %s\n", id)
	}
	if len(res.Closed) > 0 {
		// kycflow reads closed onboardings (state, timeline, the next
		// signup) for as long as Temporal keeps them.
		fmt.Fprintf(out, "closed onboardings within retention still under an old key: %d; keep the old key(s) after the new one in PAYLOAD_ENCRYPTION_KEY (decrypt only) until the namespace's retention period has passed for them\n", len(res.Closed))
	}
	if !res.Done() {
		return errNotDone
	}
	fmt.Fprintln(out, "nothing kycflow reads is under the old key(s) any more: drop them from PAYLOAD_ENCRYPTION_KEY")
	return nil
}

// errNotDone: something still needs an old key; run the command again.
var errNotDone = errors.New("something still needs the old key(s): keep them and run retire-key again")
