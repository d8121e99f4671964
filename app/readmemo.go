package app

import (
	"bytes"

	"github.com/veritrial/veritrial/app/types"
)

// readMemo reads a tree and remembers what it read of the few records
// that most txs read: the signer's account and organisation, the study,
// the site and the subject a form belongs to, the signer's delegation on
// the study, and the study's pending database lock approvals, which
// every change to its data looks up (see memoKey). Other keys (nonces and forms,
// above all) go to the tree each time.
//
// CheckTx's memo reads one committed version, which never changes; it
// lives under the App's cmu and is replaced at each commit. FinalizeBlock's
// reads the working tree under mu and lives on from block to block: every
// write to the working tree (App.flush, the only writer of these keys)
// forgets the keys it wrote, so a remembered read is always what the tree
// holds.
type readMemo struct {
	r   reader
	m   map[string][]byte // nil value: absent
	max int               // when full, the memo starts afresh
}

func newReadMemo(r reader) *readMemo {
	return &readMemo{r: r, m: make(map[string][]byte), max: maxReadMemo}
}

// maxReadMemo bounds a memo: 100,000 records of a few hundred bytes.
const maxReadMemo = 100_000

// memoKey says whether a readMemo remembers key.
func memoKey(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	switch key[0] {
	case 'a':
		return bytes.HasPrefix(key, []byte(types.PrefixAccount))
	case 'd':
		return bytes.HasPrefix(key, []byte(types.PrefixDeleg)) || bytes.HasPrefix(key, []byte(types.PrefixDBLock))
	case 'o':
		return bytes.HasPrefix(key, []byte(types.PrefixOrg))
	case 's':
		return bytes.HasPrefix(key, []byte(types.PrefixSubject)) || bytes.HasPrefix(key, []byte(types.PrefixStudy)) || bytes.HasPrefix(key, []byte(types.PrefixSite))
	}
	return false
}

// forget drops what the memo remembers of key.
func (s *readMemo) forget(key string) { delete(s.m, key) }

// reset forgets everything.
func (s *readMemo) reset() { clear(s.m) }

func (s *readMemo) Get(key []byte) ([]byte, error) {
	if !memoKey(key) {
		return s.r.Get(key)
	}
	if v, ok := s.m[string(key)]; ok {
		return v, nil
	}
	v, err := s.r.Get(key)
	if err != nil {
		return nil, err
	}
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[string(key)] = v
	return v, nil
}
