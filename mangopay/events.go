package mangopay

import (
	"context"
	"net/http"
	"net/url"
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

// ListEventsOptions filters events. Mangopay keeps 45 days of events.
type ListEventsOptions struct {
	ListOptions
	// EventType keeps events of this type only.
	EventType EventType
	// BeforeDate and AfterDate bound the event Date.
	BeforeDate, AfterDate *time.Time
}

// ListEvents lists events (GET /events). opts may be nil.
func (c *Client) ListEvents(ctx context.Context, opts *ListEventsOptions) ([]Event, *Pagination, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/events", path: "/events", query: url.Values{}}
	var list *ListOptions
	if opts != nil {
		list = &opts.ListOptions
		if opts.EventType != "" {
			ep.query.Set("EventType", string(opts.EventType))
		}
		setUnix(ep.query, "BeforeDate", opts.BeforeDate)
		setUnix(ep.query, "AfterDate", opts.AfterDate)
	}
	return doList[Event](ctx, c, ep, list)
}
