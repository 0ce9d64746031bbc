// Package searchattrs checks and registers the custom search attributes the
// onboarding workflow writes. A workflow that upserts an attribute its
// namespace does not know fails its workflow task, again on every retry: a
// missing KycRenewalDeadline stalls each user's onboarding the moment their
// renewal webhook arrives. So the worker refuses to start without them
// (Check), and `worker register-search-attributes` registers them (Register,
// idempotent).
package searchattrs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/workflows"
)

// RegisterCommand is what an operator runs to register them.
const RegisterCommand = "worker register-search-attributes"

// Keys are the search attributes the onboarding workflow writes
// (workflows/names.go).
var Keys = []temporal.SearchAttributeKey{
	workflows.SearchAttrStatus, workflows.SearchAttrUserID, workflows.SearchAttrSessionID, workflows.SearchAttrAttempt,
	workflows.SearchAttrUserType, workflows.SearchAttrRenewalDeadline, workflows.SearchAttrAttention, workflows.SearchAttrReviewSince,
}

// ErrMissing is returned by Check when an attribute is not registered, or
// is registered with another type.
var ErrMissing = errors.New("search attributes missing")

// Namespace is the namespace a client of these options works in.
func Namespace(opts client.Options) string {
	if opts.Namespace == "" {
		return client.DefaultNamespace
	}
	return opts.Namespace
}

// Check reports, naming each attribute and the command that registers them,
// any of Keys that namespace ns lacks or holds with another type.
func Check(ctx context.Context, tc client.Client, ns string) error {
	missing, wrong, err := diff(ctx, tc, ns)
	if err != nil {
		return err
	}
	if len(missing)+len(wrong) == 0 {
		return nil
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "not registered: "+strings.Join(describe(missing), ", "))
	}
	if len(wrong) > 0 {
		parts = append(parts, "registered with another type: "+strings.Join(wrong, ", "))
	}
	return fmt.Errorf("%w in namespace %q (%s): the workflow writes them and would stall; run `%s` (idempotent)",
		ErrMissing, ns, strings.Join(parts, "; "), RegisterCommand)
}

// Register adds the attributes namespace ns lacks and waits until the
// frontend lists them; it returns the names it added (none when all were
// there). An attribute registered with another type is an error: changing
// it is an operator's decision.
func Register(ctx context.Context, tc client.Client, ns string) ([]string, error) {
	missing, wrong, err := diff(ctx, tc, ns)
	if err != nil {
		return nil, err
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf("search attributes registered with another type in namespace %q: %s", ns, strings.Join(wrong, ", "))
	}
	if len(missing) == 0 {
		return nil, nil
	}
	req := &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: map[string]enumspb.IndexedValueType{}}
	var names []string
	for _, k := range missing {
		req.SearchAttributes[k.GetName()] = k.GetValueType()
		names = append(names, k.GetName())
	}
	if _, err := tc.OperatorService().AddSearchAttributes(ctx, req); err != nil {
		return nil, fmt.Errorf("register search attributes %s in namespace %q: %w", strings.Join(names, ", "), ns, err)
	}
	// The frontend may list them a moment later (its cache).
	for {
		if missing, _, err := diff(ctx, tc, ns); err == nil && len(missing) == 0 {
			return names, nil
		}
		select {
		case <-ctx.Done():
			return names, fmt.Errorf("search attributes %s registered in namespace %q but not listed yet: %w", strings.Join(names, ", "), ns, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func diff(ctx context.Context, tc client.Client, ns string) (missing []temporal.SearchAttributeKey, wrong []string, err error) {
	res, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return nil, nil, fmt.Errorf("list the search attributes of namespace %q: %w", ns, err)
	}
	for _, k := range Keys {
		got, ok := res.GetCustomAttributes()[k.GetName()]
		switch {
		case !ok:
			missing = append(missing, k)
		case got != k.GetValueType():
			wrong = append(wrong, fmt.Sprintf("%s is %s, not %s", k.GetName(), typeName(got), typeName(k.GetValueType())))
		}
	}
	return missing, wrong, nil
}

func describe(keys []temporal.SearchAttributeKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.GetName() + " (" + typeName(k.GetValueType()) + ")"
	}
	slices.Sort(out)
	return out
}

// typeName is the type as the Temporal CLI spells it (--type Datetime).
func typeName(t enumspb.IndexedValueType) string {
	return strings.TrimPrefix(t.String(), "IndexedValueType")
}
