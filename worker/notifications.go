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
	"text/tabwriter"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/temporalconn"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/workflows"
)

const notificationsUsage = "usage: worker notifications list | resend --operator NAME --reason WHY (USER_ID... | -all)"

// checkNotificationsConfig parses what `worker notifications` uses, loaded
// by config.Load(config.Notifications): Temporal, the payload key (the held
// events are payloads), and the platform's endpoint and secrets (a closed
// onboarding's events are sent from here); every error at once.
func checkNotificationsConfig(env *config.Env, err error) error {
	_, cErr := payloadcodec.FromEnv(env.Get)
	var sErr error
	if env.Get("PLATFORM_WEBHOOK_URL") != "" {
		_, sErr = notify.ParseSecrets(env.Get("PLATFORM_WEBHOOK_SECRET"))
		if sErr != nil {
			sErr = &config.Error{Name: "PLATFORM_WEBHOOK_SECRET", Err: sErr}
		}
	}
	return config.Merge(err, cErr, sErr)
}

// notifications lists the onboardings holding platform notifications, or
// re-sends them: a running onboarding sends its own again, in order; a
// closed one's (kept in its Result) are sent from here, in order.
func notifications(env *config.Env, args []string, out io.Writer) error {
	action := "list"
	if len(args) > 0 {
		action, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("notifications "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := fs.Bool("all", false, "every onboarding that holds notifications")
	operator := fs.String("operator", "", "who re-sends (default KYCFLOW_OPERATOR): recorded in each onboarding's timeline")
	reason := fs.String("reason", "", "why (one line): recorded with the operator's name")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", notificationsUsage, err)
	}
	users := fs.Args()
	switch {
	case action == "list" && len(users) == 0 && !*all:
	case action == "resend" && *all != (len(users) > 0):
	default:
		return errors.New(notificationsUsage)
	}
	var req workflows.ResendRequest
	if action == "resend" {
		name, why, err := operatorAction(*operator, *reason, env.Get)
		if err != nil {
			return err
		}
		req = workflows.ResendRequest{Actor: audit.OperatorPrefix + name, Reason: why}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := logsetup.New(env.Get)
	opts, err := temporalconn.Options(logger, env.Get)
	if err != nil {
		return err
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer tc.Close()

	if action == "list" || *all {
		held, err := workflows.ListHeldNotifications(ctx, tc)
		if err != nil {
			return err
		}
		if action == "list" {
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "USER\tRUN\tRUN_ID\tSTATUS\tHELD\tFIRST\tREASON")
			var unread []error
			for _, h := range held {
				if h.Err != nil {
					// Listed, not hidden: and the command fails once the
					// others are shown.
					unread = append(unread, h.Err)
					fmt.Fprintf(w, "%s\t?\t%s\t?\t?\t\tcannot be read: %v\n", h.UserID, h.RunID, h.Err)
					continue
				}
				first := ""
				if len(h.Events) > 0 {
					first = h.Events[0].Type + " " + h.Events[0].ID
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", h.UserID, map[bool]string{true: "running", false: "closed"}[h.Running],
					h.RunID, h.Status, len(h.Events), first, h.Reason)
			}
			return errors.Join(append([]error{w.Flush()}, unread...)...)
		}
		for _, h := range held {
			// An unreadable one is tried too: its resend says why it fails,
			// and the others go out regardless.
			users = append(users, h.UserID)
		}
	}

	keys, _ := notify.ParseSecrets(env.Get("PLATFORM_WEBHOOK_SECRET"))
	notifier := &notify.Notifier{URL: env.Get("PLATFORM_WEBHOOK_URL"), Secrets: keys}
	send := func(ctx context.Context, ev notify.Event) error {
		if !notifier.Enabled() {
			return errors.New("PLATFORM_WEBHOOK_URL is not set: a closed onboarding's notifications are sent from this command")
		}
		return notifier.Send(ctx, ev)
	}
	var errs []error
	for _, u := range users {
		res, err := workflows.ResendNotifications(ctx, tc, u, req, send)
		switch {
		case err != nil:
			errs = append(errs, err)
			fmt.Fprintf(out, "%s: %v\n", u, err)
		case !res.WasHeld:
			fmt.Fprintf(out, "%s: nothing held (%d being sent)\n", u, res.Queued)
		default:
			fmt.Fprintf(out, "%s: %d notification(s) re-sent, in order\n", u, res.Queued)
		}
	}
	return errors.Join(errs...)
}

// operatorAction resolves the operator (--operator, else "KYCFLOW_OPERATOR") and
// checks the who and why with audit.CheckOperatorAction.
func operatorAction(operator, reason string, getenv func(string) string) (string, string, error) {
	if strings.TrimSpace(operator) == "" {
		operator = getenv("KYCFLOW_OPERATOR")
	}
	return audit.CheckOperatorAction(operator, reason)
}
