package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/workflows"
)

// HookTag marks the hooks kycflow creates, so that it can tell them from a
// platform's own hooks later.
const HookTag = "kycflow"

// Actions of a HookReport.
const (
	HookCreate    = "create"    // planned: no hook for the event type
	HookRepair    = "repair"    // planned: kycflow's hook points elsewhere, is disabled or INVALID
	HookTakeOver  = "take over" // planned: a hook kycflow does not own, changed only with TakeOver
	HookUnchanged = "unchanged"
	HookSkipped   = "skipped: not kycflow's" // not changed: the hook belongs to something else
	HookCreated   = "created"
	HookRepaired  = "repaired"
	HookTakenOver = "taken over"
)

// HookReport is the plan, or the outcome, for one event type.
type HookReport struct {
	EventType mangopay.EventType
	HookID    string
	Action    string
	// Changes says what the plan changes ("Url, Status, Validity").
	Changes  string
	URL      string // where the hook points (after the change when applied)
	Status   string
	Validity string
}

// HookOptions choose what SyncHooks may do.
type HookOptions struct {
	// Apply makes the changes; without it SyncHooks only reports the plan.
	Apply bool
	// TakeOver lets SyncHooks change hooks kycflow does not own (another
	// URL and not tagged kycflow): a platform's own integration, which
	// Mangopay allows one hook per event type for.
	TakeOver bool
}

// RegisterHooks applies the plan for url, leaving hooks kycflow does not
// own alone (the dev stack and tests; operators use `webhookbridge hooks`).
func RegisterHooks(ctx context.Context, mp *mangopay.Client, url string) ([]HookReport, error) {
	return SyncHooks(ctx, mp, url, HookOptions{Apply: true})
}

// SyncHooks makes Mangopay send every event kycflow needs
// (workflows.HookEventTypes) to url: it plans to create missing hooks and to
// repair kycflow's own ones that point elsewhere, are disabled, or are
// INVALID after too many failures. A hook is kycflow's when it is tagged
// HookTag or already points at url. It changes anything only with
// opts.Apply, and a hook that is not kycflow's only with opts.TakeOver.
func SyncHooks(ctx context.Context, mp *mangopay.Client, url string, opts HookOptions) ([]HookReport, error) {
	existing, err := listHooks(ctx, mp)
	if err != nil {
		return nil, err
	}
	var out []HookReport
	for _, et := range workflows.HookEventTypes {
		h, found := existing[et]
		r := HookReport{EventType: et, HookID: h.ID, URL: h.URL, Status: string(h.Status), Validity: string(h.Validity)}
		var changes []string
		if found {
			if h.URL != url {
				changes = append(changes, "Url")
			}
			if h.Status != mangopay.HookEnabled {
				changes = append(changes, "Status")
			}
			if h.Validity != mangopay.HookValid {
				changes = append(changes, "Validity")
			}
		}
		r.Changes = strings.Join(changes, ", ")
		owned := h.Tag == HookTag || h.URL == url
		switch {
		case !found:
			r.Action, r.Changes = HookCreate, "new hook"
		case len(changes) == 0:
			r.Action = HookUnchanged
		case !owned && !opts.TakeOver:
			r.Action = HookSkipped
		case !owned:
			r.Action = HookTakeOver
		default:
			r.Action = HookRepair
		}
		if opts.Apply {
			if err := applyHook(ctx, mp, url, &r, h); err != nil {
				return out, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// applyHook carries out r's planned action and records the outcome in r.
func applyHook(ctx context.Context, mp *mangopay.Client, url string, r *HookReport, h mangopay.Hook) error {
	var got *mangopay.Hook
	var err error
	switch r.Action {
	case HookCreate:
		got, err = mp.CreateHook(ctx, &mangopay.CreateHookParams{EventType: r.EventType, URL: url, Tag: HookTag})
		if err != nil {
			return fmt.Errorf("create hook %s: %w", r.EventType, err)
		}
		r.Action = HookCreated
	case HookRepair, HookTakeOver:
		p := &mangopay.UpdateHookParams{URL: url, Status: mangopay.HookEnabled}
		if h.Validity != mangopay.HookValid {
			p.Validity = mangopay.HookValid
		}
		if r.Action == HookTakeOver {
			tag := HookTag
			p.Tag = &tag
		}
		got, err = mp.UpdateHook(ctx, h.ID, p)
		if err != nil {
			return fmt.Errorf("repair hook %s: %w", r.EventType, err)
		}
		r.Action = map[string]string{HookRepair: HookRepaired, HookTakeOver: HookTakenOver}[r.Action]
	default:
		return nil
	}
	r.HookID, r.URL, r.Status, r.Validity = got.ID, got.URL, string(got.Status), string(got.Validity)
	return nil
}

// ErrHookURL is returned by CheckHookTarget for a webhook URL that real
// Mangopay cannot, or must not, be given.
var ErrHookURL = errors.New("refusing to register this webhook URL")

// CheckHookTarget refuses, against a real Mangopay host (*.mangopay.com),
// a webhook URL on a loopback, unspecified or link-local address (Mangopay
// cannot reach it; its failures disable the hooks) or one carrying the
// published development path token. Simulators on any other host pass.
func CheckHookTarget(mangopayBaseURL, webhookURL string) error {
	mu, err := url.Parse(mangopayBaseURL)
	if err != nil {
		return fmt.Errorf("%w: MANGOPAY_BASE_URL %q is not a URL", ErrHookURL, mangopayBaseURL)
	}
	mpHost := strings.ToLower(mu.Hostname())
	if mpHost != "mangopay.com" && !strings.HasSuffix(mpHost, ".mangopay.com") {
		return nil
	}
	wu, err := url.Parse(webhookURL)
	if err != nil || wu.Hostname() == "" {
		return fmt.Errorf("%w: %q is not a URL", ErrHookURL, redactToken(webhookURL))
	}
	host := strings.ToLower(wu.Hostname())
	ip := net.ParseIP(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") ||
		(ip != nil && (ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast())) {
		return fmt.Errorf("%w: %s is a loopback address Mangopay (%s) cannot reach; set BRIDGE_PUBLIC_URL to the bridge's public address",
			ErrHookURL, wu.Host, mpHost)
	}
	if !strings.EqualFold(wu.Scheme, "https") {
		// The URL carries the path token: never in clear over the internet.
		return fmt.Errorf("%w: Mangopay (%s) must call an https URL; set BRIDGE_PUBLIC_URL to the bridge's https address", ErrHookURL, mpHost)
	}
	if strings.HasSuffix(wu.Path, "/"+DevPathToken) {
		return fmt.Errorf("%w: the URL carries the published development WEBHOOK_PATH_TOKEN; set a secret one", ErrHookURL)
	}
	return nil
}

// redactToken hides the path token of a webhook URL in messages.
func redactToken(u string) string {
	if i := strings.Index(u, "/webhooks/mangopay/"); i >= 0 {
		return u[:i] + "/webhooks/mangopay/<WEBHOOK_PATH_TOKEN>"
	}
	return u
}

// listHooks returns every hook of the client by event type, over all pages.
func listHooks(ctx context.Context, mp *mangopay.Client) (map[mangopay.EventType]mangopay.Hook, error) {
	existing := map[mangopay.EventType]mangopay.Hook{}
	for page := 1; ; page++ {
		hooks, pg, err := mp.ListHooks(ctx, &mangopay.ListOptions{Page: page, PerPage: 100})
		if err != nil {
			return nil, fmt.Errorf("list hooks: %w", err)
		}
		for _, h := range hooks {
			existing[h.EventType] = h
		}
		if pg == nil || !pg.HasNext() {
			return existing, nil
		}
	}
}
