package bridge

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kycflow/kycflow/mangopay"
)

// HooksCommand is `webhookbridge hooks [--apply] [--take-over]`: it prints
// the plan for kycflow's hooks at Mangopay (mangopayBaseURL) towards
// webhookURL, and changes them only with --apply; hooks kycflow does not
// own only with --take-over too. It refuses a webhook URL real Mangopay
// cannot be given (CheckHookTarget).
func HooksCommand(ctx context.Context, mp *mangopay.Client, mangopayBaseURL, webhookURL string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("hooks", flag.ContinueOnError)
	fs.SetOutput(out)
	var opts HookOptions
	fs.BoolVar(&opts.Apply, "apply", false, "make the changes (without it: print the plan only)")
	fs.BoolVar(&opts.TakeOver, "take-over", false, "also change hooks kycflow does not own (another URL, not tagged kycflow)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("hooks: unexpected argument %q (flags: --apply, --take-over)", fs.Arg(0))
	}
	if err := CheckHookTarget(mangopayBaseURL, webhookURL); err != nil {
		return err
	}
	reports, err := SyncHooks(ctx, mp, webhookURL, opts)
	mode := "plan (nothing changed; run with --apply to make these changes)"
	if opts.Apply {
		mode = "applied"
	}
	fmt.Fprintf(out, "Mangopay %s, webhook URL %s: %s\n", mangopayBaseURL, redactToken(webhookURL), mode)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "EVENT TYPE\tHOOK\tACTION\tCHANGES\tSTATUS\tVALIDITY\tURL")
	skipped := 0
	for _, r := range reports {
		if r.Action == HookSkipped {
			skipped++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.EventType, r.HookID, r.Action, r.Changes, r.Status, r.Validity, redactToken(r.URL))
	}
	_ = w.Flush()
	if skipped > 0 {
		fmt.Fprintf(out, "%d hook(s) belong to something else and were left alone: Mangopay sends each event type to one hook, "+
			"so kycflow gets none of those events. Add --take-over to point them at kycflow.\n", skipped)
	}
	return err
}
