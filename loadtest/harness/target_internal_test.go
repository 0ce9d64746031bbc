package harness

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

// fakeAPI answers GET /v1/onboardings/<id> with the states it is given,
// one after the other, the last one for good.
type fakeAPI struct {
	mu     sync.Mutex
	states []workflows.StateView
	reads  int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	st := f.states[min(f.reads, len(f.states)-1)]
	f.reads++
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(st)
}

// The poller turns the states it reads into the notifications they stand
// for, once per change, and finds the one waited for.
func TestPollerRecordsEachChangeOnce(t *testing.T) {
	awaiting := workflows.StateView{UserID: "u1", Status: workflows.StatusAwaitingUser, Attempt: 1, IdvSessionID: "s1", HostedURL: "https://h/1"}
	verified := awaiting
	verified.Status = workflows.StatusVerified
	api := &fakeAPI{states: []workflows.StateView{awaiting, awaiting, awaiting, verified}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	p := &poller{sink: newRecorder(), apiURL: srv.URL, token: "tok", every: time.Millisecond}

	ev, ok := p.waitFor("u1", func(r received) bool { return r.Type == "onboarding.verified" && r.IdvSessionID == "s1" },
		fixed(time.Now().Add(10*time.Second)), nil)
	require.True(t, ok)
	assert.Equal(t, string(workflows.StatusVerified), ev.Status)
	var types []string
	for _, e := range p.events("u1") {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.verified"}, types, "three reads of the same state are one change")
	total, rejected := p.counts()
	assert.Equal(t, 2, total)
	assert.Zero(t, rejected)
}

// A state that never comes is not invented: the wait ends at its deadline.
func TestPollerGivesUpAtTheDeadline(t *testing.T) {
	api := &fakeAPI{states: []workflows.StateView{{UserID: "u1", Status: workflows.StatusAwaitingUser, Attempt: 1, IdvSessionID: "s1"}}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	p := &poller{sink: newRecorder(), apiURL: srv.URL, token: "tok", every: time.Millisecond}
	_, ok := p.waitFor("u1", func(r received) bool { return r.Type == "onboarding.verified" }, fixed(time.Now().Add(50*time.Millisecond)), nil)
	assert.False(t, ok)
	assert.Len(t, p.events("u1"), 1)
}

// Against a target, the simulator's delivery log holds the deployment's
// own webhooks and earlier runs': only the run's count (its latencies, its
// dropped webhooks).
func TestRunDeliveriesAgainstATarget(t *testing.T) {
	began := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	log := []sandbox.Delivery{
		{Seq: 1, At: began.Add(-time.Hour), Result: sandbox.Dropped},
		{Seq: 2, At: began.Add(-time.Millisecond), Result: sandbox.Delivered},
		{Seq: 3, At: began, Result: sandbox.Delivered},
		{Seq: 4, At: began.Add(time.Second), Result: sandbox.Dropped},
	}
	seqs := func(ds []sandbox.Delivery) []int {
		var out []int
		for _, d := range ds {
			out = append(out, d.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		sys  *system
		want []int
	}{
		{"the harness's own system: all", &system{began: began}, []int{1, 2, 3, 4}},
		{"a target: from the run's start", &system{began: began, target: &Target{}}, []int{3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, seqs(tc.sys.runDeliveries(append([]sandbox.Delivery(nil), log...))))
		})
	}
}
