// Command webhookbridge runs kycflow's webhook bridge: Mangopay's webhooks on
// the public listener, the platform's API on the internal one, and the
// forwarder that signals onboarding workflows. Subcommands serve the
// operator:
//
//	webhookbridge                       serve (the default)
//	webhookbridge hooks [--apply] [--take-over]   plan (and apply) kycflow's hooks at Mangopay
//	webhookbridge codec                 the codec server alone, on CODEC_SERVER_ADDR
//	webhookbridge dead-letters list [-after ID] [-limit N]
//	webhookbridge dead-letters replay --reason R [--operator NAME] (ID... | -all)
//	webhookbridge dead-letters purge --reason R [--operator NAME] (ID... | -all)
//	webhookbridge unrouted list|replay|purge   the same for unrouted webhooks
//	webhookbridge held list|replay|purge       the same for PSC webhooks held until an onboarding lists their PSC
//	webhookbridge events backfill --since 72h [--dry-run]   feed past Mangopay events through the stream
//	webhookbridge [codec] --print-config   print the effective configuration, secrets redacted
//
// Configuration is environment only, declared in package config
// (docs/configuration.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/httpapi"
	"github.com/kycflow/kycflow/internal/logsetup"
	"github.com/kycflow/kycflow/internal/pprofserve"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/temporalconn"
	"github.com/kycflow/kycflow/internal/tracing"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookbridge/platformapi"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

func main() {
	args := os.Args[1:]
	process := processOf(args)
	env, err := loadConfig(process, os.Getenv)
	if config.WantsPrint(args) {
		os.Exit(config.PrintAndExit(env, err, os.Stdout, os.Stderr))
	}
	if err == nil {
		err = run(env, args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhookbridge:", err)
		os.Exit(1)
	}
}

// processOf names the configuration a command line needs: the codec
// server and the parked-stream tools need only part of the bridge's.
func processOf(args []string) config.Process {
	if len(args) == 0 {
		return config.Bridge
	}
	switch args[0] {
	case "codec":
		return config.Codec
	case "dead-letters", "unrouted", "held":
		return config.Parked
	}
	return config.Bridge
}

// loadConfig reads the configuration of the bridge (or of the codec server
// alone, or of the parked-stream tools) and parses every part of it, so
// that all its errors are reported at once.
func loadConfig(p config.Process, getenv func(string) string) (*config.Env, error) {
	env, err := config.Load(p, getenv)
	if p == config.Parked {
		// Redis only: no listener, token, Temporal or Mangopay.
		return env, err
	}
	_, cErr := payloadcodec.FromEnv(env.Get)
	if p == config.Codec {
		_, sErr := payloadcodec.LoadServerConfig(env.Get)
		var keyErr error
		if env.Get("PAYLOAD_ENCRYPTION_KEY") == "" {
			keyErr = &config.Error{Name: "PAYLOAD_ENCRYPTION_KEY", Err: errors.New("is required: the codec server decrypts with it")}
		}
		return env, config.Merge(errors.Join(err, keyErr), cErr, sErr)
	}
	_, bErr := bridge.LoadConfig(env.Get)
	_, mErr := mangopay.ConfigFromEnv(env.Get)
	_, budErr := callbudget.ConfigFromEnv(env.Get)
	_, pErr := pprofserve.Addr(env.Get)
	return env, config.Merge(err, bErr, cErr, mErr, budErr, pErr)
}

func run(env *config.Env, args []string) error {
	logger := logsetup.New(env.Get)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "codec":
		return codecServer(ctx, env, logger)
	case "dead-letters", "unrouted", "held":
		return parked(ctx, bridge.Config{RedisURL: env.Get("REDIS_URL"), RedisKeyPrefix: env.Get("REDIS_KEY_PREFIX")}, cmd, args, os.Stdout, env.Get, logger)
	}
	cfg, err := bridge.LoadConfig(env.Get)
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, env, cfg, logger)
	case "hooks":
		return hooks(ctx, env, cfg, args)
	case "events":
		return events(ctx, env, cfg, logger, args)
	default:
		return fmt.Errorf("unknown command %q (serve, hooks, dead-letters, unrouted, held, events, codec)", cmd)
	}
}

func serve(ctx context.Context, env *config.Env, cfg bridge.Config, logger *slog.Logger) error {
	if err := pprofserve.Start(ctx, env.Get, logger); err != nil {
		return err
	}
	stopTracing, err := tracing.Start(ctx, httpapi.ServiceName, env.Get, logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	rdb, err := redisClient(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	mp, budget, err := mangopayClient(env, rdb, logger)
	if err != nil {
		return err
	}
	opts, err := temporalconn.Options(logger, env.Get)
	if err != nil {
		return err
	}
	// Dial lazily: the bridge must take webhooks even while Temporal is away.
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer tc.Close()

	codec, err := payloadcodec.FromEnv(env.Get)
	if err != nil {
		return err
	}
	b := bridge.New(cfg, bridge.Deps{Redis: rdb, Temporal: tc, Mangopay: mp, Codec: codec, Logger: logger})
	if err := budget.RegisterMetrics(b.Metrics.Registry); err != nil {
		return err
	}
	publicLn, err := net.Listen("tcp", cfg.PublicAddr)
	if err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	internalLn, err := net.Listen("tcp", cfg.InternalAddr)
	if err != nil {
		return fmt.Errorf("internal listener: %w", err)
	}
	logger.Info("webhook bridge listening", "public", publicLn.Addr().String(), "internal", internalLn.Addr().String(),
		"webhook_route", "/webhooks/mangopay/<WEBHOOK_PATH_TOKEN>")
	if cfg.Dev {
		logger.Warn("development switch on (KYCFLOW_DEV): published tokens and document pages in clear are allowed; never in production")
	}
	return b.Serve(ctx, publicLn, internalLn)
}

func hooks(ctx context.Context, env *config.Env, cfg bridge.Config, args []string) error {
	rdb, err := redisClient(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	// An operator waits for the answer.
	ctx = mangopay.WithPriority(ctx, mangopay.PriorityInteractive)
	var baseURL string
	mp, _, err := callbudget.NewClient(env.Get, rdb, func(c *mangopay.Config) {
		c.Logger, baseURL = slog.New(slog.DiscardHandler), c.BaseURL
	})
	if err != nil {
		return err
	}
	return bridge.HooksCommand(ctx, mp, baseURL, cfg.WebhookURL(), args, os.Stdout)
}

// parked lists, replays or purges a parked stream (dead-letters,
// unrouted, held).
//
// Replaying and purging change what kycflow does with webhooks: they are
// operator actions, so they take a reason (--reason) and the operator's name
// (--operator, else KYCFLOW_OPERATOR), logged with what was done.
func parked(ctx context.Context, cfg bridge.Config, name string, args []string, out io.Writer, getenv func(string) string, logger *slog.Logger) error {
	stream, err := bridge.ParseParked(name)
	if err != nil {
		return err
	}
	usage := fmt.Errorf("usage: webhookbridge %s list [-after ID] [-limit N] | replay --reason R [--operator NAME] (ID... | -all) | purge --reason R [--operator NAME] (ID... | -all)", name)
	action := "list"
	if len(args) > 0 {
		action, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet(name+" "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	after := fs.String("after", "", "list the entries after this ID (the NEXT of the previous page)")
	limit := fs.Int64("limit", 100, "entries per page")
	all := fs.Bool("all", false, "every entry the stream holds now")
	reason := fs.String("reason", "", "why (required to replay or purge; logged with the operator's name)")
	operator := fs.String("operator", "", "who runs this (default: "+EnvOperator+")")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", usage, err)
	}
	ids := fs.Args()
	if action == "replay" || action == "purge" {
		who, why, err := operatorAction(*operator, *reason, getenv)
		if err != nil {
			return fmt.Errorf("%s %s: %w", name, action, err)
		}
		defer func() {
			logger.Info("operator action", "action", name+" "+action, "actor", platformapi.ActorOperatorPrefix+who, "reason", why,
				"entries", map[bool]string{true: "all", false: strings.Join(ids, " ")}[*all])
		}()
	}
	rdb, err := redisClient(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	switch {
	case action == "list" && len(ids) == 0:
		entries, next, err := bridge.ListParked(ctx, rdb, stream, *after, *limit)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tEVENT TYPE\tRESOURCE\tDATE\tERROR")
		for _, e := range entries {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.EventType, e.ResourceID, e.Date, e.Error)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if next != "" {
			fmt.Fprintf(out, "NEXT %s (webhookbridge %s list -after %s)\n", next, name, next)
		}
		return nil
	case (action == "replay" || action == "purge") && *all != (len(ids) > 0):
		var n int
		switch {
		case action == "replay" && *all:
			n, err = bridge.ReplayAllParked(ctx, rdb, stream)
		case action == "replay":
			n, err = bridge.ReplayParked(ctx, rdb, stream, ids...)
		case *all:
			n, err = bridge.PurgeAllParked(ctx, rdb, stream)
		default:
			n, err = bridge.PurgeParked(ctx, rdb, stream, ids...)
		}
		fmt.Fprintf(out, "%s %d %s entr%s\n", map[string]string{"replay": "replayed", "purge": "purged"}[action], n, name,
			map[bool]string{true: "y", false: "ies"}[n == 1])
		return err
	}
	return usage
}

// EnvOperator names the operator running the parked-stream tools when
// --operator does not.
const EnvOperator = "KYCFLOW_OPERATOR"

// operatorAction resolves the operator (--operator, else EnvOperator) and
// checks the who and why with audit.CheckOperatorAction.
func operatorAction(operator, reason string, getenv func(string) string) (string, string, error) {
	if strings.TrimSpace(operator) == "" {
		operator = getenv(EnvOperator)
	}
	return audit.CheckOperatorAction(operator, reason)
}

// events runs `events backfill --since D [--dry-run]`: the events of the
// last D (at most 45 days) go into the stream as webhooks would, through the
// reconciler's path; a dry run says how many it would feed.
func events(ctx context.Context, env *config.Env, cfg bridge.Config, logger *slog.Logger, args []string) error {
	const usage = "usage: webhookbridge events backfill --since 72h [--dry-run]"
	if len(args) == 0 || args[0] != "backfill" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("events backfill", flag.ContinueOnError)
	sinceFlag := fs.String("since", "", "how far back: a duration (72h) or days (3d), at most 45 days")
	dryRun := fs.Bool("dry-run", false, "count the events, feed nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, usage)
	}
	if fs.NArg() > 0 || *sinceFlag == "" {
		return errors.New(usage)
	}
	since, err := reconcile.ParseSince(*sinceFlag)
	if err != nil {
		return err
	}
	rdb, err := redisClient(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	mp, _, err := mangopayClient(env, rdb, logger)
	if err != nil {
		return err
	}
	store := webhookstream.NewStore(rdb)
	defer store.Close()
	f := &reconcile.Feeder{Mangopay: mp, Store: store, Logger: logger}
	counts, from, to, err := reconcile.Backfill(ctx, f, since, reconcile.DefaultLag, *dryRun)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "window\t%s .. %s\n", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	for _, et := range workflows.HookEventTypes {
		fmt.Fprintf(w, "%s\t%d\n", et, counts.Events[string(et)])
	}
	verb, n := "fed", counts.Fed
	if *dryRun {
		verb, n = "would feed", counts.Total()-counts.Rejected
	}
	fmt.Fprintf(w, "total\t%d events: %s %d, %d rejected by the intake's checks; %d Events API calls\n",
		counts.Total(), verb, n, counts.Rejected, counts.Calls)
	_ = w.Flush()
	return err
}

// redisClient connects to the Redis of this deployment: its keys carry
// REDIS_KEY_PREFIX.
func redisClient(cfg bridge.Config) (*redis.Client, error) {
	return redisconn.NewPrefixed(cfg.RedisURL, cfg.RedisKeyPrefix)
}

// mangopayClient builds the Mangopay client on the call budget every
// kycflow process shares.
func mangopayClient(env *config.Env, rdb redis.UniversalClient, logger *slog.Logger) (*mangopay.Client, *callbudget.Limiter, error) {
	return callbudget.NewClient(env.Get, rdb, func(c *mangopay.Config) { c.Logger = logger })
}

// codecServer runs the codec server alone on its own listener, away from
// the public intake: it needs only the payload key and its own settings.
func codecServer(ctx context.Context, env *config.Env, logger *slog.Logger) error {
	cfg, err := payloadcodec.LoadServerConfig(env.Get)
	if err != nil {
		return err
	}
	codec, err := payloadcodec.FromEnv(env.Get)
	if err != nil {
		return err
	}
	if codec == nil {
		return errors.New("PAYLOAD_ENCRYPTION_KEY is required: the codec server decrypts with it")
	}
	srv := payloadcodec.NewServer(codec, cfg)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("codec listener: %w", err)
	}
	logger.Info("codec server listening", "address", ln.Addr().String(), "endpoint", "/codec/<CODEC_SERVER_TOKEN>")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
