package accesslog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/veritrial/veritrial/app/types"
)

// Entry is one line of the log: a read the node answered or refused, its
// sequence number (from 1) and the hash of the entry before it (Genesis
// for the first), and its own hash.
type Entry struct {
	Seq  int64  `json:"seq"`
	Prev string `json:"prev"`
	types.AccessEntry
	Hash string `json:"hash,omitempty"`
}

// Genesis is the Prev of the first entry: 64 zeros.
var Genesis = strings.Repeat("0", 64)

// hashDomain separates the log's hashes from any other SHA-256 use.
const hashDomain = "veritrial/accesslog/v1\n"

// MaxField bounds each text field of an entry, in bytes: the reader,
// organisation, path and scope come from the request, refused ones
// included, so a line's size stays bounded whatever was sent. A longer
// field is cut at a character boundary and ends with "…".
const MaxField = 512

// seal sets e.Hash and returns e's line without its newline: the JSON
// encoding of e without the hash (the bytes hashed, after hashDomain),
// then the hash as the last field. The line is exactly json.Marshal(e).
func seal(e *Entry) ([]byte, error) {
	e.Hash = ""
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write(body)
	e.Hash = hex.EncodeToString(h.Sum(nil))
	line := make([]byte, 0, len(body)+len(`,"hash":""`)+len(e.Hash))
	line = append(line, body[:len(body)-1]...)
	line = append(line, `,"hash":"`...)
	line = append(line, e.Hash...)
	return append(line, `"}`...), nil
}

// parse decodes and checks one line (without its newline): strict JSON,
// a hash that matches the content, canonical bytes. The chain (sequence
// and Prev) is the caller's to check.
func parse(line []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, fmt.Errorf("not a valid entry: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return e, fmt.Errorf("not a valid entry: data after it on the line")
	}
	stored := e.Hash
	again, err := seal(&e)
	if err != nil {
		return e, err
	}
	if e.Hash != stored {
		return e, fmt.Errorf("its hash does not match its content")
	}
	if !bytes.Equal(again, line) {
		return e, fmt.Errorf("not in canonical form (the bytes were changed)")
	}
	return e, nil
}

// clean makes a text field storable as it will read back: valid UTF-8, at
// most MaxField bytes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxField {
		return s
	}
	cut := MaxField - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
