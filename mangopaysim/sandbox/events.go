package sandbox

import (
	"cmp"
	"slices"
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

// listEvents implements GET /events: EventType (comma-separated),
// AfterDate and BeforeDate (exclusive, within the last 45 days), paging and
// Sort=Date:ASC|DESC (ascending by default).
func (s *Sandbox) listEvents(req apiRequest) reply {
	q := req.r.URL.Query()
	types := splitList(queryFold(q, "EventType"))
	before, errB := optUnix(queryFold(q, "BeforeDate"))
	after, errA := optUnix(queryFold(q, "AfterDate"))
	if errB != nil || errA != nil {
		return s.paramError(map[string]string{"BeforeDate/AfterDate": "Dates must be Unix timestamps in seconds."})
	}
	oldest := s.clock.Now().Add(-eventsWindow).Unix()
	for name, d := range map[string]*int64{"AfterDate": after, "BeforeDate": before} {
		if d != nil && *d < oldest {
			return s.paramError(map[string]string{name: "Events can only be retrieved for the last 45 days."})
		}
	}
	if after != nil && before != nil && *after >= *before {
		return s.paramError(map[string]string{"AfterDate": "AfterDate must be earlier than BeforeDate."})
	}
	desc, bad, okSort := s.eventSort(queryFold(q, "Sort"))
	if !okSort {
		return bad
	}
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
	// Events are kept in the order they happened; the clock never goes back.
	slices.SortStableFunc(items, func(a, b Event) int { return cmp.Compare(a.Date, b.Date) })
	if desc {
		slices.Reverse(items)
	}
	return pageReply(items, req.r, s)
}

// eventSort reads Sort=Date:ASC|DESC (CreationDate is taken as Date).
func (s *Sandbox) eventSort(v string) (desc bool, bad reply, ok bool) {
	if v == "" {
		return false, reply{}, true
	}
	field, dir, _ := strings.Cut(v, ":")
	if !strings.EqualFold(field, "Date") && !strings.EqualFold(field, "CreationDate") {
		return false, s.paramError(map[string]string{"Sort": "Events can only be sorted by Date."}), false
	}
	switch strings.ToUpper(dir) {
	case "", "ASC":
		return false, reply{}, true
	case "DESC":
		return true, reply{}, true
	}
	return false, s.paramError(map[string]string{"Sort": "The sort direction must be ASC or DESC."}), false
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
