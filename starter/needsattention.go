package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/attention"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/temporalconn"
)

// runNeedsAttention lists the onboardings that need a person (package
// attention): `starter needs-attention [--json]`.
func runNeedsAttention(env *config.Env, envErr error, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("starter needs-attention", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the list as JSON")
	timeout := fs.Duration("timeout", time.Minute, "how long the listing may take")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	if fs.NArg() > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if envErr != nil {
		return exitError{2, envErr}
	}
	opts, err := temporalconn.Options(logsetup.New(env.Get), env.Get)
	if err != nil {
		return exitError{2, err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return exitError{3, fmt.Errorf("cannot reach Temporal at %s: %w", hostPort(opts), err)}
	}
	defer tc.Close()
	list, err := attention.List(ctx, tc, time.Now())
	if err != nil {
		return err
	}
	return printAttention(out, list, *asJSON)
}

func printAttention(out io.Writer, list []attention.Onboarding, asJSON bool) error {
	if asJSON {
		if list == nil {
			list = []attention.Onboarding{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(out, "no onboarding needs a person")
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REASON\tUSER\tSTATUS\tSINCE")
	for _, o := range list {
		status := string(o.Status)
		if status == "" {
			status = "-"
		}
		since := o.Since
		if since == "" {
			since = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", o.Reason, o.UserID, status, since)
	}
	return errors.Join(w.Flush())
}
