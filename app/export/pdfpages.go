package export

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// Page is one page of a casebook read back: its content stream (inflated)
// and the lines of text it shows, top to bottom as drawn.
type Page struct {
	Content []byte
	Lines   []string
}

// maxPageContent bounds one page's inflated content stream.
const maxPageContent = 64 << 20

var (
	pdfObjStart = regexp.MustCompile(`(?m)^(\d+) 0 obj\s`)
	pdfRef      = regexp.MustCompile(`(\d+) 0 R`)
	pdfContents = regexp.MustCompile(`/Contents (\d+) 0 R`)
	pdfLength   = regexp.MustCompile(`/Length (\d+)`)
)

// Pages reads a casebook's pages in order: the page tree's kids (the
// object numbered 1, as the casebook writer puts it), each page's content
// stream, and the text it shows. It reads the casebooks this package
// writes, and says why when a file is not one of them. Each object is
// taken at its last definition in the file, as an incremental update of
// a PDF defines it.
func (t *Table) Pages() ([]Page, error) {
	objs := pdfObjects(t.raw)
	root := objs["1"]
	k := bytes.Index(root, []byte("/Kids ["))
	if !bytes.Contains(root, []byte("/Type /Pages")) || k < 0 || bytes.IndexByte(root[k:], ']') < 0 {
		return nil, fmt.Errorf("no page tree in object 1")
	}
	kids := root[k : k+bytes.IndexByte(root[k:], ']')]
	var pages []Page
	for n, ref := range pdfRef.FindAllSubmatch(kids, -1) {
		page, ok := objs[string(ref[1])]
		c := pdfContents.FindSubmatch(page)
		if !ok || c == nil {
			return nil, fmt.Errorf("page %d (object %s) has no content", n+1, ref[1])
		}
		content, err := pdfStream(objs[string(c[1])])
		if err != nil {
			return nil, fmt.Errorf("page %d: content stream (object %s): %w", n+1, c[1], err)
		}
		pages = append(pages, Page{Content: content, Lines: pdfLines(content)})
	}
	return pages, nil
}

// pdfObjects splits a PDF into its objects by number, the last
// definition of a number winning. A stream's bytes are skipped by its
// length, so that binary content is never taken for an object header.
func pdfObjects(data []byte) map[string][]byte {
	type obj struct {
		num          string
		header, body int // where its header starts, where its body does
	}
	var found []obj
	for pos := 0; pos < len(data); {
		l := pdfObjStart.FindSubmatchIndex(data[pos:])
		if l == nil {
			break
		}
		o := obj{num: string(data[pos+l[2] : pos+l[3]]), header: pos + l[0], body: pos + l[1]}
		found = append(found, o)
		pos = o.body
		if s := bytes.Index(data[pos:], []byte("stream\n")); s >= 0 && !bytes.Contains(data[pos:pos+s], []byte("endobj")) {
			if m := pdfLength.FindSubmatch(data[pos : pos+s]); m != nil {
				if n, err := strconv.Atoi(string(m[1])); err == nil {
					pos = min(pos+s+len("stream\n")+n, len(data))
				}
			}
		}
	}
	objs := make(map[string][]byte, len(found))
	for i, o := range found {
		end := len(data)
		if i+1 < len(found) {
			end = found[i+1].header
		}
		objs[o.num] = data[o.body:end]
	}
	return objs
}

// pdfStream returns the bytes of the stream an object holds, inflated
// when its filter is FlateDecode.
func pdfStream(obj []byte) ([]byte, error) {
	i := bytes.Index(obj, []byte("stream\n"))
	l := pdfLength.FindSubmatch(obj)
	if i < 0 || l == nil {
		return nil, fmt.Errorf("not a stream with a length")
	}
	n, err := strconv.Atoi(string(l[1]))
	body := obj[i+len("stream\n"):]
	if err != nil || n > len(body) {
		return nil, fmt.Errorf("stream length %s is beyond the object", l[1])
	}
	body = body[:n]
	if !bytes.Contains(obj[:i], []byte("/FlateDecode")) {
		return body, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxPageContent+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxPageContent {
		return nil, fmt.Errorf("inflates to more than %d bytes", maxPageContent)
	}
	return out, nil
}

// pdfLines lists the text a content stream shows (the strings of its Tj
// operators), one line per baseline: consecutive strings drawn at the
// same height are joined by a space. The Windows-1252 bytes are decoded.
func pdfLines(content []byte) []string {
	var lines []string
	var line []string
	var operands []string
	y, lineY := "", ""
	flush := func() {
		if len(line) > 0 {
			lines = append(lines, strings.Join(line, " "))
		}
		line = nil
	}
	dec := charmap.Windows1252.NewDecoder()
	for i := 0; i < len(content); {
		c := content[i]
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			i++
		case c == '(':
			s, n := pdfString(content[i:])
			operands = append(operands, s)
			i += n
		default:
			j := i
			for j < len(content) && !strings.ContainsRune(" \n\r\t()", rune(content[j])) {
				j++
			}
			tok := string(content[i:j])
			i = j
			switch {
			case tok == "Td" && len(operands) >= 2:
				y = operands[len(operands)-1]
			case tok == "Tj" && len(operands) >= 1:
				if y != lineY {
					flush()
					lineY = y
				}
				text, _ := dec.String(operands[len(operands)-1])
				line = append(line, text)
			case len(tok) > 0 && (tok[0] == '-' || tok[0] == '.' || (tok[0] >= '0' && tok[0] <= '9')):
				operands = append(operands, tok)
				continue
			}
			operands = operands[:0]
		}
	}
	flush()
	return lines
}

// pdfString reads a literal string starting at b[0] == '(': its bytes
// with the escapes undone, and how many bytes it spans.
func pdfString(b []byte) (string, int) {
	var out []byte
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\\':
			if i+1 < len(b) {
				i++
				switch e := b[i]; e {
				case 'n':
					out = append(out, '\n')
				case 'r':
					out = append(out, '\r')
				case 't':
					out = append(out, '\t')
				default:
					out = append(out, e)
				}
			}
		case '(':
			if depth > 0 {
				out = append(out, c)
			}
			depth++
		case ')':
			depth--
			if depth == 0 {
				return string(out), i + 1
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return string(out), len(b)
}
