package audit

import (
	"runtime"
	"sync"

	"github.com/veritrial/veritrial/app/types"
)

// ProofFailure is an entry whose proof does not verify.
type ProofFailure struct {
	Key string
	Err error
}

// VerifyEntries checks the ics23 membership proof of every entry against
// root (a verified app hash), on every CPU, and returns the failures in
// entry order.
func VerifyEntries(root []byte, entries []types.ListEntry) []ProofFailure {
	workers := runtime.GOMAXPROCS(0)
	if workers > len(entries) {
		workers = len(entries)
	}
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(entries); i += workers {
				e := &entries[i]
				if len(e.Proof) == 0 {
					errs[i] = errNoProof
					continue
				}
				errs[i] = types.VerifyProof(root, []byte(e.Key), e.Value, e.Proof)
			}
		}(w)
	}
	wg.Wait()
	var out []ProofFailure
	for i, err := range errs {
		if err != nil {
			out = append(out, ProofFailure{Key: entries[i].Key, Err: err})
		}
	}
	return out
}

type proofError string

func (e proofError) Error() string { return string(e) }

const errNoProof = proofError("the node returned no proof")
