package bridge

import (
	"errors"
	"net"
	"strings"
)

// isNetError tells connection failures (refused, reset, timeouts), which
// gRPC and go-redis report with their own wrappers.
func isNetError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "Unavailable") || strings.Contains(msg, "i/o timeout")
}
