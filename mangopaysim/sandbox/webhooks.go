package sandbox

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Delivery is one line of the webhook delivery log at GET /_sim/webhooks.
type Delivery struct {
	Seq        int       `json:"Seq"`
	HookID     string    `json:"HookId"`
	EventType  string    `json:"EventType"`
	ResourceID string    `json:"ResourceId"`
	Date       int64     `json:"Date"`
	URL        string    `json:"Url"`
	Attempt    int       `json:"Attempt"` // 0 for the first try, then retries
	At         time.Time `json:"At"`      // simulated time of the attempt's end (answer, error or timeout)
	// SentAt is the simulated time the attempt was sent (the wall clock
	// unless /_sim/clock/advance moved it); zero for a dropped webhook.
	SentAt     time.Time `json:"SentAt,omitzero"`
	Result     string    `json:"Result"` // DELIVERED, FAILED, DROPPED
	StatusCode int       `json:"StatusCode,omitempty"`
	Error      string    `json:"Error,omitempty"`
	Duplicate  bool      `json:"Duplicate,omitempty"`
}

// Results of a delivery.
const (
	Delivered = "DELIVERED"
	Failed    = "FAILED"
	Dropped   = "DROPPED"
)

// invalidAfter is the number of consecutive failures after which Mangopay
// marks a hook INVALID and stops sending.
const invalidAfter = 100

// retryDelay gives Mangopay's retry schedule: every 10 minutes for the first
// hour, then every 8 hours for the next 3 days. ok is false when retries are
// exhausted.
func retryDelay(retriesDone int) (time.Duration, bool) {
	switch {
	case retriesDone < 6:
		return 10 * time.Minute, true
	case retriesDone < 6+9:
		return 8 * time.Hour, true
	}
	return 0, false
}

// emitLocked records an event and schedules its notification. s.mu is held.
func (s *Sandbox) emitLocked(eventType, resourceID string) {
	now := s.clock.Now()
	ev := Event{ResourceID: resourceID, EventType: eventType, Date: now.Unix()}
	s.st.events = append(s.st.events, ev)
	if len(s.st.events) >= eventsPruneAt && now.Sub(time.Unix(s.st.events[0].Date, 0)) > eventsWindow {
		cut := 0
		for cut < len(s.st.events) && now.Sub(time.Unix(s.st.events[cut].Date, 0)) > eventsWindow {
			cut++
		}
		s.st.events = append([]Event(nil), s.st.events[cut:]...)
	}
	h, found := s.st.hookByEvent[eventType]
	if !found || h.Status != "ENABLED" || h.Validity != "VALID" {
		return
	}
	f := s.faults
	if f.WebhookDropRate > 0 && s.ids.float() < f.WebhookDropRate {
		s.logDeliveryLocked(Delivery{HookID: h.ID, EventType: eventType, ResourceID: resourceID, Date: ev.Date, URL: h.URL, At: now, Result: Dropped})
		return
	}
	copies := 1
	if f.WebhookDuplicateRate > 0 && s.ids.float() < f.WebhookDuplicateRate {
		copies = 2
	}
	for i := range copies {
		delay := time.Duration(f.WebhookDelayMs) * time.Millisecond
		if f.WebhookReorder {
			delay = time.Duration(s.ids.float() * float64(max(delay, time.Second)))
		}
		dup := i > 0
		s.sched.At(now.Add(delay), func() { s.deliver(h.ID, ev, 0, dup) })
	}
}

// deliver makes one delivery attempt in the background.
func (s *Sandbox) deliver(hookID string, ev Event, attempt int, dup bool) {
	s.mu.Lock()
	h, found := s.st.hooks[hookID]
	if !found || h.Status != "ENABLED" || h.Validity != "VALID" {
		s.mu.Unlock()
		return
	}
	target := notificationURL(h.URL, ev)
	st := s.st
	timeout := seconds(s.settings.WebhookTimeoutSeconds)
	s.mu.Unlock()

	s.deliveries.Add(1)
	s.inflight.Add(1)
	go func() {
		defer s.deliveries.Done()
		defer s.inflight.Add(-1)
		s.sem <- struct{}{}
		sent := s.clock.Now()
		code, err := s.send(target, timeout)
		<-s.sem

		s.mu.Lock()
		defer s.mu.Unlock()
		if s.st != st { // reset while in flight
			return
		}
		d := Delivery{HookID: hookID, EventType: ev.EventType, ResourceID: ev.ResourceID, Date: ev.Date,
			URL: target, Attempt: attempt, At: s.clock.Now(), SentAt: sent, StatusCode: code, Duplicate: dup, Result: Delivered}
		// Mangopay counts anything but a 200 within the timeout as a failure.
		if err != nil || code != http.StatusOK {
			d.Result = Failed
			if err != nil {
				d.Error = err.Error()
			}
		}
		s.logDeliveryLocked(d)
		if d.Result == Delivered {
			h.failures = 0
			return
		}
		h.failures++
		if h.failures >= invalidAfter {
			h.Validity = "INVALID"
			s.log.Warn("hook marked INVALID after consecutive failures", "hook_id", h.ID, "event_type", h.EventType, "failures", h.failures)
			return
		}
		if wait, more := retryDelay(attempt); more {
			s.sched.At(s.clock.Now().Add(wait), func() { s.deliver(hookID, ev, attempt+1, dup) })
		}
	}()
}

func (s *Sandbox) send(target string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "Mangopay-Webhooks (mangopaysim)")
	resp, err := s.hooksC.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// notificationURL appends Mangopay's query string (RessourceId, double s).
func notificationURL(base string, ev Event) string {
	q := "EventType=" + url.QueryEscape(ev.EventType) + "&RessourceId=" + url.QueryEscape(ev.ResourceID) +
		"&Date=" + strconv.FormatInt(ev.Date, 10)
	if strings.Contains(base, "?") {
		return base + "&" + q
	}
	return base + "?" + q
}

func (s *Sandbox) logDeliveryLocked(d Delivery) {
	s.st.deliverySeq++
	d.Seq = s.st.deliverySeq
	s.st.deliveries = append(s.st.deliveries, d)
	if len(s.st.deliveries) > maxDeliveryLog {
		s.st.deliveries = s.st.deliveries[len(s.st.deliveries)-maxDeliveryLog:]
	}
}
