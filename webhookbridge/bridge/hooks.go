package bridge

import (
	"context"
	"fmt"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// HookReport is the state of one hook after registration.
type HookReport struct {
	EventType string
	HookID    string
	Action    string // created, repaired, unchanged
	Status    string
	Validity  string
}

// RegisterHooks makes Mangopay send every event kycflow needs
// (workflows.HookEventTypes) to url: it creates missing hooks and repairs
// ones pointing elsewhere, disabled, or INVALID after too many failures.
func RegisterHooks(ctx context.Context, mp *mangopay.Client, url string) ([]HookReport, error) {
	existing, err := listHooks(ctx, mp)
	if err != nil {
		return nil, err
	}
	var out []HookReport
	for _, et := range workflows.HookEventTypes {
		h, found := existing[et]
		r := HookReport{EventType: et}
		switch {
		case !found:
			created, err := mp.CreateHook(ctx, &mangopay.CreateHookParams{EventType: mangopay.EventType(et), URL: url, Tag: "kycflow"})
			if err != nil {
				return out, fmt.Errorf("create hook %s: %w", et, err)
			}
			h, r.Action = *created, "created"
		case h.URL != url || h.Status != mangopay.HookEnabled || h.Validity != mangopay.HookValid:
			p := &mangopay.UpdateHookParams{URL: url, Status: mangopay.HookEnabled}
			if h.Validity != mangopay.HookValid {
				p.Validity = mangopay.HookValid
			}
			updated, err := mp.UpdateHook(ctx, h.ID, p)
			if err != nil {
				return out, fmt.Errorf("repair hook %s: %w", et, err)
			}
			h, r.Action = *updated, "repaired"
		default:
			r.Action = "unchanged"
		}
		r.HookID, r.Status, r.Validity = h.ID, string(h.Status), string(h.Validity)
		out = append(out, r)
	}
	return out, nil
}

// listHooks returns every hook of the client by event type, over all pages.
func listHooks(ctx context.Context, mp *mangopay.Client) (map[string]mangopay.Hook, error) {
	existing := map[string]mangopay.Hook{}
	for page := 1; ; page++ {
		hooks, pg, err := mp.ListHooks(ctx, &mangopay.ListOptions{Page: page, PerPage: 100})
		if err != nil {
			return nil, fmt.Errorf("list hooks: %w", err)
		}
		for _, h := range hooks {
			existing[string(h.EventType)] = h
		}
		if pg == nil || !pg.HasNext() {
			return existing, nil
		}
	}
}
