package types

import (
	"encoding/base64"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/veritrial/veritrial/protocol"
)

// decodeCanonical is DecodeTx's fast path for the txs clients send most:
// envelopes whose one message is submit_form or correct_form. The general
// path decodes with goccy/go-json and then encodes the result again with
// encoding/json to prove the bytes canonical; for a 20-item form that is
// two passes and a few dozen allocations. Since the only bytes the ledger
// accepts are json.Marshal(&tx), this parser walks raw expecting exactly
// that layout and decodes and proves canonicity in one pass.
//
// It accepts only what it can prove json.Marshal produces for the value
// it decodes:
//   - the fields of each object in declaration order, with no whitespace;
//     omitempty fields absent when zero and present when not;
//   - integers as "0" or an optional "-" and digits without a leading
//     zero, within the range of the field;
//   - strings of valid UTF-8 in which every character json.Marshal writes
//     raw is raw and every other one is written as json.Marshal escapes it
//     (\" \\ \b \f \n \r \t, \u00xx in lower-case hex for other control
//     characters and for < > &, \u2028 and \u2029);
//   - "values"/"changes" as null, [] or a list; "resolves" as a non-empty
//     list; the signature as non-empty standard base64 with padding and
//     zero padding bits;
//   - version TxVersion, nothing after the envelope.
//
// Every other input, including every one the ledger rejects, reports false
// and DecodeTx takes the general path, whose verdict and error code stand.
// What is accepted here is json.Marshal's encoding of the decoded Tx,
// which is valid JSON with one message: the general path decodes it to
// the same Tx (goccy/go-json reads back what encoding/json writes),
// encodes that to raw again and accepts it too. So both paths agree on
// every input; FuzzDecodeTxMatchesStdlib compares them.
//
// Decoded strings never alias raw, which callers may reuse: those without
// escapes share one copy of raw.
func decodeCanonical(raw []byte) (*Tx, bool) {
	p := canonParser{raw: raw, s: string(raw)}
	tx := new(Tx)
	b := &tx.Body
	p.lit(`{"body":{"v":`)
	if b.V = p.int(); b.V != TxVersion {
		return nil, false
	}
	p.lit(`,"chain_id":`)
	b.ChainID = p.str()
	p.lit(`,"signer":`)
	b.Signer = p.str()
	p.lit(`,"nonce":`)
	b.Nonce = p.str()
	p.lit(`,"expires":`)
	b.Expires = p.int64()
	switch {
	case p.opt(`,"msg":{"submit_form":`):
		m := new(MsgSubmitForm)
		m.FormKey = p.formKey()
		p.lit(`,"values":`)
		m.Values = p.items()
		b.Msg.SubmitForm = m
	case p.opt(`,"msg":{"correct_form":`):
		m := new(MsgCorrectForm)
		m.FormKey = p.formKey()
		p.lit(`,"changes":`)
		m.Changes = p.items()
		p.lit(`,"reason":`)
		m.Reason = p.str()
		if p.opt(`,"resolves":[`) {
			m.Resolves = append(m.Resolves, p.int())
			for p.opt(`,`) {
				m.Resolves = append(m.Resolves, p.int())
			}
			p.lit(`]`)
		}
		if p.opt(`,"base_version":`) {
			m.BaseVersion = p.nonZeroInt()
		}
		b.Msg.CorrectForm = m
	default:
		return nil, false
	}
	p.lit(`}}}`)
	bodyEnd := p.i
	p.lit(`,"sig":"`)
	tx.Signature = p.base64()
	p.lit(`}`)
	if p.bad || p.i != len(raw) {
		return nil, false
	}
	tx.keepSignBytes(raw[len(`{"body":`):bodyEnd])
	return tx, true
}

// canonParser reads raw from i; the first deviation from the canonical
// layout sets bad, and the parse is abandoned.
type canonParser struct {
	raw []byte
	s   string // a copy of raw: the decoded strings without escapes
	i   int
	bad bool
}

// opt consumes lit when raw continues with it.
func (p *canonParser) opt(lit string) bool {
	if p.bad || !strings.HasPrefix(p.s[p.i:], lit) {
		return false
	}
	p.i += len(lit)
	return true
}

// lit consumes lit, which must follow.
func (p *canonParser) lit(lit string) {
	if !p.opt(lit) {
		p.bad = true
	}
}

// formKey reads the fields of an embedded FormKey.
func (p *canonParser) formKey() FormKey {
	var k FormKey
	p.lit(`{"study":`)
	k.Study = p.str()
	p.lit(`,"subject":`)
	k.Subject = p.str()
	p.lit(`,"event":`)
	k.Event = p.str()
	p.lit(`,"event_repeat":`)
	k.EventRepeat = p.int()
	p.lit(`,"form":`)
	k.Form = p.str()
	return k
}

// items reads a list of item values.
func (p *canonParser) items() []protocol.ItemValue {
	if p.opt(`null`) {
		return nil
	}
	if p.opt(`[]`) {
		return []protocol.ItemValue{}
	}
	// Every item but the first follows `},{`: a capacity hint only.
	vs := make([]protocol.ItemValue, 0, 1+strings.Count(p.s[p.i:], `},{"item":`))
	p.lit(`[`)
	for !p.bad {
		vs = append(vs, protocol.ItemValue{})
		v := &vs[len(vs)-1]
		p.lit(`{"item":`)
		v.Item = p.str()
		if p.opt(`,"repeat":`) {
			v.Repeat = p.nonZeroInt()
		}
		p.lit(`,"value":`)
		v.Value = p.str()
		if p.opt(`,"missing":`) {
			v.Missing = p.nonEmptyStr()
		}
		if p.opt(`,"reason":`) {
			v.Reason = p.nonEmptyStr()
		}
		p.lit(`}`)
		if !p.opt(`,`) {
			break
		}
	}
	p.lit(`]`)
	return vs
}

// int64 reads an integer.
func (p *canonParser) int64() int64 {
	neg := p.opt(`-`)
	start := p.i
	var n uint64 // 19 digits cannot overflow it
	for p.i < len(p.raw) && p.i-start < 20 && '0' <= p.raw[p.i] && p.raw[p.i] <= '9' {
		n = n*10 + uint64(p.raw[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if p.bad || digits == 0 || digits > 19 || n > limit || p.raw[start] == '0' && (digits > 1 || neg) {
		p.bad = true
		return 0
	}
	if neg {
		return int64(-n)
	}
	return int64(n)
}

// int reads an integer that fits an int.
func (p *canonParser) int() int {
	n := p.int64()
	if int64(int(n)) != n {
		p.bad = true
	}
	return int(n)
}

// nonZeroInt reads the integer of an omitempty field that is present.
func (p *canonParser) nonZeroInt() int {
	n := p.int()
	if n == 0 {
		p.bad = true
	}
	return n
}

// nonEmptyStr reads the string of an omitempty field that is present.
func (p *canonParser) nonEmptyStr() string {
	s := p.str()
	if s == "" {
		p.bad = true
	}
	return s
}

// str reads a string written exactly as json.Marshal writes its value.
func (p *canonParser) str() string {
	p.lit(`"`)
	start, seg := p.i, p.i
	var out []byte // the value once an escape is seen
	for !p.bad && p.i < len(p.raw) {
		c := p.raw[p.i]
		switch {
		case c == '"':
			p.i++
			if out == nil {
				return p.s[start : p.i-1]
			}
			return string(append(out, p.raw[seg:p.i-1]...))
		case c == '\\':
			r, n := canonEscape(p.raw[p.i:])
			if n == 0 {
				p.bad = true
				return ""
			}
			out = utf8.AppendRune(append(out, p.raw[seg:p.i]...), r)
			p.i += n
			seg = p.i
		case c < utf8.RuneSelf:
			if c < 0x20 || c == '<' || c == '>' || c == '&' {
				p.bad = true
				return ""
			}
			p.i++
		default:
			r, n := utf8.DecodeRune(p.raw[p.i:])
			if r == utf8.RuneError && n == 1 || r == '\u2028' || r == '\u2029' {
				p.bad = true
				return ""
			}
			p.i += n
		}
	}
	p.bad = true
	return ""
}

// canonEscape decodes the escape at the start of b when it is the one
// json.Marshal writes for its character; n is 0 otherwise.
func canonEscape(b []byte) (r rune, n int) {
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '"', '\\':
		return rune(b[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		if len(b) < 6 {
			return 0, 0
		}
		switch string(b[2:6]) {
		case "2028":
			return '\u2028', 6
		case "2029":
			return '\u2029', 6
		case "003c":
			return '<', 6
		case "003e":
			return '>', 6
		case "0026":
			return '&', 6
		}
		hi, lo := b[4], lowerHex(b[5])
		if b[2] != '0' || b[3] != '0' || hi > '1' || hi < '0' || lo < 0 {
			return 0, 0
		}
		switch c := rune(hi-'0')<<4 | rune(lo); c {
		case '\b', '\f', '\n', '\r', '\t':
			return 0, 0
		default:
			return c, 6
		}
	}
	return 0, 0
}

// lowerHex is the value of a lower-case hex digit, -1 for any other byte.
func lowerHex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c-'a') + 10
	}
	return -1
}

// sigEncoding is json.Marshal's encoding of []byte, refusing padding bits
// that are not zero (which would not encode back to the same text).
var sigEncoding = base64.StdEncoding.Strict()

// base64 reads the rest of a non-empty base64 string and its closing
// quote.
func (p *canonParser) base64() []byte {
	end := strings.IndexByte(p.s[p.i:], '"')
	if p.bad || end <= 0 {
		p.bad = true
		return nil
	}
	text := p.raw[p.i : p.i+end]
	for _, c := range text {
		// The decoder skips line breaks; json.Marshal writes none.
		if c == '\r' || c == '\n' {
			p.bad = true
			return nil
		}
	}
	out := make([]byte, sigEncoding.DecodedLen(len(text)))
	n, err := sigEncoding.Decode(out, text)
	if err != nil {
		p.bad = true
		return nil
	}
	p.i += end + 1
	return out[:n]
}
