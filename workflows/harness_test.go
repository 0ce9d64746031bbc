package workflows_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// harness runs the real workflow with the real activities against the
// in-process Mangopay simulator and Redis, in Temporal's time-skipping test
// environment. Webhooks are replayed from the simulator's own event log, so
// the workflow sees what Mangopay would have sent.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	sim      *sandbox.Sandbox
	simURL   string
	mp       *mangopay.Client
	pages    *claimcheck.Store
	platform *platformSink
	userID   string
	replayed int // events of the simulator's log already signalled

	activities map[string]int
	// startToClose is each activity type's StartToClose timeout as
	// scheduled (the longest seen).
	startToClose map[string]time.Duration
	timers       int
	signals      int
	updates      int
	upserts      int
	sa           map[string]any // latest value of each search attribute
	baseline     int            // Mangopay calls made by the test's own setup
	// onActivity, when set, runs as each activity starts (in the
	// activity's goroutine).
	onActivity func(name string)
	acts       *activities.Activities
	start      time.Time // the workflow's start, in the environment's time
}

const returnURL = "https://platform.example/kyc/done"

func newHarness(t *testing.T, userKind string) *harness {
	t.Helper()
	s := simtest.Start(t, sandbox.Config{Settings: simtest.FastSettings()})
	sim, mp := s.Sandbox, s.Client

	rdb := redistest.New(t)
	h := &harness{t: t, sim: sim, simURL: s.URL, mp: mp, pages: claimcheck.NewStore(rdb, 0, 0), platform: newPlatformSink(t), activities: map[string]int{}}
	acts := &activities.Activities{
		Mangopay: mp, Index: routing.NewIndex(rdb, 0), Pages: h.pages,
		Notifier: &notify.Notifier{URL: h.platform.srv.URL, Secrets: [][]byte{platformKey}},
	}
	h.userID = h.createUser(userKind)

	h.acts = acts
	h.newEnv()
	h.baseline = h.mangopayCalls()
	return h
}

// newEnv gives the harness a fresh test environment (a new run).
func (h *harness) newEnv() {
	h.env = (&testsuite.WorkflowTestSuite{}).NewTestWorkflowEnvironment()
	h.env.RegisterWorkflow(workflows.KYCOnboarding)
	h.env.RegisterActivity(h.acts)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(h.userID), TaskQueue: workflows.TaskQueue})
	// A scenario whose workflow never ends fails at this (skipped) time
	// instead of polling forever.
	h.env.SetWorkflowRunTimeout(400 * 24 * time.Hour)
	// Every scenario starts at noon UTC tomorrow, not at the wall clock's
	// hour: Mangopay's renewal deadlines are dates, so a scenario that
	// crosses a midnight on some starts and not others would pass or fail
	// by the hour CI ran it. Tomorrow, so that the simulator's clock (the
	// wall clock, moved forward with the workflow's) is never ahead.
	// A scenario about the hour of the day pins its own start
	// (pinStart).
	h.pinStart(time.Now().UTC().Truncate(24 * time.Hour).Add(36 * time.Hour))
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		h.activityStarted(info)
	})
	// A call a person waits on tries in the workflow task first (a local
	// activity): the same Mangopay call, counted the same.
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		h.activityStarted(info)
	})
	h.env.SetOnTimerScheduledListener(func(string, time.Duration) { h.timers++ })
	h.sa = map[string]any{}
	h.startToClose = map[string]time.Duration{}
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		h.upserts++
		sa := args.Get(0).(temporal.SearchAttributes)
		unset := unsetKeys(sa)
		for _, k := range []temporal.SearchAttributeKeyKeyword{workflows.SearchAttrStatus, workflows.SearchAttrUserID, workflows.SearchAttrSessionID, workflows.SearchAttrUserType, workflows.SearchAttrAttention} {
			if v, ok := sa.GetKeyword(k); ok {
				h.sa[k.GetName()] = v
			} else if unset[k.GetName()] {
				delete(h.sa, k.GetName())
			}
		}
		if v, ok := sa.GetInt64(workflows.SearchAttrAttempt); ok {
			h.sa[workflows.SearchAttrAttempt.GetName()] = v
		}
		if v, ok := sa.GetTime(workflows.SearchAttrReviewSince); ok {
			h.sa[workflows.SearchAttrReviewSince.GetName()] = v
		} else if unset[workflows.SearchAttrReviewSince.GetName()] {
			delete(h.sa, workflows.SearchAttrReviewSince.GetName())
		}
	})
	h.start = h.env.Now()
}

// activityStarted records an activity's (or a local activity's) start.
func (h *harness) activityStarted(info *activity.Info) {
	h.activities[info.ActivityType.Name]++
	h.startToClose[info.ActivityType.Name] = max(h.startToClose[info.ActivityType.Name], info.StartToCloseTimeout)
	// Mangopay's clock keeps up with the workflow's (time-skipping
	// moves only the latter): a read at the expiry sees what Mangopay
	// would then say.
	if lag := h.env.Now().Sub(h.sim.Now()); lag > 0 {
		h.sim.Advance(lag)
	}
	if h.onActivity != nil {
		h.onActivity(info.ActivityType.Name)
	}
}

// pinStart starts the scenario at start (later than the simulator's clock),
// the simulator's clock moved there with it, so that what a scenario sets
// up at Mangopay before its first step is dated as of its start.
func (h *harness) pinStart(start time.Time) {
	h.env.SetStartTime(start)
	h.start = start
	if lag := start.Sub(h.sim.Now()); lag > 0 {
		h.sim.Advance(lag)
	}
}

// unsetKeys names the search attributes an upsert unsets (ValueUnset): the
// SDK's accessors hide them, so they are read by reflection, as fmt prints
// them.
func unsetKeys(sa temporal.SearchAttributes) map[string]bool {
	out := map[string]bool{}
	m := reflect.ValueOf(sa).FieldByName("untypedValue")
	if m.Kind() != reflect.Map {
		return out
	}
	for _, k := range m.MapKeys() {
		if v := m.MapIndex(k); v.IsNil() {
			// {{KycAttention 2 0x…}}: the key's name comes first.
			if f := strings.Fields(strings.Trim(fmt.Sprint(k), "{}")); len(f) > 0 {
				out[f[0]] = true
			}
		}
	}
	return out
}

// nextRun is a harness for the run an onboarding continued as: the same
// Mangopay, Redis, platform and user, a new test environment.
func (h *harness) nextRun() *harness {
	n := &harness{t: h.t, sim: h.sim, mp: h.mp, pages: h.pages, platform: h.platform, userID: h.userID,
		replayed: h.replayed, activities: map[string]int{}, acts: h.acts}
	n.newEnv()
	// The next run starts where this one ended, not at a fresh day: its
	// timers and Mangopay's clock go on from there.
	if end := h.env.Now(); end.After(n.start) {
		n.pinStart(end)
	}
	n.baseline = n.mangopayCalls()
	return n
}

// createUser makes an OWNER of the given kind (NATURAL or a LegalPersonType),
// or a PAYER for "PAYER".
func (h *harness) createUser(kind string) string { return createUser(h.t, h.mp, kind) }

// createUser makes a user of the given kind at the simulator, as a
// platform would (see harness.createUser).
func createUser(t testing.TB, mp *mangopay.Client, kind string) string {
	t.Helper()
	ctx := context.Background()
	var u *mangopay.User
	var err error
	switch kind {
	case "NATURAL":
		u, err = mp.CreateNaturalUserSCA(ctx, simtest.NaturalOwner())
	case "PAYER":
		u, err = mp.CreateNaturalUserSCA(ctx, simtest.NaturalPayer())
	default:
		u, err = mp.CreateLegalUserSCA(ctx, simtest.LegalOwner(mangopay.LegalPersonType(kind)))
	}
	require.NoError(t, err, "create %s user", kind)
	return u.ID
}

// at runs fn at workflow time d after the start, with the simulator's clock
// first brought level with the workflow's: time-skipping moves only the
// latter, and Mangopay's dates (CreationDate, expiry) must agree with it.
func (h *harness) at(d time.Duration, fn func()) {
	h.env.RegisterDelayedCallback(func() {
		if lag := h.env.Now().Sub(h.sim.Now()); lag > 0 {
			h.sim.Advance(lag)
		}
		fn()
	}, d)
}

// ensure sends ensure-session at d; the result lands in the returned value.
func (h *harness) ensure(d time.Duration, req workflows.EnsureSessionRequest) *updateResult[workflows.EnsureSessionResult] {
	res := &updateResult[workflows.EnsureSessionResult]{}
	h.at(d, func() { h.update(workflows.UpdateEnsureSession, res, req) })
	return res
}

type updateResult[T any] struct {
	done     bool
	rejected error
	err      error
	value    T
}

func (h *harness) update(name string, out any, arg any) { h.updateWithID(name, "", out, arg) }

// updateWithID sends an update with the given update ID ("" for a new one).
func (h *harness) updateWithID(name, id string, out any, arg any) {
	h.updates++
	var mu sync.Mutex
	cb := &testsuite.TestUpdateCallback{
		OnReject: func(err error) { mu.Lock(); defer mu.Unlock(); setRejected(out, err) },
		OnComplete: func(v any, err error) {
			mu.Lock()
			defer mu.Unlock()
			setComplete(out, v, err)
		},
	}
	h.env.UpdateWorkflow(name, id, cb, arg)
}

func setRejected(out any, err error) {
	switch r := out.(type) {
	case *updateResult[workflows.EnsureSessionResult]:
		r.done, r.rejected = true, err
	case *updateResult[workflows.SubmitDocumentResult]:
		r.done, r.rejected = true, err
	case *updateResult[workflows.StateView]:
		r.done, r.rejected = true, err
	case *updateResult[workflows.PSC]:
		r.done, r.rejected = true, err
	case *updateResult[workflows.ResendResult]:
		r.done, r.rejected = true, err
	}
}

func setComplete(out any, v any, err error) {
	switch r := out.(type) {
	case *updateResult[workflows.EnsureSessionResult]:
		r.done, r.err = true, err
		if err == nil {
			r.value = v.(workflows.EnsureSessionResult)
		}
	case *updateResult[workflows.SubmitDocumentResult]:
		r.done, r.err = true, err
		if err == nil {
			r.value = v.(workflows.SubmitDocumentResult)
		}
	case *updateResult[workflows.StateView]:
		r.done, r.err = true, err
		if err == nil {
			r.value = v.(workflows.StateView)
		}
	case *updateResult[workflows.PSC]:
		r.done, r.err = true, err
		if err == nil {
			r.value = v.(workflows.PSC)
		}
	case *updateResult[workflows.ResendResult]:
		r.done, r.err = true, err
		if err == nil {
			r.value = v.(workflows.ResendResult)
		}
	}
}

// signal sends one mangopay-event.
func (h *harness) signal(eventType, resourceID string) {
	h.signals++
	ev := webhookstream.MangopayEvent{EventType: mangopay.EventType(eventType), ResourceID: resourceID, Date: h.env.Now().Unix()}
	ev.EventKey = ev.Key()
	h.env.SignalWorkflow(workflows.SignalMangopayEvent, ev)
}

// deliver signals every event the simulator emitted since the last call,
// as the webhook bridge would.
func (h *harness) deliver() {
	log := h.sim.EventLog()
	for _, ev := range log[h.replayed:] {
		if !slices.Contains(workflows.HookEventTypes, mangopay.EventType(ev.EventType)) {
			continue // kycflow registers no hook for it: Mangopay sends nothing
		}
		h.signals++
		h.env.SignalWorkflow(workflows.SignalMangopayEvent, webhookstream.MangopayEvent{
			EventType: mangopay.EventType(ev.EventType), ResourceID: ev.ResourceID, Date: ev.Date,
			EventKey: ev.EventType + "|" + ev.ResourceID + "|" + itoa(ev.Date),
		})
	}
	h.replayed = len(log)
}

// deliverOnly signals the events of the given types the simulator emitted
// since the last delivery; the others are lost.
func (h *harness) deliverOnly(types ...string) {
	log := h.sim.EventLog()
	for _, ev := range log[h.replayed:] {
		if slices.Contains(types, ev.EventType) {
			h.signals++
			me := webhookstream.MangopayEvent{EventType: mangopay.EventType(ev.EventType), ResourceID: ev.ResourceID, Date: ev.Date}
			me.EventKey = me.Key()
			h.env.SignalWorkflow(workflows.SignalMangopayEvent, me)
		}
	}
	h.replayed = len(log)
}

// skipEvents marks the simulator's events so far as not to be delivered
// (webhooks lost).
func (h *harness) skipEvents() { h.replayed = len(h.sim.EventLog()) }

// decide gives the current session an outcome in the simulator.
func (h *harness) decide(choices map[string]sandbox.Choice) {
	require.NoError(h.t, h.sim.SubmitOutcome(h.state().IdvSessionID, choices))
}

func (h *harness) state() workflows.StateView {
	v, err := h.env.QueryWorkflow(workflows.QueryState)
	require.NoError(h.t, err)
	var s workflows.StateView
	require.NoError(h.t, v.Get(&s))
	return s
}

// cancel ends the workflow at d through the cancel update.
func (h *harness) cancel(d time.Duration) {
	res := &updateResult[workflows.StateView]{}
	h.at(d, func() { h.update(workflows.UpdateCancel, res, workflows.CancelRequest{Reason: "test over"}) })
}

func (h *harness) run(cfg workflows.Config) {
	h.env.ExecuteWorkflow(workflows.KYCOnboarding, workflows.Input{UserID: h.userID, ReturnURL: returnURL, Config: cfg})
	require.True(h.t, h.env.IsWorkflowCompleted(), "the workflow should have completed")
}

func (h *harness) result() workflows.Result {
	var r workflows.Result
	require.NoError(h.t, h.env.GetWorkflowResult(&r))
	return r
}

// mangopayCalls counts the simulator's authenticated API calls made by the
// workflow (the test's own setup excluded).
func (h *harness) mangopayCalls() int {
	n := -h.baseline
	for _, c := range h.sim.APICalls() {
		n += c
	}
	return n
}

// actions estimates Temporal billable actions: the start, each update,
// signal, activity attempt, timer and search-attribute upsert.
func (h *harness) actions() int {
	n := 1 + h.updates + h.signals + h.timers + h.upserts
	for _, c := range h.activities {
		n += c
	}
	return n
}

func (h *harness) sessions() []mangopay.IdentityVerification {
	list, _, err := h.mp.ListIdentityVerifications(context.Background(), h.userID, &mangopay.ListOptions{PerPage: 100})
	require.NoError(h.t, err)
	return list
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// platformSink is the platform's webhook endpoint: it verifies signatures
// and records event types in order.
type platformSink struct {
	mu    sync.Mutex
	srv   *httptest.Server
	types []string
	ids   map[string]bool
	// refuse, when set, answers 503 to the events it returns true for (the
	// platform is down, or just for one event).
	refuse func(notify.Event) bool
	// refuseStatus is the status of a refusal (503 when zero): a platform
	// that cannot verify a signature answers 401, say.
	refuseStatus int
	received     []notify.Event // every event taken, in order, without duplicates
}

// platformKey signs the notifications of these tests; the platform verifies
// them with the Standard Webhooks library, given the key in whsec_ form.
var platformKey = []byte("platform-test-secret-0123456789ab")

// verifyNotification is the platform's check: the specification's own Go
// library, not kycflow's code.
func verifyNotification(key []byte, r *http.Request, body []byte) error {
	wh, err := standardwebhooks.NewWebhook(notify.EncodeSecret(key))
	if err != nil {
		return err
	}
	return wh.Verify(body, r.Header)
}

// decodeNotification reads the event out of a notification's payload.
func decodeNotification(body []byte) (notify.Event, error) {
	var p notify.Payload
	err := json.Unmarshal(body, &p)
	return p.Data, err
}

func newPlatformSink(t *testing.T) *platformSink {
	p := &platformSink{ids: map[string]bool{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifyNotification(platformKey, r, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		ev, err := decodeNotification(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		checkNotification(t, r, body, ev.Type)
		p.mu.Lock()
		if p.refuse != nil && p.refuse(ev) {
			status := cmp.Or(p.refuseStatus, http.StatusServiceUnavailable)
			p.mu.Unlock()
			http.Error(w, "platform down", status)
			return
		}
		if !p.ids[ev.ID] {
			p.ids[ev.ID] = true
			p.types = append(p.types, ev.Type)
			p.received = append(p.received, ev)
		}
		p.mu.Unlock()
	}))
	t.Cleanup(func() { p.srv.Close(); reportNotificationErrs(t) })
	return p
}

// setRefuse sets refuse (nil: the platform takes every event).
func (p *platformSink) setRefuse(f func(notify.Event) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = f
}

// all is every event taken, in order.
func (p *platformSink) all() []notify.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]notify.Event(nil), p.received...)
}

func (p *platformSink) events() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.types...)
}
