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

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/adoption"
	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/temporalconn"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// runAdopt wires `starter adopt`: flags → Temporal (and Mangopay) clients →
// adoption.
func runAdopt(env *config.Env, envErr error, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("starter adopt", flag.ContinueOnError)
	ids := fs.String("user-ids", "", "comma-separated Mangopay user ids to adopt")
	all := fs.Bool("all-owners", false, "adopt every OWNER user Mangopay lists (needs MANGOPAY_CLIENT_ID, MANGOPAY_API_KEY and the fleet's REDIS_URL: the listing draws from the shared call budget)")
	returnURL := fs.String("return-url", "", "optional: lets an onboarding open a session at once for a user who is not verified")
	perSecond := fs.Float64("per-second", 10, "onboardings started per second (each reads the user at Mangopay once)")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	var users []string
	for _, id := range strings.Split(*ids, ",") {
		if id = strings.TrimSpace(id); id != "" {
			users = append(users, id)
		}
	}
	switch {
	case *all == (len(users) > 0):
		return exitError{2, errors.New("give either --user-ids or --all-owners")}
	case *perSecond <= 0:
		return exitError{2, errors.New("--per-second must be positive")}
	}
	if *returnURL != "" {
		if err := workflows.ValidateReturnURL(*returnURL); err != nil {
			return exitError{2, fmt.Errorf("--return-url: %w", err)}
		}
	}
	if envErr != nil {
		return exitError{2, envErr}
	}
	logger := logsetup.New(env.Get)
	opts, err := temporalconn.Options(logger, env.Get)
	if err != nil {
		return exitError{2, err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var mp *mangopay.Client
	if *all {
		// The listing is a sweep over the platform's users: it draws from the
		// fleet's call budget (the workers', in the same Redis) at background
		// priority, so it never takes what a signup needs nor runs the
		// account into Mangopay's limits.
		rdb, err := redisconn.NewPrefixed(env.Get("REDIS_URL"), env.Get("REDIS_KEY_PREFIX"))
		if err != nil {
			return exitError{2, err}
		}
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return exitError{3, fmt.Errorf("cannot reach Redis (the Mangopay call budget): %w", err)}
		}
		if mp, _, err = callbudget.NewClient(env.Get, rdb, func(c *mangopay.Config) { c.Logger = logger }); err != nil {
			return exitError{2, err}
		}
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return exitError{3, fmt.Errorf("cannot reach Temporal at %s: %w", hostPort(opts), err)}
	}
	defer tc.Close()
	a := &adoption.Adopter{Temporal: tc, Mangopay: mp, ReturnURL: *returnURL, PerSecond: *perSecond, Progress: out}
	var rep adoption.Report
	if *all {
		rep, err = a.AllOwners(mangopay.WithPriority(ctx, mangopay.PriorityBackground))
	} else {
		rep, err = a.Users(ctx, users)
	}
	switch {
	case errors.Is(err, workflows.ErrTemporalUnavailable):
		return exitError{3, err}
	case err != nil:
		return exitError{1, fmt.Errorf("%w (%s)", err, rep)}
	}
	return nil
}
