package harness

import (
	"context"
	"fmt"
	"net/http"
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

	// The steps waited on, for the time to recover after each fault.
	Steps  []step
	stepAt time.Time // the start of the step in progress
}

// driver drives users through their paths.
type driver struct {
	sys      *system
	deadline time.Duration
	done     <-chan struct{}
}

func (d *driver) returnURL() string { return d.sys.apiURL + "/kyc/done" }

// run drives one user along their path.
func (d *driver) run(ctx context.Context, u *userRun) {
	deadline := time.Now().Add(d.deadline)
	err := d.path(ctx, u, deadline)
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

func (d *driver) path(ctx context.Context, u *userRun, deadline time.Time) error {
	id, err := d.createUser(ctx, u, deadline)
	if err != nil {
		return fmt.Errorf("create the user: %w", err)
	}
	if d.sys.target != nil {
		// A deployment with users of its own: the new user must have no
		// onboarding there yet (the simulator makes the IDs; this checks
		// it).
		if err := retry(ctx, deadline, func() error {
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
		if err := retry(ctx, deadline, func() error {
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
	default:
		return fmt.Errorf("unknown path %q", u.Path)
	}

	var st workflows.State
	if err := retry(ctx, deadline, func() error {
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
func (d *driver) createUser(ctx context.Context, u *userRun, deadline time.Time) (string, error) {
	birthday := mangopay.Timestamp(652117514)
	var id string
	err := retry(ctx, deadline, func() error {
		key := fmt.Sprintf("loadtest-user-%d-%s", u.Index, randomHex(6))
		var usr *mangopay.User
		var err error
		if u.Path == PathReview {
			usr, err = d.sys.mangopay.CreateLegalUserSCA(ctx, &mangopay.CreateLegalUserParams{
				Name: "Load Test Services", LegalPersonType: mangopay.LegalPersonType("SOLETRADER"), Email: "contact@example.com",
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
// other than not (the session a new one must replace).
func (d *driver) ensure(ctx context.Context, userID, not string, deadline time.Time) (workflows.EnsureSessionResult, error) {
	var res workflows.EnsureSessionResult
	body := map[string]string{"UserId": userID, "ReturnUrl": d.returnURL()}
	err := retry(ctx, deadline, func() error {
		res = workflows.EnsureSessionResult{}
		if err := call(ctx, http.MethodPost, d.sys.apiURL+"/v1/onboardings", d.sys.apiToken, body, &res); err != nil {
			return err
		}
		if res.Status != workflows.StatusAwaitingUser || res.HostedURL == "" || res.IdvSessionID == not {
			return fmt.Errorf("answered %s (session %s), not a new session awaiting the user", res.Status, res.IdvSessionID)
		}
		return nil
	})
	return res, err
}

// decide posts the session's outcome and waits for the notification it
// leads to.
func (d *driver) decide(ctx context.Context, u *userRun, sessionID string, o sandbox.OutcomeRequest, want string, deadline time.Time) error {
	return d.act(ctx, u, sessionID, "/_sim/identity-verifications/"+sessionID+"/outcome", o, want, deadline)
}

// act posts a decision to the simulator's control API and waits for the
// platform to be told the state it leads to.
func (d *driver) act(ctx context.Context, u *userRun, sessionID, path string, body any, want string, deadline time.Time) error {
	u.mu.Lock()
	u.Sessions = appendNew(u.Sessions, sessionID)
	u.mu.Unlock()
	at := time.Now()
	u.beginStep(at)
	if err := retry(ctx, deadline, func() error { return call(ctx, http.MethodPost, d.sys.simURL+path, "", body, nil) }); err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	ev, ok := d.sys.obs.waitFor(u.UserID, func(r received) bool { return r.Type == want && r.IdvSessionID == sessionID }, deadline, d.done)
	if !ok {
		return fmt.Errorf("no %s for session %s within the deadline", want, sessionID)
	}
	u.endStep(ev.At)
	u.mu.Lock()
	u.Reactions = append(u.Reactions, ev.At.Sub(at))
	u.mu.Unlock()
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
