package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/notify"
)

// declaredStatuses reads every constant of type Status from the package's
// source, so that a status added later is checked without being listed here.
func declaredStatuses(t *testing.T) []Status {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "names.go", nil, 0)
	require.NoError(t, err)
	var out []Status
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Status" {
				continue
			}
			for _, v := range vs.Values {
				lit := v.(*ast.BasicLit)
				out = append(out, Status(strings.Trim(lit.Value, `"`)))
			}
		}
	}
	require.NotEmpty(t, out, "no Status constants found in names.go")
	return out
}

// TestEveryStatusHasAPublishedEventType: each status the workflow can move to
// is notified under one of notify's published names, and that name is the
// one platforms have received so far ("onboarding." and the status in lower
// case): the constants froze the names, they did not change them.
func TestEveryStatusHasAPublishedEventType(t *testing.T) {
	for _, s := range declaredStatuses(t) {
		t.Run(string(s), func(t *testing.T) {
			got, ok := statusEventTypes[s]
			if s == StatusStarting {
				assert.False(t, ok, "STARTING is never notified")
				return
			}
			require.True(t, ok, "status %s has no notification event type in statusEventTypes", s)
			assert.Contains(t, notify.EventTypes, got)
			assert.Equal(t, "onboarding."+strings.ToLower(string(s)), got, "a published event type changed")
		})
	}
}

// TestEventTypesAreDistinct: no two statuses share a notification.
func TestEventTypesAreDistinct(t *testing.T) {
	seen := map[string]Status{}
	for s, typ := range statusEventTypes {
		if prev, dup := seen[typ]; dup {
			t.Errorf("%s and %s are both notified as %s", prev, s, typ)
		}
		seen[typ] = s
	}
	types := slices.Clone(notify.EventTypes)
	slices.Sort(types)
	assert.Equal(t, len(types), len(slices.Compact(types)), "notify.EventTypes lists a type twice")
}
