package types

import (
	"fmt"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// ValidID reports whether s is a valid identifier for an organisation,
// account, study, site or subject: 1 to 64 characters from A-Z a-z 0-9 . _ -
// starting with a letter or digit.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckID returns an invalid-message error naming what when s is not a
// valid identifier.
func CheckID(what, s string) *Error {
	if !ValidID(s) {
		return Errf(CodeInvalidMsg, "%s %q is not a valid identifier: use 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit", what, s)
	}
	return nil
}

// ValidNonce reports whether n is 16 to 64 lower-case hex characters.
func ValidNonce(n string) bool {
	if len(n) < 16 || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isHexSHA256 reports whether s is 64 lower-case hex characters.
func isHexSHA256(s string) bool { return len(s) == 64 && ValidNonce(s[:32]) && ValidNonce(s[32:]) }
