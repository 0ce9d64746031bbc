package searchattrs_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/searchattrs"
)

// TestKeysAreTheWorkflows: the worker checks every attribute the workflow
// declares (workflows/names.go), and the dev server registers the same.
func TestKeysAreTheWorkflows(t *testing.T) {
	src, err := os.ReadFile("../../workflows/names.go")
	require.NoError(t, err)
	declared := regexp.MustCompile(`NewSearchAttributeKey\w+\("(\w+)"\)`).FindAllStringSubmatch(string(src), -1)
	var names []string
	for _, m := range declared {
		names = append(names, m[1])
	}
	var keys []string
	for _, k := range searchattrs.Keys {
		keys = append(keys, k.GetName())
	}
	assert.ElementsMatch(t, names, keys)

	dev := map[string]string{}
	for k := range devtemporal.SearchAttributes().GetUntypedValues() {
		dev[k.GetName()] = k.GetValueType().String()
	}
	for _, k := range searchattrs.Keys {
		assert.Equal(t, k.GetValueType().String(), dev[k.GetName()], "the dev server registers %s", k.GetName())
	}
}
