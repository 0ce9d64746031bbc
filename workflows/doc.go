// Package workflows holds kycflow's onboarding workflow: one durable
// KYCOnboarding execution per Mangopay user (ID kyc-<UserId>) that takes the
// user from signup to verified and keeps them there, plus the names other
// programs use to talk to it (task queue, signal, updates, query, search
// attributes) and the client helpers that start and drive it.
//
// # States
//
// The status is what Mangopay says of the user: KYCLevel is the truth. A
// REGULAR user who was not cancelled is VERIFIED, or RENEWAL_REQUIRED while
// Mangopay has a renewal due (AWAITING_USER or IN_REVIEW while a renewal
// session runs); a LIGHT user is never VERIFIED once quiet.
//
//	                 preflight (read user)
//	STARTING ──────────────┬──────────────────────────────► NOT_ELIGIBLE ■
//	                       │ REGULAR already ─────────────► VERIFIED
//	                       ▼ create session
//	             ┌──► AWAITING_USER ──REVIEW──► IN_REVIEW ──┐
//	             │        │   │                     │       │
//	             │        │   │  business: AWAITING_PSCS ◄──┤ (until Mangopay says REGULAR)
//	             │ expired│   └────VALIDATED───► VERIFIED ◄─┘◄── REGULAR by any means
//	             │        │                        │ ▲           (KYC documents, USER_KYC_REGULAR)
//	             │        │     renewal required   ▼ │ renewed (deadline cleared)
//	             │        │  ┌───────────► RENEWAL_REQUIRED ◄───────────────────────┐
//	             │        │  │                │  reminders; a moved deadline followed│
//	             │        │  │ ensure-session ▼                                      │
//	             │        │  │    AWAITING_USER / IN_REVIEW (renewal session) ───────┘
//	             │        │  │        expired or refused: back, with the reason;
//	             │        │  │        validated: back until Mangopay renews (a
//	             │        │  │        business's renewal PSC sessions included)
//	             │        ▼  │
//	ensure-session  EXPIRED  └── deadline passed and Mangopay downgraded (LIGHT) ──┐
//	             │                                                                 ▼
//	             ├──── REFUSED ◄──REFUSED────── new session ◄──────────────── OUT_OF_DATE
//	             │   (retry after backoff or when the user is back;       ▲ downgrade (OUTDATED,
//	             │    cap or final reason ──────────► FAILED ■)           │ USER_KYC_LIGHT)
//	             └──────────────                                   VERIFIED, RENEWAL_REQUIRED
//	any state ──cancel (update or Temporal)─────────► CANCELLED ■
//
// ■ final: the workflow completes and its status never changes again. Every
// other state is watched for ever (continuing as new to keep history
// bounded); webhooks are hints that make the workflow re-read Mangopay. A
// final status completes the run once its notifications are delivered or
// held, within FinalDeliveryWait (their three-day retry schedule), or at
// once when a new signup asks for the next onboarding: what the platform has
// not received by then is listed in Result.Undelivered, for the next
// onboarding (or an operator) to send.
//
// While Mangopay denies kycflow access (401, 403) on the first read of the
// user or on a session's creation, the status stays where it was (STARTING,
// EXPIRED, REFUSED…), ensure-session answers at once with the reason,
// KycAttention is MANGOPAY_ACCESS_DENIED, and the main loop tries again
// after a growing pause (1 min doubling to 1 h), continuing as new like in
// any other wait. A HostedUrl is shown only while its session is PENDING
// and before its ExpiresAt; ensure-session after the 7 days re-reads the
// session and opens a fresh one if Mangopay still has it PENDING.
// Mangopay's blocks of the user's money flows (ScopeBlocked) are followed
// through their webhooks but are no status.
// A renewal deadline already past while Mangopay has not downgraded yet is
// still a renewal due (RENEWAL_REQUIRED, read again daily); PSC sessions of
// an earlier main session are history. An open session still PENDING is
// reused, never doubled.
//
// The workflow's code is split by concern: onboarding.go (the main loop,
// preflight and session creation), events.go (webhooks and what Mangopay
// says), waiting.go (timers and wake-ups), visibility.go (status, search
// attributes, Web UI details), notifications.go (platform notifications),
// continueasnew.go (continue-as-new and completion), handlers.go (updates and
// the query), scope.go (blocked money flows).
package workflows
