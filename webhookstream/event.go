// Package webhookstream is the Mangopay webhook as kycflow keeps it: the
// parsed event (MangopayEvent, also the onboarding workflow's
// mangopay-event signal), the validation of a notification's query
// (ParseWebhook), and the Redis stream that holds webhooks durably between
// the bridge's intake and its forwarder (Store and the key names). It is a
// leaf: the bridge, the workflow and the reconciliation all import it, so
// none of them needs another's HTTP or Temporal machinery for it.
package webhookstream

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/kycflow/kycflow/mangopay"
)

// MangopayEvent is a webhook, parsed, and the onboarding workflow's
// mangopay-event signal: a hint that the resource changed, never trusted
// for its content (the workflow re-reads the API). The JSON names are the
// signal's wire format, kept in recorded histories: never rename them.
type MangopayEvent struct {
	EventType  mangopay.EventType `json:"EventType"`
	ResourceID string             `json:"ResourceId"`
	Date       int64              `json:"Date"`
	EventKey   string             `json:"EventKey"`
}

// Key is the deduplication key EventType|ResourceId|Date.
func (e MangopayEvent) Key() string {
	return string(e.EventType) + "|" + e.ResourceID + "|" + strconv.FormatInt(e.Date, 10)
}

// Errors of ParseWebhook.
var (
	// ErrPing is the Dashboard's test notification (empty RessourceId): it
	// gets a 200 and is not forwarded.
	ErrPing = errors.New("ping: empty RessourceId")
	// ErrBadWebhook wraps every validation failure.
	ErrBadWebhook = errors.New("invalid webhook")
)

// Bounds of a webhook's parameters.
const (
	maxEventType  = 100
	maxResourceID = 128
)

// The Date is never trusted (the workflow re-reads the API); it is only
// bounded to reject garbage. earliestDate is before Mangopay existed in its
// current form; MaxDateAhead is generous because the simulator's clock can be
// moved months ahead to exercise expiries and retries.
var earliestDate = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// MaxDateAhead is how far past the bridge's clock a webhook's Date may be.
const MaxDateAhead = 400 * 24 * time.Hour

// ParseWebhook validates the query of a Mangopay webhook:
// EventType=<TYPE>&RessourceId=<id>&Date=<unix>. ResourceId (one s) is
// accepted too. now bounds the date.
func ParseWebhook(q url.Values, now time.Time) (MangopayEvent, error) {
	var ev MangopayEvent
	eventType, err := single(q, "EventType")
	if err != nil {
		return ev, err
	}
	rid, err := single(q, "RessourceId")
	if err != nil {
		return ev, err
	}
	alt, err := single(q, "ResourceId")
	if err != nil {
		return ev, err
	}
	switch {
	case rid == "":
		rid = alt
	case alt != "" && alt != rid:
		return ev, fmt.Errorf("%w: RessourceId and ResourceId disagree", ErrBadWebhook)
	}
	if rid == "" {
		return ev, ErrPing
	}
	if !validEventType(eventType) {
		return ev, fmt.Errorf("%w: EventType must be 3 to %d of A-Z, 0-9 and _, starting with a letter", ErrBadWebhook, maxEventType)
	}
	if !ValidResourceID(rid) {
		return ev, fmt.Errorf("%w: RessourceId must be 1 to %d of A-Z, a-z, 0-9, _ and -", ErrBadWebhook, maxResourceID)
	}
	rawDate, err := single(q, "Date")
	if err != nil {
		return ev, err
	}
	date, err := strconv.ParseInt(rawDate, 10, 64)
	if err != nil {
		return ev, fmt.Errorf("%w: Date must be a Unix timestamp in seconds", ErrBadWebhook)
	}
	if date < earliestDate || date > now.Add(MaxDateAhead).Unix() {
		return ev, fmt.Errorf("%w: Date %d is out of range", ErrBadWebhook, date)
	}
	ev = MangopayEvent{EventType: mangopay.EventType(eventType), ResourceID: rid, Date: date}
	ev.EventKey = ev.Key()
	return ev, nil
}

// single returns a parameter given at most once.
func single(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", fmt.Errorf("%w: %s is given %d times", ErrBadWebhook, name, len(vs))
}

func validEventType(s string) bool {
	if len(s) < 3 || len(s) > maxEventType || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidResourceID reports whether s has the shape of a Mangopay ID (1 to
// 128 of A-Z, a-z, 0-9, _ and -): the one check of IDs that arrive from
// outside (webhooks, platform API paths, request IDs).
func ValidResourceID(s string) bool {
	if len(s) == 0 || len(s) > maxResourceID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
