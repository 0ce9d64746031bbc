// Command starter starts a user's onboarding, or finds the running one, and
// prints the HostedUrl to send the user to:
//
//	go run ./starter --user-id user_m_01J... --return-url https://platform.example/kyc/done [--tag T] [--session-language fr-FR] [--json]
//	go run ./starter adopt (--user-ids user_m_1,user_m_2 | --all-owners) [--return-url URL] [--per-second 10]
//	go run ./starter needs-attention [--json]
//
// adopt brings users verified before kycflow under its watch (renewal,
// downgrades): one watching onboarding each, idempotent.
// needs-attention lists the onboardings that need a person: Mangopay
// denying access, an abandoned PSC session, notifications held, a review
// overdue, a renewal deadline within a week and no renewal session open.
//
// Signup flows written in Go call workflows.EnsureSession, the same code.
// Exit codes: 0 a usable session (or already verified), 2 bad input, 3
// Temporal unreachable, 4 the user cannot be verified (unknown, not
// eligible), 5 the onboarding failed or was cancelled, 6 the onboarding is
// still working (a slow Mangopay): run again later. A FAILED or NOT_ELIGIBLE
// onboarding stays so until an operator runs the starter with --reopen.
//
// Configuration is environment only, declared in package config
// (docs/configuration.md); `starter --print-config` prints it, secrets
// redacted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/temporalconn"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/workflows"
)

// exitError carries the exit code of a failure.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func main() {
	err := run(os.Args[1:], os.Stdout)
	var ee exitError
	switch {
	case errors.As(err, &ee):
		fmt.Fprintln(os.Stderr, "starter:", ee.err)
		os.Exit(ee.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}

// loadConfig reads the starter's configuration and parses every part of
// it, so that all its errors are reported at once.
func loadConfig(getenv func(string) string) (*config.Env, error) {
	env, err := config.Load(config.Starter, getenv)
	_, cErr := payloadcodec.FromEnv(env.Get)
	return env, config.Merge(err, cErr)
}

func run(args []string, out io.Writer) error {
	env, envErr := loadConfig(os.Getenv)
	if config.WantsPrint(args) {
		if code := config.PrintAndExit(env, envErr, out, os.Stderr); code != 0 {
			return exitError{code, errors.New("invalid configuration")}
		}
		return nil
	}
	if len(args) > 0 && args[0] == "adopt" {
		return runAdopt(env, envErr, args[1:], out)
	}
	if len(args) > 0 && args[0] == "needs-attention" {
		return runNeedsAttention(env, envErr, args[1:], out)
	}
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	userID := fs.String("user-id", "", "Mangopay user id (required)")
	returnURL := fs.String("return-url", "", "where the hosted page sends the user back (required)")
	tag := fs.String("tag", "", "custom data stored on the IDV session (at most 255 characters)")
	asJSON := fs.Bool("json", false, "print the whole result as JSON")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the session")
	lang := fs.String("session-language", "", "language of the hosted page: "+strings.Join(workflows.SessionLanguages, ", "))
	reopen := fs.Bool("reopen", false, "start a new onboarding even if the last one ended FAILED or NOT_ELIGIBLE (an operator's decision)")
	reason := fs.String("reason", "", "with --reopen: why (required; recorded with the operator's name)")
	operator := fs.String("operator", "", "with --reopen: who decides (default: KYCFLOW_OPERATOR)")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	req := workflows.EnsureSessionRequest{ReturnURL: *returnURL, Tag: *tag, SessionLanguage: *lang}
	if *reopen {
		who, why, err := operatorAction(*operator, *reason, env.Get)
		if err != nil {
			return exitError{2, fmt.Errorf("--reopen: %w", err)}
		}
		req.Actor, req.Reason = "operator:"+who, why
	}
	if *userID == "" {
		return exitError{2, errors.New("--user-id is required")}
	}
	if err := workflows.ValidateReturnURL(*returnURL); err != nil {
		return exitError{2, fmt.Errorf("--return-url: %w", err)}
	}
	if err := workflows.ValidateSessionLanguage(*lang); err != nil {
		return exitError{2, fmt.Errorf("--session-language: %w", err)}
	}
	if err := workflows.ValidateTag(*tag); err != nil {
		return exitError{2, fmt.Errorf("--tag: %w", err)}
	}

	if envErr != nil {
		return exitError{2, envErr}
	}
	// LOG_LEVEL defaults to warn for the starter: its output is the answer.
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

	ensure := workflows.EnsureSession
	if *reopen {
		ensure = workflows.Reopen
	}
	res, err := ensure(ctx, tc, *userID, req)
	switch {
	case errors.Is(err, workflows.ErrStillWorking):
		return exitError{6, fmt.Errorf("%w: the HostedUrl reaches the platform by notification; run again to read it", err)}
	case errors.Is(err, workflows.ErrTemporalUnavailable):
		return exitError{3, err}
	case errors.Is(err, workflows.ErrRejected):
		return exitError{2, err}
	case err != nil:
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	switch res.Status {
	case workflows.StatusNotEligible:
		return exitError{4, fmt.Errorf("user %s cannot be verified: %s", *userID, res.Reason)}
	case workflows.StatusFailed, workflows.StatusCancelled:
		return exitError{5, fmt.Errorf("the onboarding of %s is %s: %s", *userID, res.Status, res.Reason)}
	}
	if !*asJSON {
		if res.HostedURL != "" {
			fmt.Fprintln(out, res.HostedURL)
		} else {
			fmt.Fprintf(out, "%s (attempt %d): no session to open\n", res.Status, res.Attempt)
		}
	}
	return nil
}

func hostPort(o client.Options) string {
	if o.HostPort == "" {
		return client.DefaultHostPort
	}
	return o.HostPort
}

// operatorAction resolves the operator (--operator, else "KYCFLOW_OPERATOR") and
// checks the who and why with audit.CheckOperatorAction.
func operatorAction(operator, reason string, getenv func(string) string) (string, string, error) {
	if strings.TrimSpace(operator) == "" {
		operator = getenv("KYCFLOW_OPERATOR")
	}
	return audit.CheckOperatorAction(operator, reason)
}
