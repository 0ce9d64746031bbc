package sdkcompat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

const (
	sdkPackage = "mangopay4-nodejs-sdk"
	// kycDelaySeconds keeps a submitted document in VALIDATION_ASKED until
	// the test moves the simulated clock, so both phases see a fixed status.
	kycDelaySeconds = 60
	nodeTimeout     = 2 * time.Minute
	npmTimeout      = 5 * time.Minute
)

// TestOfficialNodeSDK runs compat.mjs, which drives Mangopay's official Node.js
// SDK, against the simulator, validates the IDV session through the control
// API, and runs the script again to read the outcome back through the SDK.
//
// Each subtest covers one area of the script and also fails on any mismatch
// the script itself reported in that area.
func TestOfficialNodeSDK(t *testing.T) {
	node := requireNode(t)
	installSDK(t)

	sink := newHookSink(t) // before the simulator: closed after it
	sim := startSim(t)
	hookURL := sink.srv.URL + "/mangopay/hooks"

	run := runScript(t, node, sim.url, "--phase", "run", "--hook-url", hookURL)
	var s runSummary
	require.NoError(t, json.Unmarshal(run.stdout, &s), "phase run printed no JSON summary:\n%s", run.stdout)

	t.Run("SDK", func(t *testing.T) {
		assert.Equal(t, sdkPackage, s.SDK.Name)
		assert.Equal(t, pinnedVersion(t), s.SDK.Version)
		assert.Equal(t, "run", s.Phase)
	})

	t.Run("users", func(t *testing.T) {
		assert.Regexp(t, `^user_m_`, s.Natural.ID)
		assert.Equal(t, "NATURAL", s.Natural.PersonType)
		assert.Equal(t, "OWNER", s.Natural.UserCategory)
		assert.Equal(t, "ACTIVE", s.Natural.UserStatus, "the accept email bypasses SCA")
		assert.Equal(t, "LIGHT", s.Natural.KYCLevel)
		assert.Equal(t, s.Natural.ID, s.Natural.GetSca.ID)
		assert.Equal(t, "Alex", s.Natural.GetSca.FirstName)
		assert.Equal(t, s.Natural.ID, s.Natural.Get.ID)

		assert.Equal(t, "PENDING_USER_ACTION", s.SCAEnrolment.UserStatus)
		assert.True(t, strings.HasPrefix(s.SCAEnrolment.RedirectURL, sim.url+"/"),
			"PendingUserAction.RedirectUrl %q should point at the simulator %s", s.SCAEnrolment.RedirectURL, sim.url)

		assert.Regexp(t, `^user_m_`, s.Legal.ID)
		assert.Equal(t, "LEGAL", s.Legal.PersonType)
		assert.Equal(t, "BUSINESS", s.Legal.LegalPersonType)
		assert.Equal(t, "ACTIVE", s.Legal.UserStatus)
		assert.Equal(t, "Alex", s.Legal.LegalRepresentativeFirstName)

		assert.Equal(t, "PAYER", s.Payer.UserCategory)
		noFailures(t, s.Failures, "users")
	})

	// The SDK's typed getters call GET /users/natural/{id}, /users/legal/{id},
	// /sca/users/natural/{id} and /sca/users/legal/{id}.
	t.Run("typed user getters", func(t *testing.T) {
		for _, name := range []string{"Users.getNatural", "Users.getNaturalSca", "Users.getLegal", "Users.getLegalSca"} {
			g, found := s.TypedGetters[name]
			if !assert.True(t, found, "%s was not exercised", name) {
				continue
			}
			assert.True(t, g.OK, "%s was rejected: %s", name, g.Error)
		}
		if g := s.TypedGetters["Users.getNaturalSca"]; g.OK {
			assert.Equal(t, s.Natural.ID, g.ID)
		}
		if g := s.TypedGetters["Users.getLegalSca"]; g.OK {
			assert.Equal(t, s.Legal.ID, g.ID)
		}
		noFailures(t, s.Failures, "typedGetters")
	})

	t.Run("identity verification", func(t *testing.T) {
		assert.Regexp(t, `^idnver_`, s.Session.ID)
		assert.Equal(t, "PENDING", s.Session.Status)
		assert.True(t, strings.HasPrefix(s.Session.HostedURL, sim.url+"/"),
			"HostedUrl %q should point at the simulator %s", s.Session.HostedURL, sim.url)
		assert.Equal(t, "https://example.com/kyc/back", s.Session.ReturnURL)
		assert.Equal(t, s.Session.ID, s.Session.Get.ID)
		assert.Equal(t, "PENDING", s.Session.Get.Status)
		assert.Equal(t, s.Natural.ID, s.Session.Get.UserID)
		assert.Equal(t, s.Session.HostedURL, s.Session.Get.HostedURL)
		assert.Equal(t, []string{s.Session.ID}, s.Session.List.IDs)
		assert.Equal(t, "1", s.Session.List.XNumberOfItems)
		noFailures(t, s.Failures, "identityVerification")
	})

	t.Run("rate limit headers", func(t *testing.T) {
		require.Len(t, s.RateLimits, 4, "the SDK parses X-RateLimit, X-RateLimit-Remaining and X-RateLimit-Reset into four windows")
		for i, minutes := range []int{15, 30, 60, 1440} {
			assert.Equal(t, minutes, s.RateLimits[i].MinutesInterval, "window %d", i)
			assert.Positive(t, s.RateLimits[i].CallsMade, "window %d", i)
			assert.Positive(t, s.RateLimits[i].CallsRemaining, "window %d", i)
		}
		noFailures(t, s.Failures, "rateLimits")
	})

	t.Run("idempotency", func(t *testing.T) {
		assert.Equal(t, "200", s.Idempotency.StatusCode)
		assert.Equal(t, s.Session.ID, s.Idempotency.ResourceID, "GET /responses/{key} returns the session created with the key")
		assert.Contains(t, s.Idempotency.ContentType, "application/json")
		assert.Equal(t, "idempotent_creation_conflict", s.Errors.IdempotencyReuse.Type)
		noFailures(t, s.Failures, "idempotency")
	})

	t.Run("errors", func(t *testing.T) {
		e := s.Errors.UnknownUser
		assert.Equal(t, "param_error", e.Type)
		assert.NotEmpty(t, e.Errors["UserId"], "errors.UserId")
		assert.NotEmpty(t, e.ID)
		assert.NotEmpty(t, e.Message)
		assert.NotNil(t, e.Date)

		assert.Equal(t, "invalid_action", s.Errors.Payer.Type)
		assert.NotEmpty(t, s.Errors.Payer.Message)

		assert.Equal(t, "ressource_not_found", s.Errors.UnknownSession.Type)
		assert.NotEmpty(t, s.Errors.UnknownSession.Errors["RessourceNotFound"])

		assert.Equal(t, "invalid_client", s.Errors.BadCredentials.Error, "the SDK surfaces the OAuth error body")
		noFailures(t, s.Failures, "errors")
	})

	t.Run("kyc document", func(t *testing.T) {
		assert.Regexp(t, `^kyc_`, s.KYC.ID)
		assert.Equal(t, "IDENTITY_PROOF", s.KYC.Type)
		assert.Equal(t, "CREATED", s.KYC.Status)
		assert.Equal(t, s.Natural.ID, s.KYC.UserID)
		assert.Equal(t, "accept", s.KYC.Tag)
		assert.GreaterOrEqual(t, s.KYC.PageBytes, 32<<10)
		assert.Equal(t, "VALIDATION_ASKED", s.KYC.SubmittedStatus)
		assert.Equal(t, "VALIDATION_ASKED", s.KYC.ReadBack.Status)
		assert.Nil(t, s.KYC.ReadBack.ProcessedDate)
		assert.Equal(t, s.KYC.ID, s.KYC.GetByID.ID)
		assert.Equal(t, []string{s.KYC.ID}, s.KYC.Listed)
		assert.Equal(t, "param_error", s.Errors.PageTooSmall.Type)
		assert.NotEmpty(t, s.Errors.PageTooSmall.Errors["File"])
		noFailures(t, s.Failures, "kyc")
	})

	t.Run("hooks", func(t *testing.T) {
		assert.Regexp(t, `^hook_m_`, s.Hook.ID)
		assert.Equal(t, "IDENTITY_VERIFICATION_VALIDATED", s.Hook.EventType)
		assert.Equal(t, hookURL, s.Hook.URL)
		assert.Equal(t, "ENABLED", s.Hook.Status)
		assert.Equal(t, "VALID", s.Hook.Validity)
		assert.Equal(t, []string{s.Hook.ID}, s.Hook.Listed)
		assert.Equal(t, "param_error", s.Errors.DuplicateHook.Type)
		assert.NotEmpty(t, s.Errors.DuplicateHook.Errors["EventType"])
		noFailures(t, s.Failures, "hooks")
	})

	// Hooks.update sends the whole hook back, EventType included (unchanged).
	t.Run("hook update", func(t *testing.T) {
		assert.True(t, s.HookUpdate.OK, "PUT /hooks/{id} with the SDK's body was rejected: %s", s.HookUpdate.Error)
		if s.HookUpdate.OK {
			assert.Equal(t, hookURL+"?v=2", s.HookUpdate.URL)
		}
		noFailures(t, s.Failures, "hookUpdate")
	})

	t.Run("events", func(t *testing.T) {
		for _, typ := range []string{"IDENTITY_VERIFICATION_PENDING", "KYC_CREATED", "KYC_VALIDATION_ASKED"} {
			assert.Contains(t, s.Events.Types, typ)
		}
		assert.Equal(t, []eventRef{{EventType: "KYC_VALIDATION_ASKED", ResourceID: s.KYC.ID}}, s.Events.Filtered)
		noFailures(t, s.Failures, "events")
	})

	// The SDK's typings name the paging options Page and Per_Page; the docs
	// write page and per_page.
	t.Run("pagination", func(t *testing.T) {
		assert.Equal(t, 2, s.Pagination["per_page"].Count, "documented spelling")
		assert.Equal(t, 2, s.Pagination["Per_Page"].Count, "the SDK typings' spelling: %+v", s.Pagination["Per_Page"])
		noFailures(t, s.Failures, "pagination")
	})

	t.Run("script", func(t *testing.T) {
		noFailures(t, s.Failures, "setup")
		assert.Equal(t, len(s.Failures) == 0, run.exitCode == 0, "exit code %d disagrees with %d reported failures", run.exitCode, len(s.Failures))
		for _, f := range s.Failures {
			assert.Contains(t, knownAreas, f.Area, "a failure in an area no subtest covers: %+v", f)
		}
	})

	require.NotEmpty(t, s.Session.ID, "phase run created no IDV session; cannot go on")
	require.NotEmpty(t, s.KYC.ID, "phase run created no KYC document; cannot go on")
	require.NotEmpty(t, s.Hook.ID, "phase run created no hook; cannot go on")

	// Validate the session as a tester would on the hosted page, and let the
	// document's Sandbox processing delay pass.
	var landed struct{ Status string }
	sim.ctl(t, "/_sim/identity-verifications/"+s.Session.ID+"/outcome", sandbox.OutcomeRequest{Outcome: "VALIDATED"}, &landed)
	require.Equal(t, "VALIDATED", landed.Status)
	sim.ctl(t, "/_sim/clock/advance", sandbox.AdvanceRequest{Seconds: kycDelaySeconds + 60}, nil)
	// Give the verified user a KYC renewal deadline for Users.getRegulatory.
	var regulatory struct {
		KycInformation struct{ LastKycDate, KycRenewalDeadline string }
	}
	sim.ctl(t, "/_sim/users/"+s.Natural.ID+"/renewal", sandbox.RenewalRequest{DeadlineInDays: 90}, &regulatory)
	require.NotEmpty(t, regulatory.KycInformation.KycRenewalDeadline)

	verify := runScript(t, node, sim.url, "--phase", "verify",
		"--user-id", s.Natural.ID, "--session-id", s.Session.ID, "--doc-id", s.KYC.ID, "--hook-id", s.Hook.ID)
	var v verifySummary
	require.NoError(t, json.Unmarshal(verify.stdout, &v), "phase verify printed no JSON summary:\n%s", verify.stdout)

	t.Run("after the outcome", func(t *testing.T) {
		assert.Equal(t, "verify", v.Phase)
		assert.Equal(t, "VALIDATED", v.Session.Status)
		assert.Equal(t, s.Natural.ID, v.Session.UserID)
		assert.NotEmpty(t, v.Session.Checks)
		for _, c := range v.Session.Checks {
			assert.Equal(t, "VALIDATED", c.CheckStatus, "check %s", c.Type)
		}
		assert.Contains(t, v.Session.List, sessionRef{ID: s.Session.ID, Status: "VALIDATED"})
		assert.Equal(t, "REGULAR", v.Natural.KYCLevel)
		assert.Equal(t, "VALIDATED", v.KYC.Status)
		assert.NotNil(t, v.KYC.ProcessedDate)
		assert.Contains(t, v.KYC.ValidatedIDs, s.KYC.ID)
		assert.Equal(t, "ENABLED", v.Hook.Status)
		assert.Contains(t, v.Events, eventRef{EventType: "IDENTITY_VERIFICATION_VALIDATED", ResourceID: s.Session.ID})
		assert.Contains(t, v.Events, eventRef{EventType: "KYC_SUCCEEDED", ResourceID: s.KYC.ID})
		assert.Contains(t, v.Events, eventRef{EventType: "USER_KYC_REGULAR", ResourceID: s.Natural.ID})
		assert.Empty(t, v.Failures, "compat.mjs reported mismatches in phase verify")
		assert.Zero(t, verify.exitCode)
	})

	t.Run("regulatory status", func(t *testing.T) {
		assert.Equal(t, s.Natural.ID, v.Regulatory.ID)
		assert.Equal(t, regulatory.KycInformation.KycRenewalDeadline, v.Regulatory.KycInformation.KycRenewalDeadline)
		assert.Equal(t, regulatory.KycInformation.LastKycDate, v.Regulatory.KycInformation.LastKycDate)
		noFailures(t, v.Failures, "regulatory")
	})

	t.Run("webhook from the hook the SDK registered", func(t *testing.T) {
		require.Eventually(t, func() bool {
			return slices.ContainsFunc(sink.received(), func(q url.Values) bool {
				return q.Get("EventType") == "IDENTITY_VERIFICATION_VALIDATED" && q.Get("RessourceId") == s.Session.ID
			})
		}, 10*time.Second, 10*time.Millisecond, "no IDENTITY_VERIFICATION_VALIDATED notification for %s; got %v", s.Session.ID, sink.received())
	})
}

// TestLockfileHasNoForeignTarballs checks that package-lock.json downloads
// nothing from outside the npm registry.
func TestLockfileHasNoForeignTarballs(t *testing.T) {
	raw, err := os.ReadFile("package-lock.json")
	require.NoError(t, err)
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Resolved  string `json:"resolved"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	require.NoError(t, json.Unmarshal(raw, &lock))
	sdk, found := lock.Packages["node_modules/"+sdkPackage]
	require.True(t, found, "the lockfile does not pin %s", sdkPackage)
	assert.Equal(t, pinnedVersion(t), sdk.Version)
	for name, p := range lock.Packages {
		if name == "" {
			continue
		}
		assert.NotEmpty(t, p.Integrity, "%s has no integrity hash", name)
		if p.Resolved != "" {
			assert.True(t, strings.HasPrefix(p.Resolved, "https://registry.npmjs.org/"), "%s resolves to %s", name, p.Resolved)
		}
	}
}

// The script's summaries, as far as the test reads them.

type failure struct {
	Area   string `json:"area"`
	Check  string `json:"check"`
	Detail string `json:"detail"`
}

type mangoError struct {
	Type    string            `json:"Type"`
	Message string            `json:"Message"`
	ID      string            `json:"Id"`
	Date    *float64          `json:"Date"`
	Errors  map[string]string `json:"errors"`
}

func (e *mangoError) String() string {
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s %q errors=%v", e.Type, e.Message, e.Errors)
}

type eventRef struct {
	EventType  string `json:"EventType"`
	ResourceID string `json:"ResourceId"`
}

type sessionRef struct {
	ID     string `json:"Id"`
	Status string `json:"Status"`
}

type runSummary struct {
	SDK struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"sdk"`
	Phase    string    `json:"phase"`
	Failures []failure `json:"failures"`
	Natural  struct {
		ID           string `json:"Id"`
		PersonType   string `json:"PersonType"`
		UserCategory string `json:"UserCategory"`
		UserStatus   string `json:"UserStatus"`
		KYCLevel     string `json:"KYCLevel"`
		GetSca       struct {
			ID        string `json:"Id"`
			FirstName string `json:"FirstName"`
		} `json:"getSca"`
		Get struct {
			ID string `json:"Id"`
		} `json:"get"`
	} `json:"natural"`
	SCAEnrolment struct {
		UserStatus  string `json:"UserStatus"`
		RedirectURL string `json:"RedirectUrl"`
	} `json:"scaEnrolment"`
	Legal struct {
		ID                           string `json:"Id"`
		PersonType                   string `json:"PersonType"`
		LegalPersonType              string `json:"LegalPersonType"`
		UserStatus                   string `json:"UserStatus"`
		LegalRepresentativeFirstName string `json:"LegalRepresentativeFirstName"`
	} `json:"legal"`
	Payer struct {
		UserCategory string `json:"UserCategory"`
	} `json:"payer"`
	TypedGetters map[string]struct {
		OK    bool        `json:"ok"`
		ID    string      `json:"Id"`
		Error *mangoError `json:"error"`
	} `json:"typedGetters"`
	Session struct {
		ID        string `json:"Id"`
		Status    string `json:"Status"`
		HostedURL string `json:"HostedUrl"`
		ReturnURL string `json:"ReturnUrl"`
		Get       struct {
			ID        string `json:"Id"`
			Status    string `json:"Status"`
			UserID    string `json:"UserId"`
			HostedURL string `json:"HostedUrl"`
		} `json:"get"`
		List struct {
			IDs            []string `json:"ids"`
			XNumberOfItems string   `json:"xNumberOfItems"`
		} `json:"list"`
	} `json:"session"`
	RateLimits []struct {
		CallsMade       int `json:"callsMade"`
		CallsRemaining  int `json:"callsRemaining"`
		MinutesInterval int `json:"minutesInterval"`
	} `json:"rateLimits"`
	Idempotency struct {
		StatusCode  string `json:"StatusCode"`
		ContentType string `json:"ContentType"`
		ResourceID  string `json:"ResourceId"`
	} `json:"idempotency"`
	Errors struct {
		IdempotencyReuse mangoError `json:"idempotencyReuse"`
		UnknownUser      mangoError `json:"unknownUser"`
		Payer            mangoError `json:"payer"`
		UnknownSession   mangoError `json:"unknownSession"`
		PageTooSmall     mangoError `json:"pageTooSmall"`
		DuplicateHook    mangoError `json:"duplicateHook"`
		BadCredentials   struct {
			Error string `json:"error"`
		} `json:"badCredentials"`
	} `json:"errors"`
	KYC struct {
		ID              string `json:"Id"`
		Type            string `json:"Type"`
		Status          string `json:"Status"`
		UserID          string `json:"UserId"`
		Tag             string `json:"Tag"`
		PageBytes       int    `json:"pageBytes"`
		SubmittedStatus string `json:"submittedStatus"`
		ReadBack        struct {
			Status        string `json:"Status"`
			ProcessedDate *int64 `json:"ProcessedDate"`
		} `json:"readBack"`
		GetByID struct {
			ID string `json:"Id"`
		} `json:"getById"`
		Listed []string `json:"listed"`
	} `json:"kyc"`
	Hook struct {
		ID        string   `json:"Id"`
		EventType string   `json:"EventType"`
		URL       string   `json:"Url"`
		Status    string   `json:"Status"`
		Validity  string   `json:"Validity"`
		Listed    []string `json:"listed"`
	} `json:"hook"`
	HookUpdate struct {
		OK    bool        `json:"ok"`
		URL   string      `json:"Url"`
		Error *mangoError `json:"error"`
	} `json:"hookUpdate"`
	Events struct {
		Types    []string   `json:"types"`
		Filtered []eventRef `json:"filtered"`
	} `json:"events"`
	Pagination map[string]struct {
		Count          int    `json:"count"`
		XNumberOfItems string `json:"xNumberOfItems"`
	} `json:"pagination"`
}

type verifySummary struct {
	Phase    string    `json:"phase"`
	Failures []failure `json:"failures"`
	Session  struct {
		Status string `json:"Status"`
		UserID string `json:"UserId"`
		Checks []struct {
			Type        string `json:"Type"`
			CheckStatus string `json:"CheckStatus"`
		} `json:"Checks"`
		List []sessionRef `json:"list"`
	} `json:"session"`
	Natural struct {
		KYCLevel string `json:"KYCLevel"`
	} `json:"natural"`
	KYC struct {
		Status        string   `json:"Status"`
		ProcessedDate *int64   `json:"ProcessedDate"`
		ValidatedIDs  []string `json:"validatedIds"`
	} `json:"kyc"`
	Hook struct {
		Status string `json:"Status"`
	} `json:"hook"`
	Events     []eventRef `json:"events"`
	Regulatory struct {
		ID             string `json:"Id"`
		KycInformation struct {
			LastKycDate        string `json:"LastKycDate"`
			KycRenewalDeadline string `json:"KycRenewalDeadline"`
		} `json:"KycInformation"`
	} `json:"regulatory"`
}

// knownAreas are the areas compat.mjs files its checks under in phase run.
var knownAreas = []string{
	"setup", "users", "typedGetters", "identityVerification", "rateLimits", "idempotency",
	"errors", "kyc", "hooks", "hookUpdate", "events", "pagination",
}

// noFailures fails t with every mismatch compat.mjs reported in area.
func noFailures(t *testing.T, failures []failure, area string) {
	t.Helper()
	for _, f := range failures {
		if f.Area == area {
			t.Errorf("compat.mjs [%s] %s: %s", f.Area, f.Check, f.Detail)
		}
	}
}

// Running the script.

type scriptResult struct {
	stdout   []byte
	exitCode int
}

// runScript runs compat.mjs with the simulator's URL and credentials in the
// environment. Exit code 1 means the script ran and reported mismatches,
// which the subtests turn into failures; anything else is fatal.
func runScript(t *testing.T, node, baseURL string, args ...string) scriptResult {
	t.Helper()
	// Reading the script makes it part of go test's cache key.
	_, err := os.ReadFile("compat.mjs")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"compat.mjs"}, args...)...)
	cmd.Env = append(os.Environ(),
		"MANGOPAY_BASE_URL="+baseURL,
		"MANGOPAY_CLIENT_ID="+sandbox.DefaultClientID,
		"MANGOPAY_API_KEY="+sandbox.DefaultAPIKey,
	)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := scriptResult{stdout: stdout.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
		res.exitCode = 1
		t.Logf("compat.mjs %s reported mismatches:\n%s", strings.Join(args[:2], " "), stderr.String())
	default:
		t.Fatalf("node compat.mjs %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return res
}

// requireNode returns the path of a Node.js of version 20 or later, or skips.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("Node.js is not installed, so Mangopay's official Node.js SDK cannot be run against the simulator; install Node.js 20+ to run this test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	require.NoError(t, err, "node --version")
	version := strings.TrimSpace(string(out))
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	require.NoError(t, err, "cannot read node version %q", version)
	if major < 20 {
		t.Skipf("Node.js %s is too old for compat.mjs (needs 20+), so the official SDK cannot be run against the simulator", version)
	}
	return node
}

// pinnedVersion is the SDK version package.json pins.
func pinnedVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("package.json")
	require.NoError(t, err)
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	require.NoError(t, json.Unmarshal(raw, &pkg))
	v := pkg.Dependencies[sdkPackage]
	require.Regexp(t, `^\d+\.\d+\.\d+$`, v, "package.json must pin %s to an exact version", sdkPackage)
	return v
}

func installedVersion() string {
	raw, err := os.ReadFile("node_modules/" + sdkPackage + "/package.json")
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(raw, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// npmUnreachable matches npm's messages for a registry it cannot reach.
var npmUnreachable = regexp.MustCompile(`(?i)ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network request to|request to https?://\S+ failed|FetchError|socket hang up`)

// installSDK runs npm ci unless node_modules already holds the pinned SDK.
func installSDK(t *testing.T) {
	t.Helper()
	want := pinnedVersion(t)
	if installedVersion() == want {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skipf("npm is not installed, so %s@%s cannot be installed into node_modules; install npm to run this test", sdkPackage, want)
	}
	ctx, cancel := context.WithTimeout(t.Context(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Env = os.Environ()
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil || npmUnreachable.Match(out) {
			t.Skipf("npm could not reach the npm registry to install %s@%s, so the official SDK cannot be exercised: %v\n%s", sdkPackage, want, err, out)
		}
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	require.Equal(t, want, installedVersion(), "npm ci did not install %s@%s", sdkPackage, want)
}

// The simulator and a webhook receiver on loopback.

type simServer struct {
	url string
	srv *httptest.Server
}

func startSim(t *testing.T) *simServer {
	t.Helper()
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds = 0
	set.KycProcessingDelaySeconds = kycDelaySeconds
	// The listener exists before the server starts, so the simulator can be
	// told its own URL (for HostedUrl links) before it serves anything.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sim := sandbox.New(sandbox.Config{PublicURL: base, Settings: set, Seed: 42})
	srv.Config.Handler = sim.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	return &simServer{url: base, srv: srv}
}

// ctl calls the control API and decodes its answer into out (if not nil).
func (s *simServer) ctl(t *testing.T, path string, body, out any) {
	t.Helper()
	buf, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+path, bytes.NewReader(buf))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "POST %s: %s", path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "POST %s: %s", path, raw)
	}
}

// hookSink records the query of every webhook notification it receives.
type hookSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
}

func newHookSink(t *testing.T) *hookSink {
	t.Helper()
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.got = append(h.got, r.URL.Query())
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) received() []url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}
