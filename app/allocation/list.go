// Package allocation is the unblinded statistician's allocation list: its
// generation by permuted blocks per stratum, its CSV file (writer, reader
// and limits), and the commitments and reveals the ledger checks. It runs
// off the ledger, on the list holder's machine; the ledger sees only
// commitments until an entry is published (docs/RANDOMIZATION.md).
package allocation

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
)

// Limits of a list file.
const (
	// MaxFileBytes bounds a list file: 64 MiB hold a million entries.
	MaxFileBytes = 64 << 20
	// MaxEntries bounds the entries of a list.
	MaxEntries = 1_000_000
)

// header is the first row of a list file.
var header = []string{"study", "stratum", "seq", "arm", "salt"}

// Entry is one entry of an allocation list.
type Entry struct {
	Study   string
	Stratum string
	Seq     int
	Arm     string
	Salt    [types.SaltBytes]byte
	// Line is the entry's line in the file it was read from (0 for a
	// generated list).
	Line int
}

// Commitment is the entry's commitment as the ledger holds it.
func (e Entry) Commitment() string {
	return types.CommitmentHex(e.Study, e.Stratum, e.Seq, e.Arm, e.Salt[:])
}

// Reveal is the entry opened, as a publication carries it.
func (e Entry) Reveal() types.AllocationReveal {
	return types.AllocationReveal{Stratum: e.Stratum, Seq: e.Seq, Arm: e.Arm, Salt: hex.EncodeToString(e.Salt[:])}
}

// String names the entry for messages: "site1+SBP-LT160 #3 (line 5)".
func (e Entry) String() string {
	s := e.Stratum + " #" + strconv.Itoa(e.Seq)
	if e.Line > 0 {
		s += " (line " + strconv.Itoa(e.Line) + ")"
	}
	return s
}

// List is an allocation list of one study: the entries of each stratum in
// sequence order, the strata in the order they first appear.
type List struct {
	Study   string
	Strata  []string
	entries map[string][]Entry
}

// Entries returns the entries of stratum in sequence order (entry seq is
// at index seq-1).
func (l *List) Entries(stratum string) []Entry { return l.entries[stratum] }

// Entry returns entry seq of stratum.
func (l *List) Entry(stratum string, seq int) (Entry, bool) {
	es := l.entries[stratum]
	if seq < 1 || seq > len(es) {
		return Entry{}, false
	}
	return es[seq-1], true
}

// Len is the number of entries.
func (l *List) Len() int {
	n := 0
	for _, s := range l.Strata {
		n += len(l.entries[s])
	}
	return n
}

func (l *List) add(e Entry) {
	if l.entries == nil {
		l.entries = map[string][]Entry{}
	}
	if _, ok := l.entries[e.Stratum]; !ok {
		l.Strata = append(l.Strata, e.Stratum)
	}
	l.entries[e.Stratum] = append(l.entries[e.Stratum], e)
}

// Generate makes the list of study: size entries for each stratum, in
// permuted blocks of blockSize (a multiple of the number of arms, each arm
// blockSize/len(arms) times per block), each entry with its own salt. All
// randomness comes from seed: the same seed gives the same list, and a
// stratum's entries depend only on the seed, the study and the stratum, so
// a list generated again with more strata (a site activated later) keeps
// the entries it had.
func Generate(study string, strata, arms []string, size, blockSize int, seed [32]byte) (*List, error) {
	switch {
	case len(arms) < 2:
		return nil, errors.New("randomisation needs at least two arms")
	case blockSize < len(arms) || blockSize%len(arms) != 0:
		return nil, fmt.Errorf("block size %d is not a multiple of the %d arms", blockSize, len(arms))
	case size < 1 || size%blockSize != 0:
		return nil, fmt.Errorf("%d entries per stratum is not a whole number of blocks of %d", size, blockSize)
	case size > types.MaxAllocationSeq:
		return nil, fmt.Errorf("%d entries per stratum is above the limit of %d", size, types.MaxAllocationSeq)
	case len(strata)*size > MaxEntries:
		return nil, fmt.Errorf("%d strata of %d entries is above the limit of %d entries", len(strata), size, MaxEntries)
	}
	l := &List{Study: study}
	for _, s := range strata {
		if e := types.CheckStratum(s); e != nil {
			return nil, e
		}
		if _, dup := l.entries[s]; dup {
			return nil, fmt.Errorf("stratum %s is listed twice", s)
		}
		rng := rand.NewChaCha8(streamSeed(seed, study, s))
		r := rand.New(rng)
		block := make([]string, blockSize)
		for start := 0; start < size; start += blockSize {
			for i := range block {
				block[i] = arms[i%len(arms)]
			}
			r.Shuffle(len(block), func(i, j int) { block[i], block[j] = block[j], block[i] })
			for i, arm := range block {
				e := Entry{Study: study, Stratum: s, Seq: start + i + 1, Arm: arm}
				_, _ = rng.Read(e.Salt[:]) // ChaCha8.Read never fails
				l.add(e)
			}
		}
	}
	return l, nil
}

// streamSeed is the seed of one stratum's random stream: SHA-256 of the
// list's seed, the study and the stratum, each length-prefixed.
func streamSeed(seed [32]byte, study, stratum string) [32]byte {
	return types.HashFields(seed[:], []byte(study), []byte(stratum))
}

// SeedFrom derives a list's seed from a seed file's contents.
func SeedFrom(file []byte) [32]byte { return sha256.Sum256(file) }

// Write writes l as CSV: the header study,stratum,seq,arm,salt, then one
// row per entry, stratum by stratum in sequence order, the salt in hex.
func Write(w io.Writer, l *List) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, s := range l.Strata {
		for _, e := range l.entries[s] {
			if err := cw.Write([]string{e.Study, e.Stratum, strconv.Itoa(e.Seq), e.Arm, hex.EncodeToString(e.Salt[:])}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// Read reads a list file written by Write. A malformed file is refused
// with the line at fault: a wrong header, a row of another study, a bad
// sequence number, salt or arm, or a stratum whose entries do not run
// 1, 2, 3 ... in order.
func Read(r io.Reader, name string) (*List, error) {
	cnt := &counter{r: io.LimitReader(r, MaxFileBytes+1)}
	cr := csv.NewReader(bufio.NewReader(cnt))
	cr.FieldsPerRecord = len(header)
	cr.ReuseRecord = true
	l := &List{}
	fail := func(line int, format string, args ...any) error {
		if cnt.n > MaxFileBytes {
			return fmt.Errorf("%s: larger than %d bytes", name, MaxFileBytes)
		}
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fail(pe.StartLine, "%v", pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if n == 0 {
			for i, h := range header {
				if rec[i] != h {
					return nil, fail(line, "the header is %v, want study,stratum,seq,arm,salt", rec)
				}
			}
			continue
		}
		if n > MaxEntries {
			return nil, fail(line, "more than %d entries", MaxEntries)
		}
		e := Entry{Study: rec[0], Stratum: rec[1], Arm: rec[3], Line: line}
		if l.Study == "" {
			l.Study = e.Study
		}
		if e.Study != l.Study || types.CheckID("study", e.Study) != nil {
			return nil, fail(line, "study %q: every entry must be of study %s", e.Study, l.Study)
		}
		if ce := types.CheckStratum(e.Stratum); ce != nil {
			return nil, fail(line, "%s", ce.Msg)
		}
		if types.CheckID("arm", e.Arm) != nil {
			return nil, fail(line, "arm %q is not an arm OID", e.Arm)
		}
		seq, err := strconv.Atoi(rec[2])
		if want := len(l.entries[e.Stratum]) + 1; err != nil || seq != want {
			return nil, fail(line, "stratum %s: sequence number %q where %d comes next (entries of a stratum run 1, 2, 3 ... in order)", e.Stratum, rec[2], want)
		}
		e.Seq = seq
		salt, err := hex.DecodeString(rec[4])
		if err != nil || len(salt) != types.SaltBytes {
			return nil, fail(line, "the salt is not %d bytes of hex", types.SaltBytes)
		}
		copy(e.Salt[:], salt)
		l.add(e)
	}
	if cnt.n > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileBytes)
	}
	if l.Len() == 0 {
		return nil, fmt.Errorf("%s: the list holds no entries", name)
	}
	return l, nil
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
