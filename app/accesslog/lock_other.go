//go:build !unix

package accesslog

import (
	"os"
	"path/filepath"
)

// lockDir opens dir's LOCK file. Without flock(2) it takes no lock: a
// second node on the same home is stopped by the ledger database's own
// lock, which veritrial start takes before it appends to the log.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
}
