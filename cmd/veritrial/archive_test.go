package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/archive"
)

// tarEntry is one entry of a bundle: its name, and where its content
// starts in the file and how long it is.
type tarEntry struct {
	name      string
	off, size int64
	body      []byte
}

// tarEntries lists a bundle's entries (USTAR: a 512-byte header, the
// content padded to 512 bytes).
func tarEntries(t *testing.T, data []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(data))
	off := int64(0)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out = append(out, tarEntry{name: hdr.Name, off: off + 512, size: hdr.Size, body: body})
		off += 512 + (hdr.Size+511)/512*512
	}
}

// rebuild writes a bundle of entries with the manifest's sizes and
// SHA-256s recomputed: an edit made consistently, that only the content
// checks can find.
func rebuild(t *testing.T, es []tarEntry) []byte {
	t.Helper()
	var m archive.Manifest
	if err := json.Unmarshal(es[0].body, &m); err != nil {
		t.Fatal(err)
	}
	for i := range m.Parts {
		for _, e := range es {
			if e.name == m.Parts[i].Name {
				sum := sha256.Sum256(e.body)
				m.Parts[i].Size, m.Parts[i].SHA256 = int64(len(e.body)), hex.EncodeToString(sum[:])
			}
		}
	}
	man, _ := json.Marshal(m)
	es[0].body = man
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: int64(len(e.body)), Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	return buf.Bytes()
}

// TestArchiveOnARealNode archives a locked study from a running node,
// stops the node and deletes its home, and verifies the archive offline;
// then each part of the bundle is altered in turn (a flipped byte in
// every export, the genesis, a light block, a record's proof and the
// manifest; a consistent edit of an export value; reordered entries; a
// truncated file) and verification fails naming the part and the place.
func TestArchiveOnARealNode(t *testing.T) {
	t.Parallel()
	work, home, env, n := devNode(t)
	enterVS(t, work, env)
	signAndLock(t, work, env)

	bundle := filepath.Join(work, "VT-HTN-201.vtar")
	start := time.Now()
	var sum archiveResult
	formats := "xlsx,csv,odm,dataset-json,pdf"
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "archive", "create", "--study", "VT-HTN-201", "--out", bundle, "--format", formats, "--output", "json"), &sum)
	t.Logf("archive create: %.1f s, %d bytes, %d records, %d light blocks", time.Since(start).Seconds(), sum.Bytes, sum.Records, sum.LightBlocks)
	if sum.Basis != "database lock" || sum.Records < 20 || sum.LightBlocks < 3 || len(sum.Formats) != 5 || len(sum.Digest) != 64 {
		t.Fatalf("archive: %+v", sum)
	}
	failVT(t, env, exitUsage, "already exists", "--from", "sponsor-dm", "archive", "create", "--study", "VT-HTN-201", "--out", bundle)
	failVT(t, env, exitUsage, `export format "sas" is not known`, "--from", "sponsor-dm", "archive", "create", "--study", "VT-HTN-201", "--out", filepath.Join(work, "x.vtar"), "--format", "xlsx,sas")
	again := filepath.Join(work, "again.vtar")
	mustVT(t, env, "--from", "sponsor-dm", "archive", "create", "--study", "VT-HTN-201", "--out", again, "--format", formats)
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, []byte(readFile(t, again))) {
		t.Error("two archives of the locked study differ")
	}

	// No node, no home: the archive alone.
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d; log:\n%s", code, n.stderr)
	}
	if err := os.RemoveAll(home); err != nil {
		t.Fatal(err)
	}
	offline := testEnv(t)
	start = time.Now()
	var rep archive.Report
	decode(t, mustVT(t, offline, "archive", "verify", bundle, "--output", "json"), &rep)
	t.Logf("archive verify: %.1f s", time.Since(start).Seconds())
	if !rep.OK() || rep.Height != sum.Height || rep.Records != sum.Records || rep.AppHash != sum.AppHash || len(rep.Exports) != 5 || rep.Digest != sum.Digest {
		t.Fatalf("offline verification: %+v", rep)
	}
	for _, e := range rep.Exports {
		if !e.Identical {
			t.Errorf("export %s is not identical to the ledger's", e.Part)
		}
	}
	if r := mustVT(t, offline, "archive", "verify", bundle); !strings.Contains(r.stdout, "OK: the archive verifies from its genesis") {
		t.Errorf("verify:\n%s", r.stdout)
	}

	es := tarEntries(t, data)
	entry := func(prefix string) tarEntry {
		for _, e := range es {
			if strings.HasPrefix(e.name, prefix) {
				return e
			}
		}
		t.Fatalf("no entry %s in %v", prefix, es)
		return tarEntry{}
	}
	lightH := entry(fmt.Sprintf("light/%012d", sum.Height))
	records := entry(archive.RecordsName)
	proof := bytes.Index(records.body, []byte(`"proof":"`)) + len(`"proof":"`) + 20
	tampered := filepath.Join(work, "tampered.vtar")
	verifyFails := func(what string, bad []byte, want ...string) {
		t.Helper()
		if err := os.WriteFile(tampered, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		r := vt(t, offline, "archive", "verify", tampered)
		if r.code != exitFailure {
			t.Errorf("%s: exit %d, want %d\n%s%s", what, r.code, exitFailure, r.stdout, r.stderr)
			return
		}
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s: the report does not say %q:\n%s", what, w, r.stdout)
			}
		}
	}
	flip := func(off int64) []byte {
		bad := bytes.Clone(data)
		bad[off] ^= 0x01
		return bad
	}
	for _, e := range es {
		if strings.HasPrefix(e.name, "export/") {
			verifyFails("flipped byte in "+e.name, flip(e.off+e.size/2), e.name, "SHA-256")
		}
	}
	verifyFails("flipped byte in the genesis", flip(entry(archive.GenesisName).off+entry(archive.GenesisName).size/2), archive.GenesisName)
	verifyFails("flipped byte in light block H", flip(lightH.off+lightH.size/2), lightH.name, fmt.Sprintf("height %d", sum.Height))
	verifyFails("flipped byte in a proof", flip(records.off+int64(proof)), archive.RecordsName, "line 1 (record ", "proof")
	verifyFails("flipped byte in the manifest", flip(es[0].off), archive.ManifestName, "not a valid manifest")
	verifyFails("truncated", data[:records.off+records.size/2], archive.RecordsName, "truncated")
	verifyFails("truncated in the headers", data[:lightH.off+10], lightH.name, "truncated")

	// An export value edited with the manifest made to match: located as
	// audit verify-export locates it.
	edited := append([]tarEntry(nil), es...)
	for i, e := range edited {
		if e.name == "export/dataset.odm.xml" {
			b := bytes.Replace(e.body, []byte(`ItemOID="I.VS.HR" TransactionType="Update" Value="58"`), []byte(`ItemOID="I.VS.HR" TransactionType="Update" Value="59"`), 1)
			if bytes.Equal(b, e.body) {
				t.Fatal("no VS.HR update in the ODM export")
			}
			edited[i].body = b
		}
	}
	verifyFails("edited export value", rebuild(t, edited), "export/dataset.odm.xml", "ODM line ", "ItemData[@ItemOID=I.VS.HR]", "Value=59")
	// A record's value edited consistently: its proof no longer holds.
	edited = append([]tarEntry(nil), es...)
	for i, e := range edited {
		if e.name == archive.RecordsName {
			lines := bytes.Split(e.body, []byte("\n"))
			var le struct {
				Key   string `json:"key"`
				Value []byte `json:"value"`
				Proof []byte `json:"proof"`
			}
			if err := json.Unmarshal(lines[2], &le); err != nil {
				t.Fatal(err)
			}
			le.Value = append(le.Value, ' ')
			lines[2], _ = json.Marshal(le)
			edited[i].body = bytes.Join(lines, []byte("\n"))
		}
	}
	verifyFails("edited record", rebuild(t, edited), archive.RecordsName, "line 3 (record ", "the proof does not hold")
	// Reordered: the genesis after the first light block.
	reordered := append([]tarEntry(nil), es...)
	reordered[1], reordered[2] = reordered[2], reordered[1]
	verifyFails("reordered entries", rebuild(t, reordered), "the manifest lists genesis.json here")
	// An entry the manifest does not list, and a part over its limit.
	verifyFails("extra entry", rebuild(t, append(append([]tarEntry(nil), es...), tarEntry{name: "notes.txt", body: []byte("x")})), "notes.txt", "an entry the manifest does not list")
	var m archive.Manifest
	if err := json.Unmarshal(es[0].body, &m); err != nil {
		t.Fatal(err)
	}
	m.Parts[0].Size = archive.MaxGenesis + 1
	man, _ := json.Marshal(m)
	big := bytes.Clone(data)
	copy(big[es[0].off:], append(man, bytes.Repeat([]byte(" "), int(es[0].size)-len(man))...))
	verifyFails("part over its limit", big, archive.ManifestName, "parts[0]", "over the limit")
	failVT(t, offline, exitInput, "cannot read archive", "archive", "verify", filepath.Join(work, "none.vtar"))
}
