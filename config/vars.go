package config

import "time"

// DevSwitch is the development switch: KYCFLOW_DEV=1 allows the published
// development defaults, and only on loopback against a simulator.
const DevSwitch = "KYCFLOW_DEV"

// PayloadEncryptionOff is the value of PAYLOAD_ENCRYPTION that stores
// Temporal payloads in clear on purpose.
const PayloadEncryptionOff = "off"

// Shorthands for the readers of the declarations below.
var (
	clients   = []Process{Worker, Notifications, Bridge, Starter}                                 // Temporal clients with payloads
	temporals = []Process{Worker, Admin, Notifications, Bridge, Starter}                          // every Temporal connection
	commands  = []Process{Worker, Admin, Notifications, Bridge, Codec, Parked, Starter, Devstack} // kycflow's own commands (logging, KYCFLOW_DEV)
	mangopays = []Process{Worker, Bridge, Starter}                                                // Mangopay clients
	budgeted  = []Process{Worker, Bridge, Starter, Devstack}                                      // the shared call budget
	services  = []Process{Worker, Bridge}                                                         // long-running services
	traced    = []Process{Worker, Bridge, Devstack}                                               // OpenTelemetry tracing
)

// Vars declares every environment variable kycflow reads, grouped as the
// docs show them. The names are a contract (DESIGN.md): never rename one.
var Vars = []Var{
	// Mode and logging.
	{Name: DevSwitch, Type: "bool", Default: "0", Allowed: "1, 0, true or false", Readers: commands,
		Meaning: "Development mode: published development defaults, loopback listeners and a simulator only (make dev sets it)."},
	{Name: "LOG_LEVEL", Type: "enum", Default: "info", ProcessDefault: map[Process]string{Starter: "warn"},
		Allowed: "debug, info, warn, error", Readers: commands, check: isLogLevel,
		Meaning: "Log level (the starter logs warnings only, to keep its output to the answer)."},
	{Name: "LOG_FORMAT", Type: "enum", Computed: "text on a terminal, json otherwise", Allowed: "json, text",
		Readers: commands, check: oneOf("json", "text"), Meaning: "Log format on stderr."},

	// Tracing (OpenTelemetry's standard variables; the exporter reads them
	// itself, kycflow only decides from the first four whether to trace).
	{Name: "OTEL_SDK_DISABLED", Type: "bool", Default: "false", Readers: traced, check: isBool,
		Meaning: "true turns tracing off whatever else is set."},
	{Name: "OTEL_TRACES_EXPORTER", Type: "enum", Computed: "otlp when an OTLP endpoint is set, none otherwise", Allowed: "otlp, none",
		Readers: traced, check: oneOf("otlp", "none"), Meaning: "Where spans go: otlp (OTLP over HTTP/protobuf) or nowhere (tracing off)."},
	{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Type: "URL", Readers: traced, check: isHTTPURL, redact: redactURL,
		Meaning: "OTLP/HTTP collector (for example http://otel-collector:4318); setting it turns tracing on."},
	{Name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Type: "URL", Readers: traced, check: isHTTPURL, redact: redactURL,
		Meaning: "Full URL of the traces endpoint, instead of the endpoint's /v1/traces; setting it turns tracing on."},
	{Name: "OTEL_EXPORTER_OTLP_HEADERS", Type: "list", Secret: true, Readers: traced, Allowed: "key=value pairs, comma-separated",
		Meaning: "Headers of every export (a collector's API key)."},
	{Name: "OTEL_SERVICE_NAME", Type: "string", Computed: "the command's name (worker, webhookbridge, devstack)", Readers: traced,
		Meaning: "service.name of the spans."},
	{Name: "OTEL_RESOURCE_ATTRIBUTES", Type: "list", Readers: traced, Allowed: "key=value pairs, comma-separated",
		Meaning: "More resource attributes of the spans (deployment.environment.name=prod, ...)."},
	{Name: "OTEL_TRACES_SAMPLER", Type: "enum", Default: "parentbased_always_on", Readers: traced,
		Allowed: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
		check:   oneOf("always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"),
		Meaning: "Which traces are kept (the SDK's sampler)."},
	{Name: "OTEL_TRACES_SAMPLER_ARG", Type: "number", Readers: traced, Allowed: "0 to 1", Meaning: "The ratio of the traceidratio samplers."},

	// Temporal (read by the Temporal SDK's environment configuration).
	{Name: "TEMPORAL_ADDRESS", Type: "host:port", Default: "localhost:7233", Readers: temporals, check: isHostPort,
		Meaning: "Temporal frontend."},
	{Name: "TEMPORAL_NAMESPACE", Type: "string", Default: "default", Readers: temporals,
		Meaning: "Namespace of the onboardings; kycflow's search attributes must be registered in it."},
	{Name: "TEMPORAL_API_KEY", Type: "string", Secret: true, Readers: temporals, Meaning: "API key for Temporal Cloud."},
	{Name: "TEMPORAL_TLS", Type: "bool", Readers: temporals, check: isBool,
		Meaning: "TLS towards Temporal (on by default with an API key or a client certificate)."},
	{Name: "TEMPORAL_TLS_CLIENT_CERT_PATH", Type: "path", Readers: temporals, Meaning: "Client certificate (PEM) for mTLS to Temporal."},
	{Name: "TEMPORAL_TLS_CLIENT_KEY_PATH", Type: "path", Readers: temporals, Meaning: "Private key (PEM) of that certificate."},
	{Name: "TEMPORAL_TLS_CLIENT_CERT_DATA", Type: "string", Readers: temporals, Meaning: "The client certificate itself (PEM), instead of a path."},
	{Name: "TEMPORAL_TLS_CLIENT_KEY_DATA", Type: "string", Secret: true, Readers: temporals, Meaning: "The private key itself (PEM), instead of a path."},
	{Name: "TEMPORAL_TLS_SERVER_CA_CERT_PATH", Type: "path", Readers: temporals, Meaning: "CA certificate (PEM) that signs the Temporal server's."},
	{Name: "TEMPORAL_TLS_SERVER_NAME", Type: "string", Readers: temporals, Meaning: "Server name to verify in Temporal's certificate."},
	{Name: "TEMPORAL_CONFIG_FILE", Type: "path", Readers: temporals, Meaning: "Temporal client TOML configuration file (profiles)."},
	{Name: "TEMPORAL_PROFILE", Type: "string", Readers: temporals, Meaning: "Profile of that file to use."},

	// Payload encryption.
	{Name: "PAYLOAD_ENCRYPTION_KEY", Type: "list", Secret: true, Readers: []Process{Worker, Notifications, Bridge, Codec, Starter},
		Allowed: "32-byte keys in hex or base64, comma-separated (the first encrypts); required outside development unless PAYLOAD_ENCRYPTION=off",
		Meaning: "AES-256 key(s) of every payload and error text kycflow stores in Temporal (HostedUrl, Mangopay's error texts: PII)."},
	{Name: "PAYLOAD_ENCRYPTION", Type: "enum", Default: "on", Allowed: "on, off", Readers: clients, check: oneOf("on", PayloadEncryptionOff),
		Meaning: "off stores Temporal payloads in clear on purpose (outside development the only way to run without PAYLOAD_ENCRYPTION_KEY)."},
	{Name: "CODEC_SERVER_TOKEN", Type: "list", Secret: true, Readers: []Process{Bridge, Codec},
		Allowed: "tokens of 16+ characters without / ? # , or spaces, comma-separated (a rotation lists the new one first, then the old); required with a payload key outside development",
		Meaning: "Token(s) of the codec server that decrypts payloads for the Web UI (bearer, or the endpoint's last segment); every one listed is accepted."},
	{Name: "CODEC_ALLOWED_ORIGINS", Type: "list", Default: "http://127.0.0.1:8233,http://localhost:8233", Allowed: "comma-separated origins (scheme://host[:port])",
		Readers: []Process{Bridge, Codec}, Meaning: "Web UI origins allowed to call the codec server."},
	{Name: "CODEC_SERVER_ADDR", Type: "host:port", Default: "127.0.0.1:8089", Readers: []Process{Codec}, check: isHostPort, Listener: true,
		Meaning: "Listen address of `webhookbridge codec`."},

	// Redis.
	{Name: "REDIS_URL", Type: "URL", Default: "redis://127.0.0.1:6379/0", ProcessDefault: map[Process]string{Devstack: ""},
		Readers: []Process{Worker, Bridge, Parked, Starter, Devstack}, check: isRedisURL, redact: redactURL,
		Meaning: "Redis of the webhook stream, the routing index, document pages and the call budget (the dev stack embeds one when unset; the starter uses it for the budget of `adopt --all-owners`)."},
	{Name: "REDIS_KEY_PREFIX", Type: "string", Default: "kycflow", ProcessDefault: map[Process]string{Devstack: "kycflow-dev"},
		Allowed: "1 to 64 characters without ':', spaces, braces or glob characters", Readers: []Process{Worker, Bridge, Parked, Starter, Devstack}, check: isKeyPrefix,
		Meaning: "First segment of kycflow's Redis keys: deployments sharing a Redis must differ, or they join one consumer group and acknowledge each other's webhooks (the Mangopay call budget stays one per Mangopay account)."},

	// Mangopay.
	{Name: "MANGOPAY_BASE_URL", Type: "URL", DevDefault: "http://127.0.0.1:8090", RequiredBy: services, Readers: mangopays, check: isHTTPURL,
		Allowed: "https://api.mangopay.com, https://api.sandbox.mangopay.com, their api-mtls hosts, or a simulator; a simulator only under KYCFLOW_DEV=1",
		Meaning: "Mangopay API host."},
	{Name: "MANGOPAY_CLIENT_ID", Type: "string", DevDefault: "kycflow-dev", ProcessDefault: map[Process]string{Sim: "kycflow-dev"},
		RequiredBy: services, Readers: append([]Process{Sim}, mangopays...),
		Meaning: "Mangopay ClientId (Dashboard > Developers); the simulator accepts this one."},
	{Name: "MANGOPAY_API_KEY", Type: "string", Secret: true, DevDefault: "kycflow-dev-api-key", ProcessDefault: map[Process]string{Sim: "kycflow-dev-api-key"},
		RequiredBy: services, Readers: append([]Process{Sim}, mangopays...), Meaning: "Mangopay API key; the simulator accepts this one."},
	{Name: "MANGOPAY_CLIENT_CERT_FILE", Type: "path", Readers: mangopays, Meaning: "Client certificate (PEM) for Mangopay's mTLS hosts."},
	{Name: "MANGOPAY_CLIENT_KEY_FILE", Type: "path", Readers: mangopays, Meaning: "Private key (PEM) of that certificate."},
	{Name: "MANGOPAY_MAX_CALLS_PER_SECOND", Type: "number", Default: "5", ProcessDefault: map[Process]string{Devstack: "50"},
		Allowed: "1/3600 to 1000", Readers: budgeted, check: numberIn(1.0/3600, true, 1000, true),
		Meaning: "Upper bound of kycflow's sustained Mangopay call rate, every process together (the rate itself is read from Mangopay's windows, see MANGOPAY_BUDGET_SHARE; before Mangopay's first answer it is the share of Mangopay's documented limits). Read at start: a change needs a restart."},
	{Name: "MANGOPAY_BUDGET_SHARE", Type: "number", Default: "0.25", ProcessDefault: map[Process]string{Devstack: "1"},
		Allowed: "0 to 1 (0 excluded)", Readers: budgeted, check: numberIn(0, false, 1, true),
		Meaning: "Share of each Mangopay rate-limit window kycflow may spend (a quota: at most this share of the window's limit per window length, and never faster than the window's remaining calls until its reset allow; before Mangopay's first answer, of its documented limits). Also caps the burst at this share of the least remaining calls. Read at start: a change needs a restart (the dev stack's simulator is an account of its own)."},
	{Name: "MANGOPAY_BACKGROUND_MIN_SHARE", Type: "number", Default: "0.1", Allowed: "0 to 1 (1 excluded)", Readers: budgeted, check: numberIn(0, true, 1, false),
		Meaning: "Share of the call rate kept for background calls (the fleet reconciliation), even under interactive load and below the reserve; 0 makes background wait for the reset below the reserve."},
	{Name: "MANGOPAY_MAX_BURST", Type: "int", Default: "300", ProcessDefault: map[Process]string{Devstack: "500"},
		Allowed: "1 to 100000", Readers: budgeted, check: intIn(1, 100_000), Meaning: "Calls that may go at once after a quiet period."},
	{Name: "MANGOPAY_RATE_RESERVE", Type: "number", Default: "0.25", Allowed: "0 to 1 (1 excluded)", Readers: budgeted, check: numberIn(0, true, 1, false),
		Meaning: "Share of each Mangopay rate-limit window kept for the platform's other traffic."},

	// Worker.
	{Name: "WORKER_HTTP_ADDR", Type: "host:port", Default: "127.0.0.1:9091", Readers: []Process{Worker}, check: isHostPort, Listener: true,
		Meaning: "Listen address of the worker's /livez, /healthz, /readyz and /metrics."},
	{Name: "PLATFORM_WEBHOOK_URL", Type: "URL", Allowed: "https outside development", Readers: []Process{Worker, Notifications, Devstack}, check: isHTTPURL,
		Meaning: "Where the worker POSTs signed onboarding events; unset, notifications are logged and skipped."},
	{Name: "PLATFORM_WEBHOOK_SECRET", Type: "secrets", Secret: true,
		Allowed: "one or more `whsec_<base64>` secrets of 24 to 64 bytes, separated by spaces or commas; required with PLATFORM_WEBHOOK_URL",
		Readers: []Process{Worker, Notifications, Devstack}, check: isWebhookSecrets,
		Meaning: "Standard Webhooks signing secrets of the platform notifications; every one signs (a rotation lists the new and the old)."},
	{Name: "WORKER_STICKY_CACHE_SIZE", Type: "int", Computed: "half the memory limit (GOMEMLIMIT or the cgroup's) at 64 KiB a workflow, 200 to 10000; 1000 without a limit", Allowed: "1 to 1000000", Readers: []Process{Worker},
		check: intIn(1, 1_000_000), Meaning: "Workflows kept in memory between their tasks (each about 64 KiB; an evicted one is replayed on its next event)."},
	{Name: "WORKER_WORKFLOW_POLLERS", Type: "int", Computed: "the Temporal SDK's (2)", Allowed: "1 to 1000", Readers: []Process{Worker},
		check: intIn(1, 1000), Meaning: "Concurrent workflow task polls."},
	{Name: "WORKER_ACTIVITY_POLLERS", Type: "int", Computed: "the Temporal SDK's (2)", Allowed: "1 to 1000", Readers: []Process{Worker},
		check: intIn(1, 1000), Meaning: "Concurrent activity task polls."},
	{Name: "RECONCILE_EVENTS_EVERY", Type: "duration", Default: "10m", Allowed: "1m to 24h", Readers: []Process{Worker, Devstack},
		check: durationIn(time.Minute, 24*time.Hour), Meaning: "Interval of the fleet reconciliation through Mangopay's Events API."},
	{Name: "PPROF_ADDR", Type: "host:port", Allowed: "loopback only", Readers: services, check: isLoopbackAddr,
		Meaning: "Serves Go profiles under /debug/pprof/ when set."},

	// Bridge.
	{Name: "WEBHOOK_PATH_TOKEN", Type: "list", Secret: true, DevDefault: "dev-webhook-path-token", RequiredBy: []Process{Bridge},
		Allowed: "tokens of 16 to 128 of A-Z a-z 0-9 _ -, comma-separated (a rotation lists the new one first, then the old)", Readers: []Process{Bridge},
		Meaning: "Secret last segment of the webhook URL (/webhooks/mangopay/<token>): the first is the one registered at Mangopay; every one listed is accepted."},
	{Name: "PLATFORM_API_TOKEN", Type: "list", Secret: true, DevDefault: "dev-platform-api-token", RequiredBy: []Process{Bridge},
		Allowed: "tokens of 16+ characters without , or spaces, comma-separated (a rotation lists the new one first, then the old)", Readers: []Process{Bridge},
		Meaning: "Bearer token(s) of the platform API on the internal listener; every one listed is accepted (actor \"platform\")."},
	{Name: "KYCFLOW_OPERATOR", Type: "string", Allowed: "1 to 64 of A-Z a-z 0-9 . _ -", Readers: []Process{Parked, Starter, Notifications},
		Meaning: "Who runs `webhookbridge dead-letters|unrouted|held replay|purge`, `starter --reopen` and `worker notifications resend` (recorded with its --reason); --operator overrides."},
	{Name: "OPERATOR_API_TOKENS", Type: "list", Secret: true, Readers: []Process{Bridge},
		Allowed: "name=token pairs, comma-separated; names of 1 to 64 of A-Z a-z 0-9 . _ -, tokens of 16+ characters without , = or spaces, none a PLATFORM_API_TOKEN; a name may repeat (a rotation)",
		Meaning: "Operators' bearer tokens for the operator actions (reopen, a compliance cancel), which record the operator's name (actor \"operator:<name>\") and a reason; unset, nobody can reopen over HTTP."},
	{Name: "BRIDGE_PUBLIC_ADDR", Type: "host:port", DevDefault: "127.0.0.1:8080", RequiredBy: []Process{Bridge}, Readers: []Process{Bridge},
		check: isHostPort, Listener: true, Meaning: "Listen address of Mangopay's webhooks (no default outside development: exposing the intake is a decision)."},
	{Name: "BRIDGE_INTERNAL_ADDR", Type: "host:port", Default: "127.0.0.1:8081", Readers: []Process{Bridge}, check: isHostPort, Listener: true,
		Meaning: "Listen address of the platform API, the codec, /readyz and /metrics."},
	{Name: "BRIDGE_PUBLIC_URL", Type: "URL", Computed: "http://<BRIDGE_PUBLIC_ADDR> (loopback)", Allowed: "https when MANGOPAY_BASE_URL is live Mangopay",
		Readers: []Process{Bridge}, check: isHTTPURL, Meaning: "How Mangopay reaches the public listener; hooks are registered at <this>/webhooks/mangopay/<token>."},
	{Name: "BRIDGE_TRUSTED_PROXIES", Type: "list", Allowed: "comma-separated IPs or CIDR ranges", Readers: []Process{Bridge},
		Meaning: "Reverse proxies whose X-Forwarded-For is believed."},
	{Name: "BRIDGE_RESTART_RETURN_URL", Type: "URL", Readers: []Process{Bridge}, check: isHTTPURL,
		Meaning: "ReturnUrl of an onboarding a downgrade webhook restarts; unset, it waits for the platform's next ensure-session."},
	{Name: "BRIDGE_CONSUMER_NAME", Type: "string", Computed: "the host name", Allowed: "1 to 128 of A-Z a-z 0-9 . _ -", Readers: []Process{Bridge},
		Meaning: "This bridge in the webhook stream's consumer group (stable across restarts)."},
	{Name: "BRIDGE_RESTART_UNKNOWN_USERS", Type: "bool", Default: "false", Readers: []Process{Bridge}, check: isBool,
		Meaning: "May a downgrade webhook start an onboarding for a user kycflow has none for."},
	{Name: "BRIDGE_FALLBACK_LOOKUPS_PER_SECOND", Type: "number", Default: "5", Allowed: "above 0, at most 1000", Readers: []Process{Bridge},
		check: numberIn(0, false, 1000, true), Meaning: "Mangopay lookups of resources the routing index misses, and restarts, per second and bridge."},
	{Name: "BRIDGE_INTAKE_PER_CLIENT_PER_SECOND", Type: "number", Default: "200", Allowed: "0 (no limit) to 100000", Readers: []Process{Bridge},
		check:   numberIn(0, true, 100_000, true),
		Meaning: "Webhooks one client address (as BRIDGE_TRUSTED_PROXIES tell it) may send the public intake per second and bridge; over it, 429 (Mangopay retries)."},
	{Name: "BRIDGE_INTAKE_PER_CLIENT_BURST", Type: "int", Computed: "twice BRIDGE_INTAKE_PER_CLIENT_PER_SECOND (at least 1)", Allowed: "1 to 1000000",
		Readers: []Process{Bridge}, check: intIn(1, 1_000_000), Meaning: "Webhooks one client address may send at once after a quiet period."},
	{Name: "BRIDGE_WEBHOOK_MAX_DATE_AHEAD", Type: "duration", Default: "2s", Allowed: "1s to 30s", Readers: []Process{Bridge},
		check:   durationIn(time.Second, 30*time.Second),
		Meaning: "Clock skew between Mangopay and the bridge: a webhook's Date later than the time it was received by more than this is stored with the time it was received (a genuine event is never dated after its delivery), so it cannot take the dedupe key of a future event."},

	{Name: "BRIDGE_MAX_CONCURRENT_UPLOADS", Type: "int", Default: "4", Allowed: "1 to 1000", Readers: []Process{Bridge},
		check: intIn(1, 1000), Meaning: "Document uploads a bridge takes at once (each holds up to 35 MB); beyond, 429 with Retry-After."},

	// The dev stack.
	{Name: "TEMPORAL_CLI", Type: "path", Computed: ".tools/bin/temporal in the module (make temporal-cli installs it)", Readers: []Process{Devstack},
		Meaning: "Temporal CLI binary whose dev server the dev stack runs (never downloaded)."},

	// The simulator.
	{Name: "MANGOPAY_SIM_ADDR", Type: "host:port", Default: "127.0.0.1:8090", Readers: []Process{Sim}, check: isHostPort,
		Meaning: "Listen address of the simulator (--addr overrides)."},
	{Name: "MANGOPAY_SIM_PUBLIC_URL", Type: "URL", Computed: "http://<listen address>", Readers: []Process{Sim}, check: isHTTPURL,
		Meaning: "Base URL put in HostedUrl links (--public-url overrides)."},
	{Name: "MANGOPAY_SIM_RETURN_URL_MAX", Type: "int", Computed: "the simulator's (500)", Allowed: "10 or more", Readers: []Process{Sim},
		check: intIn(10, 1<<20), Meaning: "Longest ReturnUrl the simulator accepts."},
	{Name: "MANGOPAY_SIM_OUTCOME_DELAY", Type: "duration", Computed: "the simulator's (2s)", Allowed: "0 or more", Readers: []Process{Sim},
		check: durationIn(0, 365*24*time.Hour), Meaning: "How long after submission an IDV outcome lands."},
}
