package harness

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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
	// ViolationTransitions: the platform was not told the path's status
	// changes, each once, in order.
	ViolationTransitions = "wrong-transitions"
	// ViolationPSCs: Mangopay lists other PSC sessions than the path
	// declared, or not all of them VALIDATED.
	ViolationPSCs = "psc-sessions"
	// ViolationDocuments: Mangopay has another number of KYC documents
	// than the platform submitted (a retry made a second one), or they did
	// not end as the simulator's Tag rule says.
	ViolationDocuments = "kyc-documents"
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
		done, lost, reached, wrong, decided := u.Done, u.Lost, u.Reached, slices.Clone(u.Wrong), slices.Clone(u.Sessions)
		u.mu.Unlock()
		want := expected[u.Path]
		switch {
		case !done:
			// What the platform API says now tells a slow onboarding from
			// a stuck one.
			now := "unreadable"
			var st workflows.StateView
			// Bounded: a CI run hung 19 minutes here on an answer that never ended.
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if u.UserID != "" && call(rctx, http.MethodGet, sys.apiURL+"/v1/onboardings/"+u.UserID, sys.apiToken, nil, &st) == nil {
				now = fmt.Sprintf("%s (attempt %d)", st.Status, st.Attempt)
			}
			cancel()
			if tc != nil {
				now += "; Temporal: " + pendingWork(ctx, tc, workflows.WorkflowID(u.UserID))
			}
			add(u, ViolationLost, "never reached %s within the deadline: %s; the platform API now says %s", want.status, lost, now)
		case reached != want.status:
			add(u, ViolationWrongOutcome, "ended %s, the simulator's decisions say %s", reached, want.status)
		}
		for _, w := range wrong {
			add(u, ViolationWrongOutcome, "%s", w)
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
		// A lost user is only checked for too many: it may have stopped
		// before its PSCs or its document.
		if want.pscs > 0 {
			checkPSCs(ctx, sys, u, want, done, deadline, add)
		}
		if want.documents > 0 {
			checkDocuments(ctx, sys, u, want, done, deadline, add)
		}

		// The final status holds: nothing notified after it changes it, and
		// the platform API still says it.
		if !done {
			continue
		}
		// Polled states miss the short ones (OUT_OF_DATE before a new
		// session): the order is checked on notifications only.
		if got := transitions(events); sys.sink != nil && !slices.Equal(got, want.transitions) {
			add(u, ViolationTransitions, "notified %v, the path's decisions lead to %v", got, want.transitions)
		}
		for _, ev := range events {
			if ev.At.After(u.DoneAt) && strings.HasPrefix(ev.Type, "onboarding.") &&
				workflows.Status(ev.Status) != want.status {
				add(u, ViolationStatusChanged, "%s notified after the onboarding ended %s", ev.Type, want.status)
			}
		}
		var st workflows.StateView
		if err := retry(ctx, deadline, func() error {
			return call(ctx, http.MethodGet, sys.apiURL+"/v1/onboardings/"+u.UserID, sys.apiToken, nil, &st)
		}); err != nil {
			add(u, ViolationLost, "cannot read the final state: %v", err)
		} else {
			if st.Status != reached {
				add(u, ViolationStatusChanged, "ended %s, reads %s after the run settled", reached, st.Status)
			}
			// One attempt per session the path needs: a session kycflow
			// opened on its own would be one more.
			if st.Attempt != want.sessions {
				add(u, ViolationWrongOutcome, "ended at attempt %d, the path needs %d sessions", st.Attempt, want.sessions)
			}
			// Expired: the expired session stays the current one (no
			// session opened for nobody), and the onboarding waits for the
			// user's next ensure-session.
			if u.Path == PathExpired && (len(decided) == 0 || st.IdvSessionID != decided[0]) {
				add(u, ViolationWrongOutcome, "EXPIRED with current session %q, not the one that expired (%v)", st.IdvSessionID, decided)
			}
		}
	}
	_, rejected := sys.obs.counts()
	if rejected > 0 {
		out = append(out, Violation{Kind: ViolationUnverifiedEvent, Detail: fmt.Sprintf("%d notifications failed the Standard Webhooks verification", rejected)})
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
		switch {
		case ev.PscID != "":
			// A PSC's change, per PSC and link (a retry gives a new one).
			key += " psc " + ev.PscID + " " + ev.HostedURL
		case ev.DocumentID != "":
			key += " document " + ev.DocumentID
		}
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

// transitions are the onboarding.<status> changes notified, in arrival
// order, each (status, attempt, session) once: a notification retried, or
// resent by a later run, is the same change.
func transitions(events []received) []workflows.Status {
	seen := map[string]bool{}
	var out []workflows.Status
	for _, ev := range events {
		if !strings.HasPrefix(ev.Type, "onboarding.") || ev.Type == "onboarding.renewal_reminder" {
			continue
		}
		key := fmt.Sprintf("%s %d %s", ev.Status, ev.Attempt, ev.IdvSessionID)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, workflows.Status(ev.Status))
	}
	return out
}

type addFunc func(u *userRun, kind, format string, args ...any)

// checkPSCs reads the user's PSC sessions at Mangopay: one per declared
// person, each VALIDATED.
func checkPSCs(ctx context.Context, sys *system, u *userRun, want expectation, done bool, deadline time.Time, add addFunc) {
	var pscs []mangopay.PSC
	if err := retry(ctx, deadline, func() error {
		var err error
		pscs, _, err = sys.mangopay.ListUserPSCs(ctx, u.UserID, &mangopay.ListOptions{PerPage: 100})
		return err
	}); err != nil {
		add(u, ViolationLost, "cannot list the user's PSC sessions at Mangopay: %v", err)
		return
	}
	var statuses []string
	validated := 0
	for _, p := range pscs {
		statuses = append(statuses, string(p.Status))
		if p.Status == mangopay.PSCValidated {
			validated++
		}
	}
	if len(pscs) > want.pscs || done && (len(pscs) != want.pscs || validated != want.pscs) {
		add(u, ViolationPSCs, "%d PSC sessions at Mangopay %v, the path declared %d, all to be VALIDATED", len(pscs), statuses, want.pscs)
	}
}

// checkDocuments reads the user's KYC documents at Mangopay and through
// the platform API: as many as submitted, each VALIDATED.
func checkDocuments(ctx context.Context, sys *system, u *userRun, want expectation, done bool, deadline time.Time, add addFunc) {
	var docs []mangopay.KYCDocument
	if err := retry(ctx, deadline, func() error {
		var err error
		docs, _, err = sys.mangopay.ListKYCDocuments(ctx, u.UserID, &mangopay.ListKYCDocumentsOptions{ListOptions: mangopay.ListOptions{PerPage: 100}})
		return err
	}); err != nil {
		add(u, ViolationLost, "cannot list the user's KYC documents at Mangopay: %v", err)
		return
	}
	var statuses []string
	for _, d := range docs {
		statuses = append(statuses, string(d.Status))
	}
	if len(docs) > want.documents || done && (len(docs) != want.documents ||
		slices.ContainsFunc(docs, func(d mangopay.KYCDocument) bool { return d.Status != mangopay.KYCDocumentValidated })) {
		add(u, ViolationDocuments, "%d KYC documents at Mangopay %v, the platform submitted %d, each to be VALIDATED", len(docs), statuses, want.documents)
	}
	var st workflows.StateView
	if err := retry(ctx, deadline, func() error {
		return call(ctx, http.MethodGet, sys.apiURL+"/v1/onboardings/"+u.UserID, sys.apiToken, nil, &st)
	}); err != nil {
		add(u, ViolationLost, "cannot read the state: %v", err)
		return
	}
	statuses = statuses[:0]
	for _, d := range st.Documents {
		statuses = append(statuses, d.Status)
	}
	if len(st.Documents) > want.documents || done && (len(st.Documents) != want.documents ||
		slices.ContainsFunc(st.Documents, func(d workflows.Document) bool { return d.Status != "VALIDATED" })) {
		add(u, ViolationDocuments, "the platform API lists %d documents %v, the platform submitted %d, each VALIDATED at Mangopay", len(st.Documents), statuses, want.documents)
	}
}
