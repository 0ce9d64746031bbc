package workflows

import (
	"time"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/notify"
	"github.com/kycflow/kycflow/webhookstream"
)

// Input starts an onboarding. State is set only when the workflow continues
// as new.
type Input struct {
	UserID    string `json:"UserId"`
	ReturnURL string `json:"ReturnUrl"`
	Tag       string `json:"Tag,omitempty"`
	Config    Config `json:"Config"`
	State     *State `json:"State,omitempty"`
	// Carried are the previous closed run's undelivered notifications
	// (its Result.Undelivered): a new onboarding sends them first, in
	// order, so the platform hears the old story before the new one.
	Carried []notify.Event `json:"Carried,omitempty"`
	// PriorTimeline is the trail of the user's previous onboarding, closed
	// (a reopen, a signup after a cancel): the new one's goes on from it.
	PriorTimeline []audit.Entry `json:"PriorTimeline,omitempty"`
	// Refusals and Attempt go on from the closed run after a restart that
	// is not an operator's Reopen (a signup after a cancel, say): only an
	// operator's Reopen counts refusals from zero again, so the platform
	// cannot get round MaxAttempts by cancelling before the last refusal.
	Refusals int `json:"Refusals,omitempty"`
	Attempt  int `json:"Attempt,omitempty"`
}

// Config tunes the workflow; zero fields take the defaults.
type Config struct {
	// ReconcileSchedule spaces out the re-reads of a pending session, as
	// delays after the previous read; the last one repeats.
	ReconcileSchedule []time.Duration `json:"ReconcileSchedule,omitempty"`
	// ReviewReconcileInterval spaces out re-reads during manual review.
	ReviewReconcileInterval time.Duration `json:"ReviewReconcileInterval,omitempty"`
	// ReviewOverdueAfter marks a review as overdue in the Web UI.
	ReviewOverdueAfter time.Duration `json:"ReviewOverdueAfter,omitempty"`
	// MaxAttempts caps consecutive refused sessions before FAILED.
	MaxAttempts int `json:"MaxAttempts,omitempty"`
	// RetryBackoff is the wait before the first retry after a refusal; it
	// doubles for each further one. A user coming back (ensure-session)
	// skips it.
	RetryBackoff time.Duration `json:"RetryBackoff,omitempty"`
	// SessionLifetime is how long a HostedUrl can be submitted.
	SessionLifetime time.Duration `json:"SessionLifetime,omitempty"`
	// MaxDedupeKeys bounds the remembered webhook keys.
	MaxDedupeKeys int `json:"MaxDedupeKeys,omitempty"`
	// MaxHistoryEvents continues as new past this history length even if
	// the server has not suggested it (0: only when suggested).
	MaxHistoryEvents int `json:"MaxHistoryEvents,omitempty"`
	// ExpiryGrace is how long after a session's 7 days a still-PENDING
	// session is declared EXPIRED: Mangopay keeps a session submitted in
	// the last minutes PENDING while it processes it.
	ExpiryGrace time.Duration `json:"ExpiryGrace,omitempty"`
	// MaxRetryBackoff caps the doubling wait between refused attempts.
	MaxRetryBackoff time.Duration `json:"MaxRetryBackoff,omitempty"`
	// FinalNotifyWait is how long a finished onboarding waits for its
	// last platform notifications before it completes.
	FinalNotifyWait time.Duration `json:"FinalNotifyWait,omitempty"`
	// FinalDeliveryWait is how long a finished onboarding goes on
	// delivering its last platform notifications (its update handlers are
	// stopped at FinalNotifyWait) before it completes with them
	// undelivered: by default the whole retry schedule of a notification,
	// so that a platform down for a day receives everything, in order,
	// without an operator. An ensure-session (or an operator's reopen)
	// ends the wait at once: the next onboarding carries them.
	FinalDeliveryWait time.Duration `json:"FinalDeliveryWait,omitempty"`
	// RenewalReminders are how long before the renewal deadline the
	// platform is reminded (besides the notice when renewal is required).
	RenewalReminders []time.Duration `json:"RenewalReminders,omitempty"`
	// HintWindow spaces out the re-reads a webhook (a hint) causes: the
	// first hint about a resource is followed at once, the next ones
	// within HintWindow of that read make one read at its end. However
	// many webhooks arrive (forged ones each with a new Date pass the
	// dedupe), a resource is re-read at most once per window, never
	// before its newest hint.
	HintWindow time.Duration `json:"HintWindow,omitempty"`
}

// DefaultHintWindow is HintWindow's default: short enough that a genuine
// webhook that follows another one within it is acted on seconds later, long
// enough that a flood costs a read every few seconds, not one per webhook.
const DefaultHintWindow = 5 * time.Second

// DefaultFinalDeliveryWait is FinalDeliveryWait's default: a notification's
// whole retry schedule (activities.NotifyDeliveryWindow), and an hour for the
// events queued behind the one that waited.
const DefaultFinalDeliveryWait = activities.NotifyDeliveryWindow + time.Hour

// DefaultConfig is used for every zero field of Input.Config.
func DefaultConfig() Config {
	return Config{
		// Webhooks are the primary channel, and the fleet reconciliation
		// (reconcile/, every RECONCILE_EVENTS_EVERY) finds a lost one from
		// Mangopay's Events API. What only the workflow can know is the
		// expiry (no event before 2026-08): a pending session is read at it,
		// and these reads every 8 days are a last net, past the lifetime.
		ReconcileSchedule:       []time.Duration{8 * 24 * time.Hour},
		ReviewReconcileInterval: 72 * time.Hour,
		ReviewOverdueAfter:      5 * 24 * time.Hour,
		MaxAttempts:             3,
		RetryBackoff:            time.Minute,
		SessionLifetime:         7 * 24 * time.Hour,
		MaxDedupeKeys:           1000,
		ExpiryGrace:             time.Hour,
		MaxRetryBackoff:         24 * time.Hour,
		FinalNotifyWait:         10 * time.Minute,
		FinalDeliveryWait:       DefaultFinalDeliveryWait,
		RenewalReminders:        []time.Duration{30 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour},
		HintWindow:              DefaultHintWindow,
	}
}

// withDefaults fills the zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if len(c.ReconcileSchedule) == 0 {
		c.ReconcileSchedule = d.ReconcileSchedule
	}
	if c.ExpiryGrace <= 0 {
		c.ExpiryGrace = d.ExpiryGrace
	}
	if c.MaxRetryBackoff <= 0 {
		c.MaxRetryBackoff = d.MaxRetryBackoff
	}
	if c.FinalNotifyWait <= 0 {
		c.FinalNotifyWait = d.FinalNotifyWait
	}
	if c.FinalDeliveryWait <= 0 {
		c.FinalDeliveryWait = d.FinalDeliveryWait
	}
	if len(c.RenewalReminders) == 0 {
		c.RenewalReminders = d.RenewalReminders
	}
	if c.ReviewReconcileInterval <= 0 {
		c.ReviewReconcileInterval = d.ReviewReconcileInterval
	}
	if c.ReviewOverdueAfter <= 0 {
		c.ReviewOverdueAfter = d.ReviewOverdueAfter
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = d.RetryBackoff
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = d.SessionLifetime
	}
	if c.MaxDedupeKeys <= 0 {
		c.MaxDedupeKeys = d.MaxDedupeKeys
	}
	if c.HintWindow <= 0 {
		c.HintWindow = d.HintWindow
	}
	return c
}

// EnsureSessionRequest is the ensure-session update's argument. ReturnUrl
// and Tag apply to the next session created.
type EnsureSessionRequest struct {
	ReturnURL string `json:"ReturnUrl,omitempty"`
	Tag       string `json:"Tag,omitempty"`
	// SessionLanguage is the hosted page's language (SessionLanguages).
	SessionLanguage string `json:"SessionLanguage,omitempty"`
	// Actor is who asked, for the audit trail: "platform" for the
	// platform's token, "operator:<name>" for an operator's (a reopen).
	Actor string `json:"Actor,omitempty"`
	// Reason is why an operator asked (required of an operator's reopen).
	Reason string `json:"Reason,omitempty"`
	// IdempotencyKey is the platform's Idempotency-Key of the call, for the
	// timeline.
	IdempotencyKey string `json:"IdempotencyKey,omitempty"`
	// Reopen is set by Reopen: the caller starts a new onboarding whatever
	// the last one's outcome, so a FAILED run still delivering its last
	// notifications closes for it (releaseForNext).
	Reopen bool `json:"Reopen,omitempty"`
}

// EnsureSessionResult is the ensure-session update's answer.
type EnsureSessionResult struct {
	UserID       string `json:"UserId"`
	Status       Status `json:"Status"`
	Reason       string `json:"Reason,omitempty"`
	IdvSessionID string `json:"IdvSessionId,omitempty"`
	HostedURL    string `json:"HostedUrl,omitempty"`
	ExpiresAt    string `json:"ExpiresAt,omitempty"`
	Attempt      int    `json:"Attempt"`
	// ScopeBlocked: the user's money flows Mangopay blocks, once known.
	ScopeBlocked *ScopeBlocked `json:"ScopeBlocked,omitempty"`
}

// SubmitDocumentRequest is the submit-document update's argument: pages are
// claim-check keys, never bytes.
type SubmitDocumentRequest struct {
	Type  string   `json:"Type"`
	Pages []string `json:"Pages"`
	Tag   string   `json:"Tag,omitempty"`
	// IdempotencyKey is the platform's key for this submission (the HTTP
	// Idempotency-Key header): SubmitDocument uses it as the update's ID.
	// It never reaches the workflow's input.
	IdempotencyKey string `json:"-"`
}

// SubmitDocumentResult is the submit-document update's answer.
type SubmitDocumentResult struct {
	KycDocumentID string `json:"KycDocumentId"`
	Status        string `json:"Status"`
}

// RetryPSCRequest is the retry-psc update's argument.
type RetryPSCRequest struct {
	PscID string `json:"PscId"`
}

// PSC is one PSC session of a business, as the state and the platform API
// show it: no names or contact details (they stay at Mangopay). The
// workflow owns it (the activities' PSCSummary is what one read returns);
// the JSON names are the state's and the API's wire format.
type PSC struct {
	PscID     string `json:"PscId"`
	PscType   string `json:"PscType,omitempty"`
	Status    string `json:"Status"`
	HostedURL string `json:"HostedUrl,omitempty"`
	// MainSessionID is the user's main IDV session the PSC belongs to
	// (empty when Mangopay does not say).
	MainSessionID string `json:"MainSessionId,omitempty"`
}

// pscFrom is the PSC an activity read.
func pscFrom(p activities.PSCSummary) PSC {
	return PSC{PscID: p.PscID, PscType: p.PscType, Status: p.Status, HostedURL: p.HostedURL, MainSessionID: p.MainSessionID}
}

// pscsFrom is the PSCs an activity read (nil for nil).
func pscsFrom(ps []activities.PSCSummary) []PSC {
	if ps == nil {
		return nil
	}
	out := make([]PSC, len(ps))
	for i, p := range ps {
		out[i] = pscFrom(p)
	}
	return out
}

// CheckSummary is one check of an IDV session, as the state and the
// platform API show it: its type, status and refusal reasons.
type CheckSummary struct {
	Type    string   `json:"Type"`
	Status  string   `json:"Status"`
	Reasons []Reason `json:"Reasons,omitempty"`
}

// Reason is a refusal reason: a type and Mangopay's text for it.
type Reason struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// checksFrom is the checks of a session an activity read (nil for nil).
func checksFrom(cs []activities.CheckSummary) []CheckSummary {
	if cs == nil {
		return nil
	}
	out := make([]CheckSummary, len(cs))
	for i, c := range cs {
		out[i] = CheckSummary{Type: c.Type, Status: c.Status}
		if c.Reasons != nil {
			out[i].Reasons = make([]Reason, len(c.Reasons))
			for j, r := range c.Reasons {
				out[i].Reasons[j] = Reason{Type: r.Type, Value: r.Value}
			}
		}
	}
	return out
}

// CancelRequest is the cancel update's argument.
type CancelRequest struct {
	Reason string `json:"Reason,omitempty"`
	// Actor is who asked: "platform" or "operator:<name>" (EnsureSessionRequest.Actor).
	Actor string `json:"Actor,omitempty"`
}

// Session is the current IDV session.
type Session struct {
	IdvSessionID string         `json:"IdvSessionId"`
	HostedURL    string         `json:"HostedUrl"`
	Status       string         `json:"Status"` // Mangopay's
	CreatedAt    time.Time      `json:"CreatedAt"`
	ExpiresAt    time.Time      `json:"ExpiresAt"`
	Checks       []CheckSummary `json:"Checks,omitempty"`
}

// AttemptRecord is a past session.
type AttemptRecord struct {
	Attempt      int       `json:"Attempt"`
	IdvSessionID string    `json:"IdvSessionId"`
	Status       string    `json:"Status"`
	Reasons      []string  `json:"Reasons,omitempty"`
	CreatedAt    time.Time `json:"CreatedAt"`
	EndedAt      time.Time `json:"EndedAt"`
}

// Document is a KYC document sent through submit-document.
type Document struct {
	KycDocumentID     string    `json:"KycDocumentId"`
	Type              string    `json:"Type"`
	Status            string    `json:"Status"`
	RefusedReasonType string    `json:"RefusedReasonType,omitempty"`
	CreatedAt         time.Time `json:"CreatedAt"`
	// RequestID is the submit-document update's ID (the platform's
	// Idempotency-Key): a retry with the same one gets this document.
	RequestID string `json:"RequestId,omitempty"`
}

// State is everything the workflow knows. It is carried across
// continue-as-new, dedupe keys and unprocessed events included.
type State struct {
	UserID          string                        `json:"UserId"`
	UserType        string                        `json:"UserType,omitempty"`
	Status          Status                        `json:"Status"`
	Reason          string                        `json:"Reason,omitempty"`
	Attempt         int                           `json:"Attempt"`
	Refusals        int                           `json:"Refusals"`
	ReturnURL       string                        `json:"ReturnUrl"`
	Tag             string                        `json:"Tag,omitempty"`
	Session         *Session                      `json:"Session,omitempty"`
	History         []AttemptRecord               `json:"History,omitempty"`
	Documents       []Document                    `json:"Documents,omitempty"`
	ReviewSince     *time.Time                    `json:"ReviewSince,omitempty"`
	NextReconcileAt time.Time                     `json:"NextReconcileAt"`
	ReconcileStep   int                           `json:"ReconcileStep"`
	RetryAt         time.Time                     `json:"RetryAt"`
	WantSession     bool                          `json:"WantSession,omitempty"`
	SeenEvents      []string                      `json:"SeenEvents,omitempty"`
	PendingEvents   []webhookstream.MangopayEvent `json:"PendingEvents,omitempty"`
	// Hints are the resources re-read within the last HintWindow, each
	// with the newest hint that came after its read (the read owed at the
	// window's end).
	Hints []Hint `json:"Hints,omitempty"`
	// SessionLanguage applies to the next session created.
	SessionLanguage string `json:"SessionLanguage,omitempty"`
	// PSCs are the business's PSC sessions (AWAITING_PSCS and after).
	PSCs []PSC `json:"PSCs,omitempty"`
	// RenewalDeadline is when Mangopay downgrades the user unless they
	// renew (RENEWAL_REQUIRED); RemindersSent counts the reminders of it.
	RenewalDeadline *time.Time `json:"RenewalDeadline,omitempty"`
	RemindersSent   int        `json:"RemindersSent,omitempty"`
	// RenewalNoticeAt is when Mangopay asks for the renewal of the deadline
	// it has on record but not due yet (every OWNER has one): 90 days
	// before it. A VERIFIED onboarding reads the regulatory status again
	// then, should USER_KYC_RENEWAL_REQUIRED be lost. Zero: none known.
	RenewalNoticeAt time.Time `json:"RenewalNoticeAt,omitempty"`
	// RenewalAsked: USER_KYC_RENEWAL_REQUIRED came before the onboarding
	// knew the user verified; it is acted on once it does.
	RenewalAsked bool `json:"RenewalAsked,omitempty"`
	// AccessDenied says why the onboarding waits for Mangopay to let
	// kycflow in (401, 403); "" when it does not wait.
	AccessDenied string `json:"AccessDenied,omitempty"`
	// AccessTries counts the denied tries of the call waited on;
	// AccessRetryAt is when it is tried again.
	AccessTries   int       `json:"AccessTries,omitempty"`
	AccessRetryAt time.Time `json:"AccessRetryAt,omitempty"`
	// ScopeBlocked is Mangopay's last word on blocked money flows (nil
	// until read: USER_INFLOWS_/USER_OUTFLOWS_ webhooks make it read).
	ScopeBlocked *ScopeBlocked `json:"ScopeBlocked,omitempty"`
	// ScopeAsked: a block webhook came while the onboarding was STARTING;
	// the regulatory status is read once the preflight is done.
	ScopeAsked bool `json:"ScopeAsked,omitempty"`
	// Attention is the KycAttention search attribute's value ("" unset).
	Attention string `json:"Attention,omitempty"`
	// RenewalSASet: the KycRenewalDeadline search attribute is set.
	RenewalSASet bool `json:"RenewalSASet,omitempty"`
	// ReviewSASet: the KycReviewSince search attribute is set.
	ReviewSASet bool `json:"ReviewSASet,omitempty"`
	// Outbox holds the platform notifications not delivered yet, oldest
	// first: they are sent one at a time, in order, and carried across
	// continue-as-new.
	Outbox []notify.Event `json:"Outbox,omitempty"`
	// NotifyHeld says why the outbox is held ("" while it is sent): its
	// first event was not delivered within its retry schedule. The events
	// wait, in order, for an operator's resend-notifications.
	NotifyHeld string `json:"NotifyHeld,omitempty"`
	// StatusChanges counts status changes: part of each status
	// notification's id, so that a status reached again on the same
	// attempt (a second "verified" after a renewal) is a new event for the
	// platform, not a duplicate it drops.
	StatusChanges int `json:"StatusChanges,omitempty"`
	// Rejected is Mangopay's refusal of the platform's last request (a user
	// that does not exist, a field it refuses), until the next creation.
	Rejected *RequestError `json:"Rejected,omitempty"`
	// RequestsRefused counts them: part of the next creation's idempotency
	// key, since Mangopay answers a key with its first response (the
	// refusal) for 24 hours.
	RequestsRefused int       `json:"RequestsRefused,omitempty"`
	UpdatedAt       time.Time `json:"UpdatedAt"`
	// Timeline is the onboarding's audit trail (audit.Compact bounds it).
	Timeline []audit.Entry `json:"Timeline,omitempty"`
	// OnboardingID names the trail (each entry's OnboardingID): the prior
	// trail's when the onboarding goes on from one, a new one otherwise.
	OnboardingID string `json:"OnboardingId,omitempty"`
	// WantCause is the cause of the ask WantSession records (the call that
	// asked for a new session), for the transition it leads to.
	WantCause *audit.Cause `json:"WantCause,omitempty"`
}

// TimelineView is the timeline query's answer: the onboarding's audit
// trail, oldest first.
type TimelineView struct {
	UserID  string        `json:"UserId"`
	Status  Status        `json:"Status"`
	Entries []audit.Entry `json:"Entries"`
}

// StateView is the state query's answer.
type StateView struct {
	UserID       string         `json:"UserId"`
	UserType     string         `json:"UserType,omitempty"`
	Status       Status         `json:"Status"`
	Reason       string         `json:"Reason,omitempty"`
	Attempt      int            `json:"Attempt"`
	IdvSessionID string         `json:"IdvSessionId,omitempty"`
	HostedURL    string         `json:"HostedUrl,omitempty"`
	ExpiresAt    string         `json:"ExpiresAt,omitempty"`
	Checks       []CheckSummary `json:"Checks,omitempty"`
	ReviewSince  string         `json:"ReviewSince,omitempty"`
	PSCs         []PSC          `json:"PSCs,omitempty"`
	// RenewalDeadline (RFC 3339) is set while RENEWAL_REQUIRED.
	RenewalDeadline string          `json:"RenewalDeadline,omitempty"`
	Documents       []Document      `json:"Documents,omitempty"`
	History         []AttemptRecord `json:"History,omitempty"`
	// ScopeBlocked: the user's money flows Mangopay blocks, once known.
	ScopeBlocked *ScopeBlocked `json:"ScopeBlocked,omitempty"`
	// Undelivered: the notifications held after one was not delivered
	// within its retry schedule, until an operator re-sends them.
	Undelivered *HeldNotifications `json:"Undelivered,omitempty"`
	UpdatedAt   string             `json:"UpdatedAt"`
}

// HeldNotifications are an onboarding's notifications held undelivered, in
// the order they will be sent.
type HeldNotifications struct {
	Reason string      `json:"Reason"`
	Events []HeldEvent `json:"Events"`
}

// HeldEvent is one held notification (its id is the webhook-id).
type HeldEvent struct {
	ID         string `json:"Id"`
	Type       string `json:"Type"`
	OccurredAt string `json:"OccurredAt"`
}

// ResendRequest is the resend-notifications update's argument: an
// operator's action, so it says who ("operator:<name>") and why; both go
// into the timeline.
type ResendRequest struct {
	Actor  string `json:"Actor"`
	Reason string `json:"Reason"`
}

// ResendResult is the resend-notifications update's answer.
type ResendResult struct {
	UserID string `json:"UserId"`
	// Queued is how many notifications are now being sent, in order.
	Queued int `json:"Queued"`
	// WasHeld: the outbox was held (otherwise it was already being sent).
	WasHeld bool `json:"WasHeld"`
}

// Result is the workflow's result when the onboarding ends.
type Result struct {
	UserID  string `json:"UserId"`
	Status  Status `json:"Status"`
	Reason  string `json:"Reason,omitempty"`
	Attempt int    `json:"Attempt"`
	// Refusals is the count of consecutive refused sessions when the run
	// ended: a signup after it goes on from there (Input.Refusals).
	Refusals int `json:"Refusals,omitempty"`
	// Undelivered lists the platform notifications still undelivered
	// when the onboarding completed.
	Undelivered []notify.Event `json:"Undelivered,omitempty"`
	// Rejected: the run ended before any session because Mangopay refused
	// the platform's request; the next signup starts a new onboarding.
	Rejected *RequestError `json:"Rejected,omitempty"`
}

// ScopeBlocked is what Mangopay's regulatory status says it blocks of the
// user's money flows: what a platform acts on (no pay-ins while Inflows,
// no payouts while Outflows).
type ScopeBlocked struct {
	Inflows  bool `json:"Inflows"`
	Outflows bool `json:"Outflows"`
	// ActionCode is Mangopay's code for the block (empty when none).
	ActionCode string `json:"ActionCode,omitempty"`
}

// UsableAt drops the link of a view read at now (the wall clock) after the
// link expired: the workflow's clock is the time of its last task, which
// may be days old.
func (v StateView) UsableAt(now time.Time) StateView {
	if !linkUsableAt(v.ExpiresAt, now) {
		v.HostedURL, v.ExpiresAt = "", ""
	}
	return v
}

// UsableAt drops the link of an answer read at now after the link expired.
func (r EnsureSessionResult) UsableAt(now time.Time) EnsureSessionResult {
	if !linkUsableAt(r.ExpiresAt, now) {
		r.HostedURL, r.ExpiresAt = "", ""
	}
	return r
}

func linkUsableAt(expiresAt string, now time.Time) bool {
	t, err := time.Parse(time.RFC3339, expiresAt)
	return err == nil && now.Before(t)
}
