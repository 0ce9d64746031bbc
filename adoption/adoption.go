// Package adoption brings users that were verified before a platform
// adopted kycflow under its watch: one watching onboarding per user (see
// workflows.Adopt), for given user IDs or every OWNER user Mangopay lists,
// paced, with progress, idempotent (run it again after an interruption).
package adoption

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// Adopter starts the watching onboardings.
type Adopter struct {
	Temporal client.Client
	// Mangopay lists the users for AllOwners; nil without it.
	Mangopay *mangopay.Client
	// ReturnURL, optional, lets an onboarding open a session at once for a
	// user who is not verified.
	ReturnURL string
	// PerSecond paces the starts (each costs the onboarding one Mangopay
	// read); 0 means 10.
	PerSecond float64
	// Progress receives one line per user and a summary; nil discards.
	Progress io.Writer
}

// Report counts what a run did.
type Report struct {
	Started, Running, Closed, Skipped, Failed int
}

func (r Report) String() string {
	return fmt.Sprintf("%d started, %d already running, %d closed (left alone), %d not OWNER (skipped), %d failed",
		r.Started, r.Running, r.Closed, r.Skipped, r.Failed)
}

// ErrSomeFailed is returned when some users could not be adopted (see the
// progress lines); running again retries them.
var ErrSomeFailed = errors.New("some users could not be adopted")

// Users adopts the given users.
func (a *Adopter) Users(ctx context.Context, userIDs []string) (Report, error) {
	var rep Report
	tick := a.pacer()
	defer tick.Stop()
	for i, id := range userIDs {
		if err := a.adoptOne(ctx, tick, id, fmt.Sprintf("%d/%d", i+1, len(userIDs)), &rep); err != nil {
			return rep, err
		}
	}
	return a.done(rep)
}

// AllOwners adopts every OWNER user Mangopay lists, page by page.
func (a *Adopter) AllOwners(ctx context.Context) (Report, error) {
	if a.Mangopay == nil {
		return Report{}, errors.New("adoption: listing the users needs a Mangopay client")
	}
	var rep Report
	tick := a.pacer()
	defer tick.Stop()
	n := 0
	for page := 1; ; page++ {
		users, pg, err := a.Mangopay.ListUsers(ctx, &mangopay.ListOptions{Page: page, PerPage: 100})
		if err != nil {
			return rep, fmt.Errorf("adoption: list users page %d: %w", page, err)
		}
		for _, u := range users {
			n++
			if !u.IsOwner() {
				rep.Skipped++
				continue
			}
			if err := a.adoptOne(ctx, tick, u.ID, fmt.Sprintf("%d", n), &rep); err != nil {
				return rep, err
			}
		}
		if len(users) == 0 || pg == nil || page >= pg.TotalPages {
			break
		}
	}
	return a.done(rep)
}

func (a *Adopter) adoptOne(ctx context.Context, tick *time.Ticker, userID, pos string, rep *Report) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tick.C:
	}
	outcome, err := workflows.Adopt(ctx, a.Temporal, userID, a.ReturnURL)
	switch {
	case errors.Is(err, workflows.ErrTemporalUnavailable):
		return fmt.Errorf("adoption stopped at %s: %w", userID, err)
	case err != nil:
		rep.Failed++
		a.printf("%s %s failed: %v\n", pos, userID, err)
		return nil
	case outcome == workflows.AdoptStarted:
		rep.Started++
	case outcome == workflows.AdoptRunning:
		rep.Running++
	case outcome == workflows.AdoptClosed:
		rep.Closed++
	}
	a.printf("%s %s %s\n", pos, userID, outcome)
	return nil
}

func (a *Adopter) done(rep Report) (Report, error) {
	a.printf("adoption: %s\n", rep)
	if rep.Failed > 0 {
		return rep, ErrSomeFailed
	}
	return rep, nil
}

func (a *Adopter) pacer() *time.Ticker {
	rate := a.PerSecond
	if rate <= 0 {
		rate = 10
	}
	return time.NewTicker(time.Duration(float64(time.Second) / rate))
}

func (a *Adopter) printf(format string, args ...any) {
	if a.Progress != nil {
		fmt.Fprintf(a.Progress, format, args...)
	}
}
