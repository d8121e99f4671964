package export

import (
	"math/rand"
	"strings"
	"testing"
)

// TestTextEscape checks the text escape on chosen and random texts: it
// round-trips, its output is XML 1.0 text, and it leaves ordinary text
// alone.
func TestTextEscape(t *testing.T) {
	cases := map[string]string{
		"plain é 😀":        "plain é 😀",
		"\x1b[0m":          "_x001B_[0m",
		"\x00\x07\x1f\t":   "_x0000__x0007__x001F_\t",
		"_x001B_":          "_x005F_x001B_",
		"_x005F_":          "_x005F_x005F_",
		"_x0041_x0042_":    "_x005F_x0041_x005F_x0042_",
		"_xZZZZ_ _x00":     "_xZZZZ_ _x00",
		"_x1aFB\uFFFF":     "_x005F_x1aFB_xFFFF_",
		"\uFFFE\uFFFF":     "_xFFFE__xFFFF_",
		"\r\n\u2028\u202E": "\r\n\u2028\u202E",
	}
	for in, want := range cases {
		got, err := EncodeText(in)
		if err != nil || got != want {
			t.Errorf("EncodeText(%q) = %q, %v; want %q", in, got, err, want)
		}
		if back := DecodeText(got); back != in {
			t.Errorf("DecodeText(%q) = %q, want %q", got, back, in)
		}
	}
	if _, err := EncodeText("bad \xff byte"); err == nil {
		t.Error("invalid UTF-8 encoded")
	}
	alphabet := []string{"_", "x", "0", "5", "F", "1", "B", "_x", "\x1b", "\x00", "a", "\r", "\n", "é", "\uFFFF"}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := rng.Intn(16); n > 0; n-- {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		s := b.String()
		enc, err := EncodeText(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range enc {
			if !xmlChar(r) {
				t.Fatalf("EncodeText(%q) = %q holds %U", s, enc, r)
			}
		}
		if back := DecodeText(enc); back != s {
			t.Fatalf("DecodeText(EncodeText(%q)) = %q (via %q)", s, back, enc)
		}
	}
}

// TestReadCSV checks the CSV reader on what the writer writes and on
// malformed files.
func TestReadCSV(t *testing.T) {
	rows, err := readCSV([]byte("a,\"b\r\nc\",\"d\"\"e\"\r\n\"\r\",\n\"\n\",x"))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b\r\nc", `d"e`}, {"\r", ""}, {"\n", "x"}}
	if len(rows) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
	for _, bad := range []string{"a,\"open\r\n", "a\"b,c\r\n", "\"a\"b,c\r\n"} {
		if _, err := readCSV([]byte(bad)); err == nil {
			t.Errorf("%q read without error", bad)
		}
	}
}
