//go:build unix

package accesslog

import (
	"errors"
	"syscall"
	"testing"
)

// TestOpenLocks: while one process has the log open, another cannot open
// it (and so never cuts a line being written for a torn one).
func TestOpenLocks(t *testing.T) {
	dir, l := newLog(t, Options{}, 3)
	if _, err := Open(dir, Options{}); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("a second Open: %v", err)
	}
	l.Close()
	l2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}
