package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadInputFileLimit: a file at the limit is read; one byte more is
// refused with the limit named, before more than the limit is read.
func TestReadInputFileLimit(t *testing.T) {
	dir := t.TempDir()
	at, over := filepath.Join(dir, "at.json"), filepath.Join(dir, "over.json")
	os.WriteFile(at, bytes.Repeat([]byte("x"), 1000), 0o600)
	os.WriteFile(over, bytes.Repeat([]byte("x"), 1001), 0o600)
	if data, err := readInputFile(at, "values file", 1000); err != nil || len(data) != 1000 {
		t.Fatalf("a file at the limit: %d bytes, %v", len(data), err)
	}
	_, err := readInputFile(over, "values file", 1000)
	if err == nil || exitCodeOf(err) != exitInput || !strings.Contains(err.Error(), "larger than the limit of 1000 bytes for a values file") {
		t.Fatalf("a file over the limit: %v", err)
	}
	if _, err := readInputFile(filepath.Join(dir, "none"), "values file", 1000); err == nil || exitCodeOf(err) != exitInput {
		t.Fatalf("a missing file: %v", err)
	}
	sum, err := hashInputFile(over, "consent form")
	if want := sha256.Sum256(bytes.Repeat([]byte("x"), 1001)); err != nil || !bytes.Equal(sum, want[:]) {
		t.Fatalf("hash of the consent form: %x %v", sum, err)
	}
}
