package main

import (
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFileAtomic writes data to path whole or not at all (see writeFileWith).
func writeFileAtomic(path string, data []byte, perm fs.FileMode, force bool) error {
	return writeFileWith(path, perm, force, func(w io.Writer) error {
		if _, err := w.Write(data); err != nil {
			return failf("cannot write %s: %v", path, pathError(err))
		}
		return nil
	})
}

// writeFileWith writes path whole or not at all: write streams into a
// temporary file in the same directory, which is synced, then renamed over
// path. Without force an existing path is refused, before anything is
// written and again at the end (linked, so a path that appeared meanwhile
// is never replaced). An error from write is returned as it is.
func writeFileWith(path string, perm fs.FileMode, force bool, write func(io.Writer) error) error {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return usageErrorf("%s already exists: choose another name or pass --force to replace it", path)
		}
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return inputErrorf("cannot write %s: directory %s does not exist", path, dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return failf("cannot write %s: %v", path, pathError(err))
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return failf("cannot write %s: %v", path, pathError(err))
	}
	if err := tmp.Sync(); err != nil {
		return failf("cannot write %s: %v", path, pathError(err))
	}
	if err := tmp.Close(); err != nil {
		return failf("cannot write %s: %v", path, pathError(err))
	}
	if !force {
		// Link fails if path appeared meanwhile; rename would replace it.
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return usageErrorf("%s already exists: choose another name or pass --force to replace it", path)
			}
			if err := os.Rename(tmp.Name(), path); err != nil {
				return failf("cannot write %s: %v", path, pathError(err))
			}
		} else {
			os.Remove(tmp.Name())
		}
	} else if err := os.Rename(tmp.Name(), path); err != nil {
		return failf("cannot write %s: %v", path, pathError(err))
	}
	ok = true
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable; failures are ignored (some file
// systems cannot sync directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// The size limits of the files commands read whole.
const (
	// maxSmallFile bounds member files, drafts, values files and key
	// files (a tx is at most 1 MiB).
	maxSmallFile = 1 << 20
	// maxGenesisFile bounds a genesis (CometBFT's own limit is 100 MiB).
	maxGenesisFile = 64 << 20
)

// readInputFile reads a file named on the command line, of at most limit
// bytes, saying what was wrong in one sentence if it cannot.
func readInputFile(path, what string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputErrorf("cannot read %s %s: %v", what, path, pathError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, inputErrorf("cannot read %s %s: %v", what, path, pathError(err))
	}
	if int64(len(data)) > limit {
		return nil, inputErrorf("%s %s is larger than the limit of %d bytes for a %s", what, path, limit, what)
	}
	return data, nil
}

// hashInputFile returns the SHA-256 of a file named on the command line,
// read as a stream (a document of any size).
func hashInputFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputErrorf("cannot read %s %s: %v", what, path, pathError(err))
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, inputErrorf("cannot read %s %s: %v", what, path, pathError(err))
	}
	return h.Sum(nil), nil
}

// checkReadable says in one sentence why a file named on the command line
// cannot be read, if it cannot.
func checkReadable(path, what string) error {
	f, err := os.Open(path)
	if err != nil {
		return inputErrorf("cannot read %s %s: %v", what, path, pathError(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return inputErrorf("cannot read %s %s: it is a directory", what, path)
	}
	return nil
}

// checkOutFree refuses an existing output file unless force, before any
// expensive work is done.
func checkOutFree(path string, force bool) error {
	if force || path == "" {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return usageErrorf("%s already exists: choose another name or pass --force to replace it", path)
	}
	return nil
}

// pathError strips the path from an *fs.PathError (the message names it
// already) and says "no such file" plainly.
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, fs.ErrNotExist):
			return errors.New("no such file or directory")
		case errors.Is(pe.Err, fs.ErrPermission):
			return errors.New("permission denied")
		}
		return pe.Err
	}
	return err
}
