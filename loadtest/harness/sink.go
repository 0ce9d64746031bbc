package harness

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/kycflow/kycflow/notify"
)

// received is one notification as the platform got it.
type received struct {
	notify.Event
	At time.Time
}

// sink is the platform's webhook endpoint: it verifies each notification's
// signature with notify.Verify, as a platform must, and records it.
type sink struct {
	secret []byte

	mu       sync.Mutex
	byUser   map[string][]received
	total    int
	rejected int
	changed  map[string]chan struct{} // per user: closed and replaced on each of their notifications
}

func newSink(secret []byte) *sink {
	return &sink{secret: secret, byUser: map[string][]received{}, changed: map[string]chan struct{}{}}
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now()
	var ev notify.Event
	if err := notify.Verify(s.secret, r.Header.Get(notify.SignatureHeader), body, now, notify.DefaultTolerance); err != nil {
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "invalid event", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.addLocked(received{Event: ev, At: now})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// addLocked records a notification and wakes whoever waits on its user.
func (s *sink) addLocked(r received) {
	s.byUser[r.UserID] = append(s.byUser[r.UserID], r)
	s.total++
	if ch, ok := s.changed[r.UserID]; ok {
		close(ch)
		delete(s.changed, r.UserID)
	}
}

// observer is how the harness learns of the onboardings' changes: the
// platform's notifications (sink), or, against a deployment that does not
// notify the harness, the platform API read while a user is waited on
// (poller).
type observer interface {
	waitFor(userID string, match func(received) bool, deadline until, done <-chan struct{}) (received, bool)
	events(userID string) []received
	counts() (total, rejected int)
}

// events returns the user's notifications so far, in arrival order.
func (s *sink) events(userID string) []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.byUser[userID]...)
}

// waitFor blocks until a notification of the user matches, and returns
// it; ok is false when deadline passed or done closed first.
func (s *sink) waitFor(userID string, match func(received) bool, deadline until, done <-chan struct{}) (received, bool) {
	for {
		s.mu.Lock()
		for _, ev := range s.byUser[userID] {
			if match(ev) {
				s.mu.Unlock()
				return ev, true
			}
		}
		changed, ok := s.changed[userID]
		if !ok {
			changed = make(chan struct{})
			s.changed[userID] = changed
		}
		s.mu.Unlock()
		wait := time.Until(deadline())
		if wait <= 0 {
			return received{}, false
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-done:
			t.Stop()
			return received{}, false
		}
		t.Stop()
	}
}

func (s *sink) counts() (total, rejected int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, s.rejected
}
