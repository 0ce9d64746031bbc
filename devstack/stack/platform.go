package stack

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/kycflow/kycflow/notify"
)

// Platform stands in for the platform that uses kycflow: it receives
// kycflow's signed notifications (verifying them as a real platform must,
// with the Standard Webhooks library) and serves the page the hosted
// verification returns to.
type Platform struct {
	wh  *standardwebhooks.Webhook
	log *slog.Logger

	mu     sync.Mutex
	events []notify.Event
}

func newPlatform(secret string, log *slog.Logger) (*Platform, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	return &Platform{wh: wh, log: log}, nil
}

// Events returns the notifications received so far.
func (p *Platform) Events() []notify.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]notify.Event(nil), p.events...)
}

func (p *Platform) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /kycflow/events", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := p.wh.Verify(body, r.Header); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var pl notify.Payload
		if err := json.Unmarshal(body, &pl); err != nil {
			http.Error(w, "invalid payload", http.StatusBadRequest)
			return
		}
		ev := pl.Data
		p.mu.Lock()
		p.events = append(p.events, ev)
		p.mu.Unlock()
		p.log.Info("platform notified", "type", ev.Type, "user_id", ev.UserID, "attempt", ev.Attempt, "event_id", ev.ID)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /kycflow/events", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Events())
	})
	mux.HandleFunc("GET /kyc/done", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Back on the platform</title><body style="font-family:system-ui;max-width:40rem;margin:2rem auto">`+
			`<h1 id="back">Thanks, you are back on the platform</h1><p>Mangopay is checking your verification; kycflow will tell the platform the outcome.</p>`)
		for _, ev := range p.Events() {
			fmt.Fprintf(w, "<p><code>%s</code> %s</p>", html.EscapeString(ev.Type), html.EscapeString(ev.UserID))
		}
	})
	return mux
}
