package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// userRun is one user's onboarding as the harness drove and saw it.
type userRun struct {
	Index    int
	UserID   string
	Path     Path
	Started  time.Time
	Sessions []string // the sessions the harness decided, in order

	mu sync.Mutex
	// Signup is the first POST /v1/onboardings up to its HostedUrl.
	Signup time.Duration
	// Reactions: from each decision at the simulator to the notification
	// of the state it leads to.
	Reactions []time.Duration
	Done      bool
	DoneAt    time.Time
	Reached   workflows.Status // read through the platform API at the end of the path
	Lost      string           // the step it was stuck at, and why
	// Wrong is what the path saw go wrong on its way (a status read
	// between two decisions), reported as violations.
	Wrong []string

	// The steps waited on, for the time to recover after each fault.
	Steps  []step
	stepAt time.Time // the start of the step in progress
}

// driver drives users through their paths.
type driver struct {
	sys      *system
	deadline time.Duration
	done     <-chan struct{}
	// grace, when set, is the time the faults injected so far grant a
	// user in the run from a moment on (injector.grace); the user's
	// deadline moves later by it.
	grace func(from time.Time) time.Duration
}

// until is a user's deadline from start: the driver's deadline, plus what
// the faults injected around the user legitimately cost it. It is read
// again as the user waits, so a fault injected later moves it too.
func (d *driver) until(start time.Time) until {
	return func() time.Time {
		t := start.Add(d.deadline)
		if d.grace != nil {
			t = t.Add(d.grace(start))
		}
		return t
	}
}

func (d *driver) returnURL() string { return d.sys.apiURL + "/kyc/done" }

// run drives one user along their path.
func (d *driver) run(ctx context.Context, u *userRun) {
	err := d.path(ctx, u, d.until(time.Now()))
	if err != nil {
		u.abandonStep()
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		u.Lost = err.Error()
		return
	}
	u.Done, u.DoneAt = true, time.Now()
}

func (d *driver) path(ctx context.Context, u *userRun, deadline until) error {
	id, err := d.createUser(ctx, u, deadline)
	if err != nil {
		return fmt.Errorf("create the user: %w", err)
	}
	if d.sys.target != nil {
		// A deployment with users of its own: the new user must have no
		// onboarding there yet (the simulator makes the IDs; this checks
		// it).
		if err := retryUntil(ctx, deadline, func() error {
			code, err := statusOf(ctx, d.sys.apiURL+"/v1/onboardings/"+id, d.sys.apiToken)
			switch {
			case err != nil:
				return err
			case code == http.StatusNotFound:
				return nil
			case code == http.StatusOK:
				return fmt.Errorf("%w: the deployment already has an onboarding for the new user %s: the harness's users collide with its own", errPermanent, id)
			}
			return fmt.Errorf("GET /v1/onboardings/%s answered %d", id, code)
		}); err != nil {
			return fmt.Errorf("check the new user is unknown to the deployment: %w", err)
		}
	}
	u.mu.Lock()
	u.UserID, u.Started = id, time.Now()
	u.mu.Unlock()
	u.beginStep(u.Started)
	first, err := d.ensure(ctx, id, "", deadline)
	if err != nil {
		return fmt.Errorf("signup (POST /v1/onboardings): %w", err)
	}
	u.endStep(time.Now())
	u.mu.Lock()
	u.Signup = time.Since(u.Started)
	u.mu.Unlock()
	s1 := first.IdvSessionID

	switch u.Path {
	case PathValidated:
		if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified", deadline); err != nil {
			return err
		}
	case PathRefusedThenValidated:
		if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "REFUSED", Reason: "DOCUMENT_UNREADABLE"}, "onboarding.refused", deadline); err != nil {
			return err
		}
		// The user comes back: a new session without the backoff.
		u.beginStep(time.Now())
		second, err := d.ensure(ctx, id, s1, deadline)
		if err != nil {
			return fmt.Errorf("second session after the refusal: %w", err)
		}
		u.endStep(time.Now())
		if err := d.decide(ctx, u, second.IdvSessionID, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified", deadline); err != nil {
			return err
		}
	case PathReview:
		if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "REVIEW"}, "onboarding.in_review", deadline); err != nil {
			return err
		}
		if err := d.act(ctx, u, s1, "/_sim/identity-verifications/"+s1+"/review", sandbox.ReviewRequest{Decision: "VALIDATED"},
			"onboarding.verified", deadline); err != nil {
			return err
		}
	case PathDowngradedReverified:
		if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified", deadline); err != nil {
			return err
		}
		// Mangopay downgrades the user: kycflow opens a new attempt by
		// itself and tells the platform the new HostedUrl.
		at := time.Now()
		u.beginStep(at)
		if err := retryUntil(ctx, deadline, func() error {
			return call(ctx, http.MethodPost, d.sys.simURL+"/_sim/users/"+id+"/downgrade", "", nil, nil)
		}); err != nil {
			return fmt.Errorf("downgrade: %w", err)
		}
		ev, ok := d.sys.obs.waitFor(id, func(r received) bool {
			return r.Type == "onboarding.awaiting_user" && r.IdvSessionID != "" && r.IdvSessionID != s1 && r.HostedURL != ""
		}, deadline, d.done)
		if !ok {
			return fmt.Errorf("no onboarding.awaiting_user with a new session after the downgrade")
		}
		u.endStep(ev.At)
		u.mu.Lock()
		u.Reactions = append(u.Reactions, ev.At.Sub(at))
		u.mu.Unlock()
		if err := d.decide(ctx, u, ev.IdvSessionID, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified", deadline); err != nil {
			return err
		}
	case PathRefusedFinal:
		if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "REFUSED", Reason: "DOCUMENT_FALSIFIED"}, "onboarding.failed", deadline); err != nil {
			return err
		}
	case PathExpired:
		if d.sys.cfg.SessionLifetime == 0 {
			// The user never comes: Mangopay ends this session's lifetime
			// (the simulator's expire), a decision like the others. Every
			// other session keeps Mangopay's 7 days, so no fault that
			// delays a decision can make one expire first.
			if err := d.act(ctx, u, s1, "/_sim/identity-verifications/"+s1+"/expire", nil, "onboarding.expired", deadline); err != nil {
				return err
			}
			break
		}
		// A shortened lifetime (--session-lifetime): Mangopay expires the
		// session once it is over. The wait is neither a reaction nor a
		// step: no fault is behind it. It counts from the session's
		// creation: a signup slowed by the chaos takes nothing from it.
		u.mu.Lock()
		u.Sessions = appendNew(u.Sessions, s1)
		u.mu.Unlock()
		if _, ok := d.sys.obs.waitFor(id, func(r received) bool {
			return r.Type == "onboarding.expired" && r.IdvSessionID == s1
		}, d.until(time.Now()), d.done); !ok {
			return fmt.Errorf("no onboarding.expired for session %s within the deadline (from the session's creation)", s1)
		}
	case PathExtraDocument:
		if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified", deadline); err != nil {
			return err
		}
		if err := d.extraDocument(ctx, u, deadline); err != nil {
			return err
		}
	case PathBusinessPSCs:
		if err := d.businessPSCs(ctx, u, s1, deadline); err != nil {
			return err
		}
	case PathRenewal:
		if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified", deadline); err != nil {
			return err
		}
		// Mangopay asks for a renewal 90 days ahead; the user comes back
		// (ensure-session) for a renewal session.
		if err := d.act(ctx, u, s1, "/_sim/users/"+id+"/renewal", sandbox.RenewalRequest{DeadlineInDays: 90},
			"onboarding.renewal_required", deadline); err != nil {
			return err
		}
		u.beginStep(time.Now())
		renewal, err := d.ensure(ctx, id, s1, deadline)
		if err != nil {
			return fmt.Errorf("renewal session (POST /v1/onboardings while RENEWAL_REQUIRED): %w", err)
		}
		u.endStep(time.Now())
		if err := d.decide(ctx, u, renewal.IdvSessionID, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.verified", deadline); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown path %q", u.Path)
	}

	var st workflows.StateView
	if err := retryUntil(ctx, deadline, func() error {
		return call(ctx, http.MethodGet, d.sys.apiURL+"/v1/onboardings/"+id, d.sys.apiToken, nil, &st)
	}); err != nil {
		return fmt.Errorf("read the state (GET /v1/onboardings): %w", err)
	}
	u.mu.Lock()
	u.Reached = st.Status
	u.mu.Unlock()
	return nil
}

// createUser creates the user at the simulator's Mangopay API, retrying
// through the injected faults. Each try is a new user: one whose response
// was lost stays an orphan with no onboarding, which checks nothing.
func (d *driver) createUser(ctx context.Context, u *userRun, deadline until) (string, error) {
	birthday := mangopay.Timestamp(652117514)
	var id string
	err := retryUntil(ctx, deadline, func() error {
		key := fmt.Sprintf("loadtest-user-%d-%s", u.Index, randomHex(6))
		var usr *mangopay.User
		var err error
		if u.Path == PathReview || u.Path == PathBusinessPSCs {
			kind := mangopay.LegalSoletrader
			if u.Path == PathBusinessPSCs {
				kind = mangopay.LegalBusiness // PSC sessions are for businesses and organizations
			}
			usr, err = d.sys.mangopay.CreateLegalUserSCA(ctx, &mangopay.CreateLegalUserParams{
				Name: "Load Test Services", LegalPersonType: kind, Email: "contact@example.com",
				UserCategory: mangopay.UserCategoryOwner, TermsAndConditionsAccepted: true, CompanyNumber: "123456789",
				LegalRepresentative: &mangopay.LegalRepresentative{
					FirstName: "Alex", LastName: "Smith", Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
					Email: "alex+accept@example.com",
				},
				HeadquartersAddress: &mangopay.Address{AddressLine1: "3 rue de la Cité", City: "Paris", PostalCode: "75004", Country: "FR"},
				IdempotencyKey:      key,
			})
		} else {
			usr, err = d.sys.mangopay.CreateNaturalUserSCA(ctx, &mangopay.CreateNaturalUserParams{
				FirstName: "Alex", LastName: "Martin", Email: "alex.martin+accept@example.com", UserCategory: mangopay.UserCategoryOwner,
				TermsAndConditionsAccepted: true, Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
				IdempotencyKey: key,
			})
		}
		if err != nil {
			return err // the client's typed errors: retried until the deadline
		}
		id = usr.ID
		return nil
	})
	return id, err
}

// ensure calls POST /v1/onboardings until it answers a usable session
// other than not (the session a new one must replace): AWAITING_USER, or
// RENEWAL_REQUIRED with a renewal session's link.
func (d *driver) ensure(ctx context.Context, userID, not string, deadline until) (workflows.EnsureSessionResult, error) {
	var res workflows.EnsureSessionResult
	body := map[string]string{"UserId": userID, "ReturnUrl": d.returnURL()}
	err := retryUntil(ctx, deadline, func() error {
		res = workflows.EnsureSessionResult{}
		if err := call(ctx, http.MethodPost, d.sys.apiURL+"/v1/onboardings", d.sys.apiToken, body, &res); err != nil {
			return err
		}
		if (res.Status != workflows.StatusAwaitingUser && res.Status != workflows.StatusRenewal) || res.HostedURL == "" || res.IdvSessionID == not {
			return fmt.Errorf("answered %s (session %s), not a new session awaiting the user", res.Status, res.IdvSessionID)
		}
		return nil
	})
	return res, err
}

// decide posts the session's outcome and waits for the notification it
// leads to.
func (d *driver) decide(ctx context.Context, u *userRun, sessionID string, o sandbox.OutcomeRequest, want string, deadline until) error {
	return d.act(ctx, u, sessionID, "/_sim/identity-verifications/"+sessionID+"/outcome", o, want, deadline)
}

// act posts a decision to the simulator's control API and waits for the
// platform to be told the state it leads to.
func (d *driver) act(ctx context.Context, u *userRun, sessionID, path string, body any, want string, deadline until) error {
	_, err := d.actUntil(ctx, u, sessionID, path, body, want+" for session "+sessionID,
		func(r received) bool { return r.Type == want && r.IdvSessionID == sessionID }, deadline)
	return err
}

// actUntil posts a decision to the simulator's control API and waits for
// the first notification that matches.
func (d *driver) actUntil(ctx context.Context, u *userRun, sessionID, path string, body any, what string,
	match func(received) bool, deadline until) (received, error) {
	u.mu.Lock()
	u.Sessions = appendNew(u.Sessions, sessionID)
	u.mu.Unlock()
	at := time.Now()
	u.beginStep(at)
	if err := retryUntil(ctx, deadline, func() error { return call(ctx, http.MethodPost, d.sys.simURL+path, "", body, nil) }); err != nil {
		return received{}, fmt.Errorf("POST %s: %w", path, err)
	}
	ev, ok := d.sys.obs.waitFor(u.UserID, match, deadline, d.done)
	if !ok {
		return received{}, fmt.Errorf("no %s within the deadline", what)
	}
	u.endStep(ev.At)
	u.mu.Lock()
	u.Reactions = append(u.Reactions, ev.At.Sub(at))
	u.mu.Unlock()
	return ev, nil
}

// The extra document: its type (a natural user's), and the Sandbox Tag
// rule that makes Mangopay validate it.
const (
	extraDocumentType = "ADDRESS_PROOF"
	extraDocumentTag  = "accept"
)

// extraDocument: Mangopay asks the verified user for one more document;
// the platform submits it through its API and is told Mangopay validated
// it.
func (d *driver) extraDocument(ctx context.Context, u *userRun, deadline until) error {
	id := u.UserID
	key := fmt.Sprintf("loadtest-doc-%d-%s", u.Index, randomHex(6))
	at := time.Now()
	u.beginStep(at)
	var doc workflows.SubmitDocumentResult
	uploading := false // answered 202: the result is polled, not posted again
	err := retryUntil(ctx, deadline, func() error {
		if uploading {
			res, found, err := documentResult(ctx, d.sys.apiURL, d.sys.apiToken, id, key)
			if !found {
				uploading = false // the submission never reached the workflow: post it again
				return errors.New("the platform API knows no submission under the key")
			}
			doc = res
			return err
		}
		res, err := postDocument(ctx, d.sys.apiURL, d.sys.apiToken, id, extraDocumentType, extraDocumentTag, key)
		if errors.Is(err, errStillUploading) {
			uploading = true
		}
		doc = res
		return err
	})
	if err != nil {
		return fmt.Errorf("submit the extra document (POST /v1/onboardings/%s/documents): %w", id, err)
	}
	ev, ok := d.sys.obs.waitFor(id, func(r received) bool {
		return r.Type == "document.validated" && r.DocumentID == doc.KycDocumentID
	}, deadline, d.done)
	if !ok {
		return fmt.Errorf("no document.validated for %s within the deadline", doc.KycDocumentID)
	}
	u.endStep(ev.At)
	return nil
}

// businessPSCs: the business declares two PSCs, its main session is
// validated (AWAITING_PSCS), then each PSC session is validated; the
// onboarding must stay AWAITING_PSCS until the last one, when Mangopay says
// REGULAR, and only then be VERIFIED.
func (d *driver) businessPSCs(ctx context.Context, u *userRun, s1 string, deadline until) error {
	id := u.UserID
	if err := retryUntil(ctx, deadline, func() error {
		return call(ctx, http.MethodPut, d.sys.simURL+"/_sim/users/"+id+"/pscs", "", sandbox.PscsRequest{Persons: pscPersons}, nil)
	}); err != nil {
		return fmt.Errorf("declare the PSCs: %w", err)
	}
	if err := d.decide(ctx, u, s1, sandbox.OutcomeRequest{Outcome: "VALIDATED"}, "onboarding.awaiting_pscs", deadline); err != nil {
		return err
	}
	// The platform learns each PSC session (and its link) from psc.*
	// notifications.
	var pscs []string
	for len(pscs) < len(pscPersons) {
		ev, ok := d.sys.obs.waitFor(id, func(r received) bool {
			return r.Type == "psc.pending_validation" && r.PscID != "" && !slices.Contains(pscs, r.PscID)
		}, deadline, d.done)
		if !ok {
			return fmt.Errorf("%d of the %d PSC sessions notified (psc.pending_validation) within the deadline", len(pscs), len(pscPersons))
		}
		pscs = append(pscs, ev.PscID)
	}
	for i, pscID := range pscs {
		path := "/_sim/pscs/" + pscID + "/outcome"
		body := sandbox.PscOutcomeRequest{Outcome: sandbox.PscValidated}
		if i == len(pscs)-1 {
			return d.act(ctx, u, s1, path, body, "onboarding.verified", deadline)
		}
		if _, err := d.actUntil(ctx, u, s1, path, body, "psc.validated for "+pscID, func(r received) bool {
			return r.Type == "psc.validated" && r.PscID == pscID
		}, deadline); err != nil {
			return err
		}
		// kycflow has read the PSC validated: with one still pending,
		// Mangopay's level is not REGULAR, so neither is the onboarding
		// VERIFIED.
		var st workflows.StateView
		if err := retryUntil(ctx, deadline, func() error {
			return call(ctx, http.MethodGet, d.sys.apiURL+"/v1/onboardings/"+id, d.sys.apiToken, nil, &st)
		}); err != nil {
			return fmt.Errorf("read the state between the PSCs (GET /v1/onboardings): %w", err)
		}
		if wrong := verifiedEarly(st.Status, d.sys.obs.events(id)); wrong != "" {
			u.mu.Lock()
			u.Wrong = append(u.Wrong, fmt.Sprintf("with %d of %d PSC sessions validated %s, Mangopay is not REGULAR yet", i+1, len(pscs), wrong))
			u.mu.Unlock()
		}
	}
	return nil
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// verifiedEarly tells what is wrong with a business whose PSC sessions are
// not all validated: it must read AWAITING_PSCS, and the platform must not
// have been told it is verified.
func verifiedEarly(status workflows.Status, events []received) string {
	notified := slices.ContainsFunc(events, func(r received) bool { return r.Type == "onboarding.verified" })
	switch {
	case notified:
		return fmt.Sprintf("onboarding.verified was notified (the onboarding reads %s)", status)
	case status != workflows.StatusAwaitingPSCs:
		return fmt.Sprintf("the onboarding reads %s", status)
	}
	return ""
}
