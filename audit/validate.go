package audit

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxReasonRunes bounds a reason given for a call (a cancel, a reopen), in
// characters: it goes into the timeline, the platform's notifications and
// the Web UI.
const MaxReasonRunes = 500

// actorPattern is who may call: the platform, or a named operator.
var actorPattern = regexp.MustCompile(`^(` + ActorPlatform + `|` + OperatorPrefix + `[A-Za-z0-9._-]{1,64})$`)

// ValidateReason checks a reason given for a call, whoever gives it: valid
// UTF-8, at most MaxReasonRunes characters, and printable. A line break or
// an escape sequence would forge lines in the timeline, the logs and the
// Web UI's details. The one check used by the platform API (every caller),
// the workflow's update validators and the command-line tools.
func ValidateReason(reason string) error {
	switch {
	case !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxReasonRunes:
		return fmt.Errorf("Reason must be at most %d characters of UTF-8", MaxReasonRunes)
	case strings.IndexFunc(reason, unicode.IsControl) >= 0:
		return errors.New("Reason must be printable (no line breaks or control characters)")
	}
	return nil
}

// ValidateActor checks who calls: "platform" or "operator:<name>", the name
// 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'. Empty is the platform (a
// caller from before actors were recorded).
func ValidateActor(actor string) error {
	if actor == "" || actorPattern.MatchString(actor) {
		return nil
	}
	return fmt.Errorf("Actor must be %q or %q followed by 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'", ActorPlatform, OperatorPrefix)
}

// markdownSpecial are the characters Markdown gives a meaning to inside a
// line (links, images, emphasis, code, strike-through, HTML). Free text
// never starts a line here (control characters become spaces), so the
// characters that matter only there (#, -, +, 1.) are left as they are.
const markdownSpecial = "\\`*_[]<>!~"

// EscapeMarkdown makes free text (a reason from the platform or Mangopay)
// plain in Markdown, as the Web UI renders the workflow's details: its
// punctuation escaped, line breaks and other control characters turned to
// spaces, so that it can neither forge a line nor a link.
func EscapeMarkdown(s string) string {
	b := &strings.Builder{}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case strings.ContainsRune(markdownSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CheckOperatorAction checks the who and why of an operator action run from
// a command line (--operator, else KYCFLOW_OPERATOR as the caller resolved
// it, and --reason): both are recorded, so both are required and held to
// what the API holds an operator's name and reason to. It returns them
// trimmed.
func CheckOperatorAction(operator, reason string) (string, string, error) {
	operator, reason = strings.TrimSpace(operator), strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", "", errors.New("--reason is required: say why (it is recorded with the operator's name)")
	case ValidateReason(reason) != nil:
		return "", "", fmt.Errorf("--reason must be one line of at most %d printable characters: %w", MaxReasonRunes, ValidateReason(reason))
	case operator == "":
		return "", "", errors.New("--operator (or KYCFLOW_OPERATOR) is required: who acts")
	case ValidateActor(OperatorPrefix+operator) != nil:
		return "", "", errors.New("--operator must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'")
	}
	return operator, reason, nil
}
