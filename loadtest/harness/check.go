package harness

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// The kinds of violation.
const (
	ViolationLost            = "lost"
	ViolationWrongOutcome    = "wrong-outcome"
	ViolationDuplicateIDV    = "duplicate-idv-sessions"
	ViolationDoubleNotified  = "double-transition"
	ViolationStatusChanged   = "final-status-changed"
	ViolationUnverifiedEvent = "unverified-notification"
)

// Violation is one thing a user's onboarding got wrong.
type Violation struct {
	UserID string `json:"user_id"`
	Path   Path   `json:"path"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// check looks at every user once the run has settled.
func check(ctx context.Context, sys *system, users []*userRun) []Violation {
	var out []Violation
	add := func(u *userRun, kind, format string, args ...any) {
		out = append(out, Violation{UserID: u.UserID, Path: u.Path, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	deadline := time.Now().Add(time.Minute)
	// Temporal tells what a lost user's onboarding waits on; without it
	// the violation still stands.
	tc, err := sys.temporalClient()
	if err != nil {
		tc = nil
	} else {
		defer tc.Close()
	}
	for _, u := range users {
		events := sys.obs.events(u.UserID)
		u.mu.Lock()
		done, lost, reached := u.Done, u.Lost, u.Reached
		u.mu.Unlock()
		want := expected[u.Path]
		switch {
		case !done:
			// What the platform API says now tells a slow onboarding from
			// a stuck one.
			now := "unreadable"
			var st workflows.State
			if u.UserID != "" && call(ctx, http.MethodGet, sys.apiURL+"/v1/onboardings/"+u.UserID, sys.apiToken, nil, &st) == nil {
				now = fmt.Sprintf("%s (attempt %d)", st.Status, st.Attempt)
			}
			if tc != nil {
				now += "; Temporal: " + pendingWork(ctx, tc, workflows.WorkflowID(u.UserID))
			}
			add(u, ViolationLost, "never reached %s within the deadline: %s; the platform API now says %s", want.status, lost, now)
		case reached != want.status:
			add(u, ViolationWrongOutcome, "ended %s, the simulator's decisions say %s", reached, want.status)
		}
		if u.UserID == "" {
			continue // never created: nothing more to look at
		}

		// Sessions at Mangopay, through its API.
		var sessions []mangopay.IdentityVerification
		err := retry(ctx, deadline, func() error {
			var err error
			sessions, _, err = sys.mangopay.ListIdentityVerifications(ctx, u.UserID, &mangopay.ListOptions{PerPage: 100})
			return err
		})
		switch {
		case err != nil:
			add(u, ViolationLost, "cannot list the user's IDV sessions at Mangopay: %v", err)
		case len(sessions) > want.sessions:
			pending := 0
			for _, s := range sessions {
				if s.Status == mangopay.IdentityVerificationStatus("PENDING") {
					pending++
				}
			}
			add(u, ViolationDuplicateIDV, "%d IDV sessions at Mangopay (%d PENDING), the path needs %d", len(sessions), pending, want.sessions)
		}

		// The platform's notifications: one event id per status change
		// (the poller's stand-ins have no id).
		if sys.sink != nil {
			for _, d := range doubleTransitions(events) {
				add(u, ViolationDoubleNotified, "%s", d)
			}
		}

		// The final status holds: nothing notified after it changes it, and
		// the platform API still says it.
		if !done {
			continue
		}
		for _, ev := range events {
			if ev.At.After(u.DoneAt) && strings.HasPrefix(ev.Type, "onboarding.") &&
				workflows.Status(ev.Status) != want.status {
				add(u, ViolationStatusChanged, "%s notified after the onboarding ended %s", ev.Type, want.status)
			}
		}
		var st workflows.State
		if err := retry(ctx, deadline, func() error {
			return call(ctx, http.MethodGet, sys.apiURL+"/v1/onboardings/"+u.UserID, sys.apiToken, nil, &st)
		}); err != nil {
			add(u, ViolationLost, "cannot read the final state: %v", err)
		} else if st.Status != reached {
			add(u, ViolationStatusChanged, "ended %s, reads %s after the run settled", reached, st.Status)
		}
	}
	_, rejected := sys.obs.counts()
	if rejected > 0 {
		out = append(out, Violation{Kind: ViolationUnverifiedEvent, Detail: fmt.Sprintf("%d notifications failed notify.Verify", rejected)})
	}
	return out
}

// doubleTransitions finds the status changes notified under more than one
// event id. kycflow derives an event's id from the change (type, attempt,
// session), so a retry of one notification keeps its id; two ids mean the
// change happened twice.
func doubleTransitions(events []received) []string {
	ids := map[string]map[string]bool{}
	for _, ev := range events {
		key := fmt.Sprintf("%s attempt %d session %s", ev.Type, ev.Attempt, ev.IdvSessionID)
		if ids[key] == nil {
			ids[key] = map[string]bool{}
		}
		ids[key][ev.ID] = true
	}
	var out []string
	for k, v := range ids {
		if len(v) > 1 {
			out = append(out, fmt.Sprintf("%s notified under %d event ids", k, len(v)))
		}
	}
	sort.Strings(out)
	return out
}
