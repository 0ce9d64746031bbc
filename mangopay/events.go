package mangopay

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Event is one entry of the Events API. Note the spelling: the Events API
// says ResourceId, while webhook notifications say RessourceId.
type Event struct {
	// ResourceID is the ID of the object concerned: the IDV session for
	// IDENTITY_VERIFICATION_*, the document for KYC_*, the user for USER_*.
	ResourceID string    `json:"ResourceId"`
	EventType  EventType `json:"EventType"`
	Date       Timestamp `json:"Date"`
}

// ListEventsOptions filters events. Mangopay keeps 45 days of events and
// answers 400 to a window that starts earlier. Set ListOptions.Sort to
// SortDateAsc or SortDateDesc to order by Date.
type ListEventsOptions struct {
	ListOptions
	// EventType keeps events of this type only.
	EventType EventType
	// EventTypes keeps events of any of these types (sent comma-separated,
	// together with EventType if both are set).
	EventTypes []EventType
	// BeforeDate and AfterDate bound the event Date (both exclusive).
	BeforeDate, AfterDate *time.Time
}

// EventsWindow is how far back the Events API reaches.
const EventsWindow = 45 * 24 * time.Hour

// Sort expressions of the Events API.
const (
	SortDateAsc  = "Date:ASC"
	SortDateDesc = "Date:DESC"
)

// ListEvents lists events (GET /events). opts may be nil.
func (c *Client) ListEvents(ctx context.Context, opts *ListEventsOptions) ([]Event, *Pagination, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/events", path: "/events", query: url.Values{}}
	var list *ListOptions
	if opts != nil {
		list = &opts.ListOptions
		var types []string
		if opts.EventType != "" {
			types = append(types, string(opts.EventType))
		}
		for _, t := range opts.EventTypes {
			types = append(types, string(t))
		}
		if len(types) > 0 {
			ep.query.Set("EventType", strings.Join(types, ","))
		}
		setUnix(ep.query, "BeforeDate", opts.BeforeDate)
		setUnix(ep.query, "AfterDate", opts.AfterDate)
	}
	return doList[Event](ctx, c, ep, list)
}
