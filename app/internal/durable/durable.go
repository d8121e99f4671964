// Package durable writes files that survive a crash: a new file synced to
// the disk before it is closed, and a directory synced so that the files
// created in it are found after a crash.
package durable

import "os"

// WriteFile writes data to a new file at path, readable by its owner
// only, and syncs it. An existing file is an error (fs.ErrExist).
func WriteFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir syncs a directory, making the entries created in it durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
