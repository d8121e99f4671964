package app

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
)

// nonceListsSince is the state-machine version from which a block keeps
// its txs' nonces in one list per expiry height (types.KeyNonceList)
// rather than one key per tx (types.KeyNonce). Each key written to the
// tree costs a path of new nodes to hash and save, and a nonce key was
// written once and deleted once per tx: a block of 1,000 form
// submissions spent about 15% of its CheckTx, FinalizeBlock and Commit
// time on them (BenchmarkCheckFinalizeCommit1000).
const nonceListsSince = 4

// The nonces of a block are still identified, in the Bloom filter and in
// nonceSeen, by their types.KeyNonce key: the list layout changes only
// what the tree holds. A list holds, one per line and in byte order, the
// part of each key after the expiry ("<signer>/<nonce>"): signer IDs and
// nonces never contain '/' or a newline.

// nonceEntry is the part of a nonce key (types.KeyNonce) a list holds.
func nonceEntry(key []byte) ([]byte, error) {
	if _, err := nonceExpiry(key); err != nil {
		return nil, err
	}
	return key[len(types.PrefixNonce)+13:], nil
}

// nonceListed says whether the list value holds entry.
func nonceListed(list, entry []byte) bool {
	for len(list) > 0 {
		line := list
		if i := bytes.IndexByte(list, '\n'); i >= 0 {
			line, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		if bytes.Equal(line, entry) {
			return true
		}
	}
	return false
}

// nonceUsed says whether the committed state read through r and tree
// (the same view) holds the nonce key, which expires at expires, under
// the layout of state-machine version v.
func nonceUsed(r reader, tree iterator, v uint64, key []byte, expires int64) (bool, error) {
	if v < nonceListsSince {
		return has(r, key)
	}
	entry, err := nonceEntry(key)
	if err != nil {
		return false, err
	}
	found := false
	err = iteratePrefix(tree, types.NonceListPrefix(expires), func(_, list []byte) bool {
		found = nonceListed(list, entry)
		return !found
	})
	return found, err
}

// writeNonceLists stores the block's nonces (key -> expiry height, as
// App.blockNonces holds them) as one list per expiry height, in the order
// of the expiry heights, each list sorted: the same lists and the same
// tree whatever the map's order.
func (a *App) writeNonceLists(height int64, block map[string]int64) error {
	byExpiry := map[int64][][]byte{}
	for k, expires := range block {
		entry, err := nonceEntry([]byte(k))
		if err != nil {
			return err
		}
		byExpiry[expires] = append(byExpiry[expires], entry)
	}
	st := newTxStore(a.blockReads)
	for _, expires := range slices.Sorted(maps.Keys(byExpiry)) {
		st.set(types.KeyNonceList(expires, height), joinNonceList(byExpiry[expires]))
	}
	return a.flush(st)
}

// joinNonceList sorts entries and joins them into a list value.
func joinNonceList(entries [][]byte) []byte {
	slices.SortFunc(entries, bytes.Compare)
	n := 0
	for _, e := range entries {
		n += len(e) + 1
	}
	out := make([]byte, 0, n)
	for _, e := range entries {
		out = append(append(out, e...), '\n')
	}
	return out
}

// nonceListKeys calls fn with the nonce key (types.KeyNonce) of every
// entry of the list stored at listKey.
func nonceListKeys(listKey, list []byte, fn func(key []byte, expires int64)) error {
	p := len(types.PrefixNonceList)
	if len(listKey) != p+25 || listKey[p+12] != '/' {
		return fmt.Errorf("malformed nonce list key %q", listKey)
	}
	expires, err := strconv.ParseInt(string(listKey[p:p+12]), 10, 64)
	if err != nil {
		return fmt.Errorf("malformed nonce list key %q", listKey)
	}
	prefix := fmt.Sprintf("%s%012d/", types.PrefixNonce, expires)
	for _, line := range bytes.Split(bytes.TrimSuffix(list, []byte{'\n'}), []byte{'\n'}) {
		if bytes.Count(line, []byte{'/'}) != 1 || line[0] == '/' || line[len(line)-1] == '/' {
			return fmt.Errorf("malformed entry %q in the nonce list %q", line, listKey)
		}
		fn(append([]byte(prefix), line...), expires)
	}
	return nil
}
