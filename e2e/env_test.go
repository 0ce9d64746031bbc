package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/net/html"

	"github.com/kycflow/kycflow/devstack/stack"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/workflows"
)

// Waits on public state. They are generous: they bound a wait, they never
// assert how fast anything is.
const (
	waitTimeout  = time.Minute
	pollInterval = 100 * time.Millisecond
	callTimeout  = 30 * time.Second
)

// envLog streams the stack's logs to stderr as they come when set; they are
// otherwise printed only when a test fails.
const envLog = "KYCFLOW_E2E_LOG"

// env is the running system and the means to drive it as the outside world
// does.
type env struct {
	s         *stack.Stack
	http      *http.Client // follows no redirect: the tests look at them
	returnURL string       // where the hosted page sends users back
}

// startEnv starts the stack on free ports with an in-memory Temporal, no
// Web UI, and a simulator whose outcomes land in well under a second. It
// stops when the test ends.
func startEnv(t *testing.T) *env {
	t.Helper()
	redisURL := stackRedisURL(t)
	logs := &logBuffer{}
	var w io.Writer = logs
	if os.Getenv(envLog) != "" {
		w = io.MultiWriter(logs, os.Stderr)
	}
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds = 0.5     // the webhook follows the redirect, as on Mangopay
	set.KycProcessingDelaySeconds = 2 // the document is VALIDATION_ASKED when the API answers
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	s, err := stack.Start(ctx, stack.Options{
		TemporalHostPort: "", // the dev server picks a free port itself
		SimAddr:          "127.0.0.1:0", BridgePublicAddr: "127.0.0.1:0", BridgeInternalAddr: "127.0.0.1:0",
		PlatformAddr: "127.0.0.1:0", WorkerHTTPAddr: "127.0.0.1:0",
		RedisURL: redisURL, PathToken: randomHex(16), APIToken: randomHex(16),
		SimSettings: set,
		Logger:      slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Logf("stack logs:\n%s", logs.tail(64<<10))
		t.Fatalf("start the stack: %v", err)
	}
	t.Logf("stack ready in %s (redis %s, embedded %v)", time.Since(start).Round(10*time.Millisecond), redactURL(s.RedisURL), s.RedisEmbedded)
	t.Cleanup(func() {
		stopped := time.Now()
		s.Stop()
		t.Logf("stack stopped in %s", time.Since(stopped).Round(10*time.Millisecond))
	})
	t.Cleanup(func() { // runs before Stop
		if t.Failed() {
			t.Logf("last stack logs:\n%s", logs.tail(64<<10))
		}
	})
	return &env{
		s:         s,
		http:      &http.Client{Timeout: callTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		returnURL: s.PlatformURL + "/kyc/done",
	}
}

// The platform API's answers, with the contract's field names.
type (
	// session answers POST /v1/onboardings (and the ensure-session update).
	session struct {
		UserID       string           `json:"UserId"`
		Status       workflows.Status `json:"Status"`
		Reason       string           `json:"Reason"`
		IdvSessionID string           `json:"IdvSessionId"`
		HostedURL    string           `json:"HostedUrl"`
		ExpiresAt    string           `json:"ExpiresAt"`
		Attempt      int              `json:"Attempt"`
	}
	// onboarding answers GET /v1/onboardings/{id}.
	onboarding struct {
		UserID       string           `json:"UserId"`
		UserType     string           `json:"UserType"`
		Status       workflows.Status `json:"Status"`
		Reason       string           `json:"Reason"`
		Attempt      int              `json:"Attempt"`
		IdvSessionID string           `json:"IdvSessionId"`
		HostedURL    string           `json:"HostedUrl"`
		ExpiresAt    string           `json:"ExpiresAt"`
		ReviewSince  string           `json:"ReviewSince"`
		PSCs         []workflows.PSC  `json:"PSCs"`
		// RenewalDeadline is set while RENEWAL_REQUIRED.
		RenewalDeadline string        `json:"RenewalDeadline"`
		Documents       []document    `json:"Documents"`
		History         []pastAttempt `json:"History"`
	}
	document struct {
		KycDocumentID     string `json:"KycDocumentId"`
		Type              string `json:"Type"`
		Status            string `json:"Status"`
		RefusedReasonType string `json:"RefusedReasonType"`
	}
	pastAttempt struct {
		Attempt      int      `json:"Attempt"`
		IdvSessionID string   `json:"IdvSessionId"`
		Status       string   `json:"Status"`
		Reasons      []string `json:"Reasons"`
	}
	// submitted answers POST /v1/onboardings/{id}/documents.
	submitted struct {
		KycDocumentID string `json:"KycDocumentId"`
		Status        string `json:"Status"`
	}
)

// Users, created at the simulator's Mangopay API as a platform would.

var birthday = mangopay.Timestamp(652117514)

// newNaturalUser creates a natural OWNER. "+accept" in the email is the
// Sandbox's bypass of SCA enrolment.
func (e *env) newNaturalUser(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	u, err := e.s.Mangopay.CreateNaturalUserSCA(ctx, &mangopay.CreateNaturalUserParams{
		FirstName: "Alex", LastName: "Martin", Email: "alex.martin+accept@example.com", UserCategory: mangopay.UserCategoryOwner,
		TermsAndConditionsAccepted: true, Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
	})
	require.NoError(t, err, "create a natural user")
	return u.ID
}

// newLegalUser creates a legal OWNER of the given type.
func (e *env) newLegalUser(t *testing.T, kind mangopay.LegalPersonType) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	u, err := e.s.Mangopay.CreateLegalUserSCA(ctx, &mangopay.CreateLegalUserParams{
		Name: "Martin Services", LegalPersonType: kind, Email: "contact+accept@example.com",
		UserCategory: mangopay.UserCategoryOwner, TermsAndConditionsAccepted: true, CompanyNumber: "123456789",
		LegalRepresentative: &mangopay.LegalRepresentative{
			FirstName: "Alex", LastName: "Martin", Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
			Email: "alex.martin+accept@example.com",
		},
		HeadquartersAddress: &mangopay.Address{AddressLine1: "3 rue de la Cité", City: "Paris", PostalCode: "75004", Country: "FR"},
	})
	require.NoError(t, err, "create a legal user")
	return u.ID
}

// The platform API.

// api calls the platform API with the bearer token and decodes a 200 answer
// into out.
func (e *env) api(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	e.jsonCall(t, method, e.s.BridgeInternalURL+path, true, body, out)
}

// jsonCall sends body as JSON and decodes a 200 answer into out.
func (e *env) jsonCall(t *testing.T, method, rawURL string, auth bool, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	res := e.do(t, method, rawURL, "application/json", rd, auth)
	require.Equal(t, http.StatusOK, res.status, "%s %s: %s", method, rawURL, res.body)
	if out != nil {
		require.NoError(t, json.Unmarshal(res.body, out), "%s %s: decode %s", method, rawURL, res.body)
	}
}

// response is an answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do makes one request and reads the answer.
func (e *env) do(t *testing.T, method, rawURL, contentType string, body io.Reader, auth bool) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	require.NoError(t, err)
	if contentType != "" && body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+e.s.APIToken)
	}
	res, err := e.http.Do(req)
	require.NoError(t, err, "%s %s", method, rawURL)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// startOnboarding is the signup flow's call: POST /v1/onboardings.
func (e *env) startOnboarding(t *testing.T, userID string) session {
	t.Helper()
	var s session
	e.api(t, http.MethodPost, "/v1/onboardings", map[string]string{"UserId": userID, "ReturnUrl": e.returnURL}, &s)
	return s
}

// startWithConfig starts the onboarding the way workflows.EnsureSession does
// (update-with-start), with a workflow Config: what a scenario needs when it
// must not wait for the default 15-minute reconciliation.
func (e *env) startWithConfig(t *testing.T, userID string, cfg workflows.Config) session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c := e.s.Temporal
	op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(userID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrUserID.ValueSet(userID), workflows.SearchAttrStatus.ValueSet(string(workflows.StatusStarting)),
		),
	}, workflows.WorkflowType, workflows.Input{UserID: userID, ReturnURL: e.returnURL, Config: cfg})
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: workflows.UpdateEnsureSession, Args: []any{workflows.EnsureSessionRequest{ReturnURL: e.returnURL}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	require.NoError(t, err, "update-with-start %s", workflows.WorkflowID(userID))
	var res workflows.EnsureSessionResult
	require.NoError(t, h.Get(ctx, &res), "ensure-session of %s", workflows.WorkflowID(userID))
	return session{
		UserID: res.UserID, Status: res.Status, Reason: res.Reason, IdvSessionID: res.IdvSessionID,
		HostedURL: res.HostedURL, ExpiresAt: res.ExpiresAt, Attempt: res.Attempt,
	}
}

// requireAwaitingUser checks a fresh session the user can open.
func requireAwaitingUser(t *testing.T, s session, attempt int) {
	t.Helper()
	requireSessionStatus(t, s, workflows.StatusAwaitingUser, attempt)
}

// requireSessionStatus: an open session (its link, its expiry) in that
// status: AWAITING_USER, or RENEWAL_REQUIRED for a renewal session.
func requireSessionStatus(t *testing.T, s session, status workflows.Status, attempt int) {
	t.Helper()
	require.Equal(t, status, s.Status, "status of %+v", s)
	require.Equal(t, attempt, s.Attempt, "attempt of %+v", s)
	require.NotEmpty(t, s.IdvSessionID, "IdvSessionId of %+v", s)
	require.NotEmpty(t, s.HostedURL, "HostedUrl of %+v", s)
	_, err := time.Parse(time.RFC3339, s.ExpiresAt)
	require.NoError(t, err, "ExpiresAt of %+v", s)
}

// state reads GET /v1/onboardings/{id}.
func (e *env) state(t *testing.T, userID string) onboarding {
	t.Helper()
	var o onboarding
	e.api(t, http.MethodGet, "/v1/onboardings/"+userID, nil, &o)
	return o
}

// waitState polls the platform API until cond holds and returns that state.
func (e *env) waitState(t *testing.T, userID, what string, cond func(onboarding) bool) onboarding {
	t.Helper()
	var last onboarding
	eventually(t, what, func() (bool, string) {
		last = e.state(t, userID)
		return cond(last), fmt.Sprintf("%+v", last)
	})
	return last
}

// waitStatus waits until the onboarding has the status.
func (e *env) waitStatus(t *testing.T, userID string, want workflows.Status) onboarding {
	t.Helper()
	return e.waitState(t, userID, "status "+string(want), func(o onboarding) bool { return o.Status == want })
}

// eventually polls check until it reports true, failing the test with the
// last observation after waitTimeout.
func eventually(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, seen := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", waitTimeout, what, seen)
		}
		time.Sleep(pollInterval)
	}
}

// submitDocument posts a KYC document to the platform API as multipart
// form data: Type, Tag and one Pages file per page.
func (e *env) submitDocument(t *testing.T, userID, typ, tag string, pages ...[]byte) submitted {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("Type", typ))
	require.NoError(t, mw.WriteField("Tag", tag))
	for i, p := range pages {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="Pages"; filename="page-%d.pdf"`, i+1))
		h.Set("Content-Type", "application/pdf")
		fw, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = fw.Write(p)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	res := e.do(t, http.MethodPost, e.s.BridgeInternalURL+"/v1/onboardings/"+userID+"/documents", mw.FormDataContentType(), &body, true)
	require.Equal(t, http.StatusOK, res.status, "POST documents: %s", res.body)
	var out submitted
	require.NoError(t, json.Unmarshal(res.body, &out), "decode %s", res.body)
	return out
}

// pdfPage is a PDF of at least size bytes: the simulator only looks at the
// magic number and the size.
func pdfPage(size int) []byte {
	b := []byte("%PDF-1.4\n% kycflow end-to-end test page\n")
	for len(b) < size {
		b = append(b, "% padding padding padding padding padding padding padding\n"...)
	}
	return append(b, "%%EOF\n"...)
}

// The hosted verification page, as a browser without JavaScript uses it.

// hostedForm is what the page's #outcome form would submit.
type hostedForm struct {
	action string
	values url.Values
	checks []string // the checks the page asks about, in page order
}

// completePage opens the HostedUrl, answers every check VALIDATED except the
// refused ones (check type → reason type, "" for the page's default reason),
// submits, and checks that the page sends the user back to the ReturnUrl.
func (e *env) completePage(t *testing.T, hostedURL string, refused map[string]string) {
	t.Helper()
	page := e.do(t, http.MethodGet, hostedURL, "", nil, false)
	require.Equal(t, http.StatusOK, page.status, "GET the HostedUrl: %s", page.body)
	f := parseHostedForm(t, page.body)
	require.NotEmpty(t, f.action, "the page has no #outcome form:\n%s", page.body)
	require.NotEmpty(t, f.values.Get("sessionId"), "the form has no sessionId")
	for _, c := range f.checks {
		f.values.Set("check."+c, "VALIDATED")
	}
	for c, reason := range refused {
		require.Contains(t, f.checks, c, "the page does not ask about %s", c)
		f.values.Set("check."+c, "REFUSED")
		if reason != "" {
			f.values.Set("reason."+c, reason)
		}
	}
	base, err := url.Parse(hostedURL)
	require.NoError(t, err)
	action, err := base.Parse(f.action)
	require.NoError(t, err)
	res := e.do(t, http.MethodPost, action.String(), "application/x-www-form-urlencoded", strings.NewReader(f.values.Encode()), false)
	require.Equal(t, http.StatusSeeOther, res.status, "submit the hosted page: %s", res.body)
	require.Equal(t, e.returnURL, res.header.Get("Location"), "where the page sends the user")
}

// parseHostedForm reads the #outcome form: hidden inputs, the checked radio
// of each group, the first option of each select and the checks' fieldsets.
func parseHostedForm(t *testing.T, page []byte) hostedForm {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	f := hostedForm{values: url.Values{}}
	attr := func(n *html.Node, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	var walk func(n *html.Node, inForm bool)
	walk = func(n *html.Node, inForm bool) {
		if n.Type == html.ElementNode {
			name, _ := attr(n, "name")
			switch n.Data {
			case "form":
				if id, _ := attr(n, "id"); id == "outcome" {
					f.action, _ = attr(n, "action")
					inForm = true
				}
			case "fieldset":
				if c, ok := attr(n, "data-check"); ok && inForm {
					f.checks = append(f.checks, c)
				}
			case "input":
				typ, _ := attr(n, "type")
				_, checked := attr(n, "checked")
				if inForm && (typ == "hidden" || typ == "radio" && checked) {
					v, _ := attr(n, "value")
					f.values.Set(name, v)
				}
			case "select":
				for c := n.FirstChild; c != nil && inForm; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "option" {
						v, _ := attr(c, "value")
						f.values.Set(name, v)
						break
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	return f
}

// The simulator's control API.

// sim calls the control API and decodes a 200 answer into out.
func (e *env) sim(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	e.jsonCall(t, method, e.s.SimURL+path, false, body, out)
}

// setFaults replaces the simulator's faults until the test ends, then puts
// back the ones it found.
func (e *env) setFaults(t *testing.T, f map[string]any) {
	t.Helper()
	var before map[string]any
	e.sim(t, http.MethodGet, "/_sim/faults", nil, &before)
	e.sim(t, http.MethodPut, "/_sim/faults", f, nil)
	t.Cleanup(func() { e.sim(t, http.MethodPut, "/_sim/faults", before, nil) })
}

// deliveries reads the simulator's webhook delivery log for one event type
// and resource.
func (e *env) deliveries(t *testing.T, eventType, resourceID string) []sandbox.Delivery {
	t.Helper()
	var out []sandbox.Delivery
	e.sim(t, http.MethodGet, "/_sim/webhooks?"+url.Values{"EventType": {eventType}, "ResourceId": {resourceID}}.Encode(), nil, &out)
	return out
}

// waitDeliveries waits until the log holds n deliveries with the result.
func (e *env) waitDeliveries(t *testing.T, eventType, resourceID, result string, n int) []sandbox.Delivery {
	t.Helper()
	var got []sandbox.Delivery
	eventually(t, fmt.Sprintf("%d %s %s of %s", n, result, eventType, resourceID), func() (bool, string) {
		all := e.deliveries(t, eventType, resourceID)
		got = slices.DeleteFunc(all, func(d sandbox.Delivery) bool { return d.Result != result })
		return len(got) >= n, fmt.Sprintf("%+v", all)
	})
	return got
}

// The platform's side.

// events returns the notifications the platform got about a user, once each
// (a platform deduplicates on the event Id, which Temporal's retries keep).
func (e *env) events(userID string) []notify.Event {
	var out []notify.Event
	seen := map[string]bool{}
	for _, ev := range e.s.Platform.Events() {
		if ev.UserID == userID && !seen[ev.ID] {
			seen[ev.ID] = true
			out = append(out, ev)
		}
	}
	return out
}

// waitEvents waits until the platform has been told each of the types about
// the user, and returns every notification it got about them.
func (e *env) waitEvents(t *testing.T, userID string, types ...string) []notify.Event {
	t.Helper()
	var got []notify.Event
	eventually(t, "platform notifications "+strings.Join(types, ", "), func() (bool, string) {
		got = e.events(userID)
		for _, typ := range types {
			if !slices.ContainsFunc(got, func(ev notify.Event) bool { return ev.Type == typ }) {
				return false, eventTypes(got)
			}
		}
		return true, ""
	})
	return got
}

// waitEvent waits until the platform has been told about the user what
// match looks for, and returns that notification.
func (e *env) waitEvent(t *testing.T, userID, what string, match func(notify.Event) bool) notify.Event {
	t.Helper()
	var found notify.Event
	eventually(t, "platform notification: "+what, func() (bool, string) {
		evs := e.events(userID)
		i := slices.IndexFunc(evs, match)
		if i < 0 {
			return false, eventTypes(evs)
		}
		found = evs[i]
		return true, ""
	})
	return found
}

func eventTypes(evs []notify.Event) string {
	types := make([]string, len(evs))
	for i, ev := range evs {
		types[i] = ev.Type
	}
	return "[" + strings.Join(types, " ") + "]"
}

// Temporal, as an operator sees it.

// waitVisible waits until a visibility query lists the user's onboarding.
func (e *env) waitVisible(t *testing.T, userID, query string) {
	t.Helper()
	q := fmt.Sprintf("WorkflowId=%q AND %s", workflows.WorkflowID(userID), query)
	eventually(t, "visibility: "+q, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		res, err := e.s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		if err != nil {
			return false, err.Error()
		}
		return len(res.GetExecutions()) == 1, fmt.Sprintf("%d executions", len(res.GetExecutions()))
	})
}

// statusUpserts counts the search-attribute upserts of the current run that
// set KycStatus to status.
func (e *env) statusUpserts(t *testing.T, userID string, status workflows.Status) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	it := e.s.Temporal.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	dc := converter.GetDefaultDataConverter()
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err, "history of %s", workflows.WorkflowID(userID))
		attrs := ev.GetUpsertWorkflowSearchAttributesEventAttributes()
		if attrs == nil {
			continue
		}
		p := attrs.GetSearchAttributes().GetIndexedFields()[workflows.SearchAttrStatus.GetName()]
		if p == nil {
			continue
		}
		var v string
		require.NoError(t, dc.FromPayload(p, &v))
		if v == string(status) {
			n++
		}
	}
	return n
}

// signupTasks counts the workflow tasks an onboarding completed up to its
// first ensure-session's answer (its signup), and the activities it
// scheduled meanwhile, from Temporal's history.
func (e *env) signupTasks(t *testing.T, userID string) (tasks, activities int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	it := e.s.Temporal.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err, "history of %s", workflows.WorkflowID(userID))
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			tasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			activities++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			return tasks, activities
		}
	}
	t.Fatalf("%s: no ensure-session answered in the history", workflows.WorkflowID(userID))
	return 0, 0
}

// The bridge's metrics.

// metric reads one unlabelled sample from the bridge's /metrics.
func (e *env) metric(t *testing.T, name string) float64 {
	t.Helper()
	res := e.do(t, http.MethodGet, e.s.BridgeInternalURL+"/metrics", "", nil, false)
	require.Equal(t, http.StatusOK, res.status, "GET /metrics: %s", res.body)
	sc := bufio.NewScanner(bytes.NewReader(res.body))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == name {
			v, err := strconv.ParseFloat(fields[1], 64)
			require.NoError(t, err, "%s", sc.Text())
			return v
		}
	}
	t.Fatalf("the bridge's metrics have no %s", name)
	return 0
}

// Odds and ends.

// logBuffer keeps the stack's logs for a failing test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n bytes, from a line start.
func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…\n" + s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redactURL drops a password from a Redis URL before it is logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
