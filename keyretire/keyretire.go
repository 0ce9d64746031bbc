// Package keyretire retires an old payload key (PAYLOAD_ENCRYPTION_KEY
// lists the new key first and the old ones after it): it seals again the
// document pages in Redis that an old key sealed, makes every open
// onboarding whose current run holds payloads under an old key continue as
// new (its state is then encoded with the new key), and says when nothing
// still needs an old key, so that it can be dropped from the list.
//
// Closed onboardings keep their histories, under whatever key, for the
// namespace's retention period, and kycflow reads them: GET state and
// timeline of a closed onboarding, and the signup after it (which carries
// its trail and refusals). So an old key is not retired while a closed
// onboarding within retention holds a payload under it: it stays in the
// list (after the first key: decrypt only) until retention ends for them.
package keyretire

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/workflows"
)

// Input is what a retirement works on.
type Input struct {
	// Temporal is a client whose data converter holds Codec.
	Temporal client.Client
	// Codec holds the new key first and the keys to retire after it.
	Codec *payloadcodec.Codec
	// Pages is the page store, sealed with Codec; nil skips the pages.
	Pages *claimcheck.Store
	// Wait bounds how long Run waits for the onboardings asked to continue
	// as new to have done so (0: it does not wait).
	Wait time.Duration
}

// Result says what was done and what still needs an old key.
type Result struct {
	Pages claimcheck.ResealResult
	// Open is how many onboardings were open; Reencoded lists those asked
	// to continue as new.
	Open      int
	Reencoded []string
	// Left lists the open onboardings whose current run still holds a
	// payload under an old key (workflow IDs).
	Left []string
	// Closed lists the closed onboardings within retention whose last run
	// holds a payload under an old key (workflow IDs): kycflow reads them
	// (state, timeline, the next signup), so the old key stays, decrypt
	// only, until the namespace's retention has removed them.
	Closed []string
}

// Done reports whether nothing kycflow reads needs an old key any more.
func (r Result) Done() bool { return r.Pages.Left == 0 && len(r.Left) == 0 && len(r.Closed) == 0 }

// openQuery lists the open onboardings.
var openQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.WorkflowType)

// closedQuery lists the closed runs within retention; a run that continued
// as new is never an onboarding's last one.
var closedQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'ContinuedAsNew'", workflows.WorkflowType)

// Run reseals the pages, asks every open onboarding that holds an old key
// to continue as new, then checks again (waiting up to in.Wait for them to
// have done so) and reports what is left.
func Run(ctx context.Context, in Input) (Result, error) {
	var res Result
	old := in.Codec.KeyIDs()[1:]
	if in.Pages != nil {
		var err error
		if res.Pages, err = in.Pages.Reseal(ctx); err != nil {
			return res, err
		}
	}
	ids, err := openOnboardings(ctx, in.Temporal)
	if err != nil {
		return res, err
	}
	res.Open = len(ids)
	for _, id := range ids {
		holds, err := holdsKey(ctx, in.Temporal, id, old)
		if err != nil {
			return res, err
		}
		if !holds {
			continue
		}
		userID, _ := strings.CutPrefix(id, workflows.WorkflowID(""))
		if err := workflows.Reencode(ctx, in.Temporal, userID); err != nil {
			return res, fmt.Errorf("re-encode %s: %w", id, err)
		}
		res.Reencoded = append(res.Reencoded, id)
	}
	deadline := time.Now().Add(in.Wait)
	for {
		if res.Left, err = Left(ctx, in.Temporal, in.Codec); err != nil {
			return res, err
		}
		if len(res.Left) == 0 || !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if in.Pages != nil && in.Wait > 0 {
		// Pages stored while it waited by a process still sealing with
		// the old key: scanned again, so Done covers them too.
		again, err := in.Pages.Reseal(ctx)
		if err != nil {
			return res, err
		}
		res.Pages.Pages, res.Pages.Resealed, res.Pages.Left = again.Pages, res.Pages.Resealed+again.Resealed, again.Left
	}
	if res.Closed, err = ClosedLeft(ctx, in.Temporal, in.Codec); err != nil {
		return res, err
	}
	return res, nil
}

// ClosedLeft lists the closed onboardings within retention whose last run
// holds a payload under a key other than the codec's first: kycflow still
// reads those (GET state and timeline, the next signup).
func ClosedLeft(ctx context.Context, c client.Client, codec *payloadcodec.Codec) ([]string, error) {
	old := codec.KeyIDs()[1:]
	if len(old) == 0 {
		return nil, nil
	}
	ids, err := listOnboardings(ctx, c, closedQuery)
	if err != nil {
		return nil, err
	}
	var left []string
	for _, id := range ids {
		// holdsKey reads the last run: one that is running again (a
		// signup after the close) is an open onboarding, counted by Left.
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", id, err)
		}
		if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			continue
		}
		holds, err := holdsKey(ctx, c, id, old)
		if err != nil {
			return nil, err
		}
		if holds {
			left = append(left, id)
		}
	}
	return left, nil
}

// Left lists the open onboardings whose current run holds a payload under
// a key other than the codec's first.
func Left(ctx context.Context, c client.Client, codec *payloadcodec.Codec) ([]string, error) {
	ids, err := openOnboardings(ctx, c)
	if err != nil {
		return nil, err
	}
	old := codec.KeyIDs()[1:]
	var left []string
	for _, id := range ids {
		holds, err := holdsKey(ctx, c, id, old)
		if err != nil {
			return nil, err
		}
		if holds {
			left = append(left, id)
		}
	}
	return left, nil
}

func openOnboardings(ctx context.Context, c client.Client) ([]string, error) {
	return listOnboardings(ctx, c, openQuery)
}

// listOnboardings lists the workflow IDs of the runs query matches, each
// once.
func listOnboardings(ctx context.Context, c client.Client, query string) ([]string, error) {
	var ids []string
	var token []byte
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list onboardings (%s): %w", query, err)
		}
		for _, e := range page.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			slices.Sort(ids)
			return slices.Compact(ids), nil
		}
	}
}

// holdsKey reports whether the current run of workflow id holds a payload
// encrypted under one of keyIDs: an encrypted payload carries its key's ID
// in its metadata, so the ID's bytes appear in the event that holds it.
func holdsKey(ctx context.Context, c client.Client, id string, keyIDs []string) (bool, error) {
	if len(keyIDs) == 0 {
		return false, nil
	}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false, fmt.Errorf("history of %s: %w", id, err)
		}
		raw, err := proto.Marshal(ev)
		if err != nil {
			return false, fmt.Errorf("history of %s: %w", id, err)
		}
		for _, k := range keyIDs {
			if bytes.Contains(raw, []byte(k)) {
				return true, nil
			}
		}
	}
	return false, nil
}
