package audit_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/audit"
)

func TestValidateReason(t *testing.T) {
	for _, tc := range []struct {
		name, reason, want string
	}{
		{"plain", "the user asked, ticket 1234", ""},
		{"500 characters", strings.Repeat("é", 500), ""},
		{"501 characters", strings.Repeat("é", 501), "at most 500"},
		{"a line break forging a line", "x\n- FAILED → VERIFIED · operator:alice", "printable"},
		{"an escape sequence", "\x1b[31mred", "printable"},
		{"a NUL", "x\x00", "printable"},
		{"not UTF-8", "\xff", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := audit.ValidateReason(tc.reason)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestValidateActor(t *testing.T) {
	for _, tc := range []struct {
		actor string
		ok    bool
	}{
		{"", true}, {"platform", true}, {"operator:alice", true}, {"operator:a.b_c-1", true},
		{"operator:" + strings.Repeat("a", 64), true}, {"operator:" + strings.Repeat("a", 65), false},
		{"operator:", false}, {"operator:alice bob", false}, {"Platform", false}, {"platform\n", false},
		{"FAILED → VERIFIED", false},
	} {
		t.Run(tc.actor, func(t *testing.T) {
			assert.Equal(t, tc.ok, audit.ValidateActor(tc.actor) == nil)
		})
	}
}

func TestEscapeMarkdownLeavesNoLinkOrLine(t *testing.T) {
	got := audit.EscapeMarkdown("x\n- FAILED → VERIFIED [see](https://evil.example/) **bold** `code`\x1b")
	assert.NotContains(t, got, "\n")
	assert.NotContains(t, got, "\x1b")
	assert.Contains(t, got, `\[see\](https://evil.example/)`, "no link: its brackets escaped")
	assert.Contains(t, got, `\*\*bold\*\*`)
	assert.Contains(t, got, "\\`code\\`")
	assert.Equal(t, "platform cancel (compliance review over, ticket-12.3)", audit.EscapeMarkdown("platform cancel (compliance review over, ticket-12.3)"),
		"plain punctuation stays readable")
}
