package mangopay

import (
	"context"
	"fmt"
	"net/http"
)

// Hook is a webhook registration: Mangopay sends a GET to URL with
// EventType, RessourceId and Date query parameters for each event of
// EventType. There is at most one hook per event type.
type Hook struct {
	ID           string       `json:"Id"`
	Tag          string       `json:"Tag"`
	CreationDate Timestamp    `json:"CreationDate"`
	URL          string       `json:"Url"`
	Status       HookStatus   `json:"Status"`
	Validity     HookValidity `json:"Validity"`
	EventType    EventType    `json:"EventType"`
}

// CreateHookParams creates a hook.
type CreateHookParams struct {
	EventType EventType `json:"EventType"`
	// URL receives the notifications (http or https, at most 255 characters).
	URL string `json:"Url"`
	Tag string `json:"Tag,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header when set.
	IdempotencyKey string `json:"-"`
}

// UpdateHookParams changes a hook. Empty fields are left unchanged; set
// Validity to VALID to reactivate a hook Mangopay invalidated.
type UpdateHookParams struct {
	URL      string       `json:"Url,omitempty"`
	Status   HookStatus   `json:"Status,omitempty"`
	Validity HookValidity `json:"Validity,omitempty"`
	// Tag replaces the tag when not nil (an empty string clears it).
	Tag *string `json:"Tag,omitempty"`
}

// CreateHook registers a hook (POST /hooks).
func (c *Client) CreateHook(ctx context.Context, params *CreateHookParams) (*Hook, error) {
	ep := &endpoint{method: http.MethodPost, tmpl: "/hooks", path: "/hooks"}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	ep.body, ep.idempotencyKey = params, params.IdempotencyKey
	return doResource[Hook](ctx, c, ep)
}

// GetHook returns a hook (GET /hooks/{HookId}).
func (c *Client) GetHook(ctx context.Context, id string) (*Hook, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/hooks/{HookId}"}
	escaped, err := pathID("hook id", id)
	if err != nil {
		return nil, ep.wrap(err)
	}
	ep.path = "/hooks/" + escaped
	return doResource[Hook](ctx, c, ep)
}

// ListHooks lists the platform's hooks (GET /hooks). opts may be nil.
func (c *Client) ListHooks(ctx context.Context, opts *ListOptions) ([]Hook, *Pagination, error) {
	ep := &endpoint{method: http.MethodGet, tmpl: "/hooks", path: "/hooks"}
	return doList[Hook](ctx, c, ep, opts)
}

// UpdateHook changes a hook (PUT /hooks/{HookId}).
func (c *Client) UpdateHook(ctx context.Context, id string, params *UpdateHookParams) (*Hook, error) {
	ep := &endpoint{method: http.MethodPut, tmpl: "/hooks/{HookId}"}
	escaped, err := pathID("hook id", id)
	if err != nil {
		return nil, ep.wrap(err)
	}
	if params == nil {
		return nil, ep.wrap(errNilParams)
	}
	if *params == (UpdateHookParams{}) {
		return nil, ep.wrap(fmt.Errorf("%w: nothing to update", ErrInvalidRequest))
	}
	ep.path = "/hooks/" + escaped
	ep.body = params
	return doResource[Hook](ctx, c, ep)
}
