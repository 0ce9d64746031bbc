package sandbox

import (
	"strings"
	"time"
)

// eventsWindow is how far back the Events API reaches (45 days).
const eventsWindow = 45 * 24 * time.Hour

// eventsPruneAt is the number of kept events past which older ones are
// dropped.
const eventsPruneAt = 10_000

// Event is an entry of the Events API. Note ResourceId with one s, unlike
// the webhook's RessourceId.
type Event struct {
	ResourceID string `json:"ResourceId"`
	EventType  string `json:"EventType"`
	Date       int64  `json:"Date"`
}

func (s *Sandbox) listEvents(req apiRequest) reply {
	q := req.r.URL.Query()
	types := splitList(queryFold(q, "EventType"))
	before, errB := optUnix(queryFold(q, "BeforeDate"))
	after, errA := optUnix(queryFold(q, "AfterDate"))
	if errB != nil || errA != nil {
		return s.paramError(map[string]string{"BeforeDate/AfterDate": "Dates must be Unix timestamps in seconds."})
	}
	oldest := s.clock.Now().Add(-eventsWindow).Unix()
	s.mu.Lock()
	items := []Event{}
	for _, e := range s.st.events {
		if e.Date < oldest {
			continue
		}
		if len(types) > 0 && !containsFold(types, e.EventType) {
			continue
		}
		if (before != nil && e.Date >= *before) || (after != nil && e.Date <= *after) {
			continue
		}
		items = append(items, e)
	}
	s.mu.Unlock()
	return listReply(items, req.r, s)
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// EventLog returns every event emitted so far, oldest first: what Mangopay
// would have notified. Tests replay it as webhooks.
func (s *Sandbox) EventLog() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.st.events...)
}
