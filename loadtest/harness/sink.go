package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/kycflow/kycflow/notify"
)

// received is one notification as the platform got it.
type received struct {
	notify.Event
	At time.Time
}

// sink is the platform's webhook endpoint: it verifies each notification
// with the Standard Webhooks library, as a platform would, and records its
// event.
type sink struct {
	// verifiers hold the deployment's secrets: a notification verified by
	// any is accepted (a rotation signs with each).
	verifiers []*standardwebhooks.Webhook

	mu       sync.Mutex
	byUser   map[string][]received
	total    int
	rejected int
	changed  map[string]chan struct{} // per user: closed and replaced on each of their notifications
}

// newSink makes a sink that takes notifications signed with any of
// secrets (PLATFORM_WEBHOOK_SECRET's value).
func newSink(secrets string) (*sink, error) {
	s := newRecorder()
	keys, err := notify.ParseSecrets(secrets)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		wh, err := standardwebhooks.NewWebhookRaw(k)
		if err != nil {
			return nil, fmt.Errorf("notification sink: %w", err)
		}
		s.verifiers = append(s.verifiers, wh)
	}
	return s, nil
}

// newRecorder makes a sink that takes no notification (it verifies with no
// secret) and records what it is given: the poller's.
func newRecorder() *sink {
	return &sink{byUser: map[string][]received{}, changed: map[string]chan struct{}{}}
}

// verify is the first verifier's error when none accepts the request.
func (s *sink) verify(body []byte, h http.Header) error {
	err := standardwebhooks.ErrEmptySecret
	for i, wh := range s.verifiers {
		e := wh.Verify(body, h)
		if e == nil {
			return nil
		}
		if i == 0 {
			err = e
		}
	}
	return err
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
	if err := s.verify(body, r.Header); err != nil {
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p notify.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "invalid payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.addLocked(received{Event: p.Data, At: now})
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
