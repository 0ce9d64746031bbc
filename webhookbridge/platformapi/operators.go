package platformapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/kycflow/kycflow/audit"
	"github.com/kycflow/kycflow/internal/httpapi"
	"github.com/kycflow/kycflow/internal/tokens"
)

// Who calls the platform API. The platform's token (PLATFORM_API_TOKEN)
// runs the platform's own flow; an operator's (OPERATOR_API_TOKENS) runs
// the operator actions, which override what the onboarding decided (a
// reopen after FAILED, a cancel on behalf of compliance) and so record who
// asked and why.
const (
	// ActorPlatform is the actor of a call with the platform's token.
	ActorPlatform = "platform"
	// ActorOperatorPrefix starts the actor of a call with an operator's
	// token: "operator:<name>".
	ActorOperatorPrefix = "operator:"
)

// MaxReasonLength bounds an operator's reason (characters).
const MaxReasonLength = audit.MaxReasonRunes

// OperatorToken is one entry of OPERATOR_API_TOKENS: an operator's name and
// a token of theirs. A name may appear twice while its token is rotated.
type OperatorToken struct {
	Name  string
	Token string
}

// ParseOperatorTokens reads OPERATOR_API_TOKENS, "name=token" pairs
// separated by commas. A token must differ from every platform token: the
// two kinds open different doors. Errors never quote a token.
func ParseOperatorTokens(v string, platformTokens []string) ([]OperatorToken, error) {
	var out []OperatorToken
	var errs []error
	for i, pair := range tokens.Split(v) {
		name, tok, ok := strings.Cut(pair, "=")
		name, tok = strings.TrimSpace(name), strings.TrimSpace(tok)
		switch {
		case !ok || name == "":
			errs = append(errs, fmt.Errorf("%s: entry %d is not name=token", envOperatorTokens, i+1))
			continue
		case !ValidOperatorName(name):
			errs = append(errs, fmt.Errorf("%s: entry %d: the name must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'", envOperatorTokens, i+1))
			continue
		case len(tok) < 16 || strings.ContainsAny(tok, " \t="):
			errs = append(errs, fmt.Errorf("%s: the token of %s must be at least 16 characters, without spaces or '='", envOperatorTokens, name))
			continue
		case tokens.Match(tok, platformTokens) >= 0:
			errs = append(errs, fmt.Errorf("%s: the token of %s is also a PLATFORM_API_TOKEN; give operators tokens of their own", envOperatorTokens, name))
			continue
		}
		for _, o := range out {
			if o.Token == tok && o.Name != name {
				errs = append(errs, fmt.Errorf("%s: %s and %s share a token; each operator needs their own", envOperatorTokens, o.Name, name))
			}
		}
		out = append(out, OperatorToken{Name: name, Token: tok})
	}
	return out, errors.Join(errs...)
}

// ValidOperatorName reports whether s may name an operator: 1 to 64 of
// A-Z, a-z, 0-9, '.', '_' and '-' (it goes into logs and the audit trail).
func ValidOperatorName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// envOperatorTokens names the operators' tokens in messages.
const envOperatorTokens = "OPERATOR_API_TOKENS"

// ctxActor holds the caller's actor (ActorPlatform or "operator:<name>").
const ctxActor = "actor"

// authenticate accepts any platform token (the current one and those still
// listed during a rotation) and any operator token, and records who called.
func (a *API) authenticate(c *gin.Context) {
	actor := ""
	if scheme, tok, _ := strings.Cut(c.GetHeader("Authorization"), " "); strings.EqualFold(scheme, "bearer") {
		actor = a.actorOf(tok)
	}
	if actor == "" {
		c.Header("WWW-Authenticate", `Bearer realm="kycflow"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, httpapi.Error{Error: "a valid bearer token is required"})
		return
	}
	c.Set(ctxActor, actor)
	c.Next()
}

// actorOf names the holder of tok, or "" for no known token. Every token is
// compared, platform and operator alike, in constant time.
func (a *API) actorOf(tok string) string {
	platform := tokens.Match(tok, append([]string{a.Token}, a.OldTokens...))
	ops := make([]string, len(a.Operators))
	for i, o := range a.Operators {
		ops[i] = o.Token
	}
	op := tokens.Match(tok, ops)
	switch {
	case platform >= 0:
		return ActorPlatform
	case op >= 0:
		return ActorOperatorPrefix + a.Operators[op].Name
	}
	return ""
}

// actor is who called (set by authenticate).
func actor(c *gin.Context) string { return c.GetString(ctxActor) }

// isOperator reports whether the caller holds an operator's token.
func isOperator(c *gin.Context) bool { return strings.HasPrefix(actor(c), ActorOperatorPrefix) }

// platformOnly refuses operators' tokens: the platform's own flow (starting
// onboardings, uploading documents) is not an operator's to run.
func platformOnly(c *gin.Context) {
	if isOperator(c) {
		c.AbortWithStatusJSON(http.StatusForbidden, httpapi.Error{Error: "this call takes the platform's token (PLATFORM_API_TOKEN), not an operator's"})
		return
	}
	c.Next()
}

// operatorOnly refuses the platform's token: an operator action overrides
// what the onboarding decided, and records which operator did it.
func operatorOnly(c *gin.Context) {
	if !isOperator(c) {
		c.AbortWithStatusJSON(http.StatusForbidden, httpapi.Error{Error: "this is an operator action: it takes an operator's token (OPERATOR_API_TOKENS), not the platform's"})
		return
	}
	c.Next()
}

// checkReason validates an operator's reason, answering 400 itself: it is
// required, at most MaxReasonLength characters, printable.
func checkReason(c *gin.Context, reason string) (string, bool) {
	reason = strings.TrimSpace(reason)
	var problem string
	switch {
	case reason == "":
		problem = "Reason is required of an operator action: say why (it is recorded with the operator's name)"
	default:
		if err := audit.ValidateReason(reason); err != nil {
			problem = err.Error()
		}
	}
	if problem != "" {
		c.AbortWithStatusJSON(http.StatusBadRequest, httpapi.Error{Error: problem, Field: "Reason"})
		return "", false
	}
	return reason, true
}

// logOperatorAction records an operator action in the log: who, what, on
// which onboarding and why.
func (a *API) logOperatorAction(c *gin.Context, action, userID, reason string) {
	a.logger().Info("operator action", "action", action, "actor", actor(c), "user_id", userID, "reason", reason,
		"request_id", c.GetString(httpapi.RequestIDKey))
}
