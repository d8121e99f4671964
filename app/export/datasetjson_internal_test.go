package export

import (
	"encoding/json"
	"testing"
)

// TestAppendJSONString checks that a Dataset-JSON string is escaped
// exactly as encoding/json escapes it, on the fast path for printable
// ASCII and off it.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "72", "S1-001", "a b,c", `say "hi"`, `back\slash`, "a<b", "a>b", "a&b", "tab\there", "line\nfeed",
		"\x00\x1f\x7f", "é€😀", "\u2028\u2029", "bad \xff byte", "~"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: %s, encoding/json %s", s, got[1:], want)
		}
	}
}
