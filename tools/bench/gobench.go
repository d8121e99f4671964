package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// goBench is one line of go test -bench output.
type goBench struct {
	Package    string             `json:"package"`
	Name       string             `json:"name"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
}

// curvePoint is a FinalizeBlock+Commit run on a prefilled store.
type curvePoint struct {
	Prefill      int     `json:"prefill"`
	Values       float64 `json:"values_after"`
	TxPerSec     float64 `json:"tx_per_s"`
	ValuesPerSec float64 `json:"item_values_per_s"`
	DiskPerValue float64 `json:"disk_bytes_per_value"`
	NsPerBlock   float64 `json:"ns_per_block"`
	// NodePathTxPerSec is BenchmarkCheckFinalizeCommit1000 on the same
	// store: CheckTx of each tx first, as a validator that received it.
	NodePathTxPerSec float64 `json:"node_path_tx_per_s,omitempty"`
	Profile          string  `json:"profile,omitempty"`
}

// parseBench reads the benchmark lines of go test -bench output:
// "BenchmarkX-2  10  123 ns/op  4.5 txs/s ..." under "pkg: ..." headers.
func parseBench(out string) []goBench {
	var res []goBench
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		b := goBench{Package: pkg, Name: name, Iterations: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			b.Metrics[f[i+1]] = v
		}
		res = append(res, b)
	}
	return res
}

// goCmd runs the go tool with env added, returning its combined output.
func goCmd(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if err != nil {
		tail := buf.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return buf.String(), fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, tail)
	}
	return buf.String(), nil
}

func (h *harness) build(ctx context.Context) error {
	for name, pkg := range map[string]string{"veritrial": "./cmd/veritrial", "loadgen": "./tools/loadgen", "kvnode": "./tools/loadgen/kvnode"} {
		if _, err := goCmd(ctx, nil, "build", "-o", filepath.Join(h.bin, name), pkg); err != nil {
			return err
		}
	}
	return nil
}

// goBenchmarks runs the selected Go benchmarks of protocol and app.
func (h *harness) goBenchmarks(ctx context.Context) error {
	out, err := goCmd(ctx, nil, "test", "-run", "^$", "-bench", h.o.BenchRE, "-benchmem", "-benchtime", h.o.Benchtime, "-timeout", "10m", "./protocol/", "./app/...")
	h.rep.Go = parseBench(out)
	if err != nil {
		return err
	}
	if len(h.rep.Go) == 0 {
		return fmt.Errorf("no benchmark matched %q", h.o.BenchRE)
	}
	return nil
}

// curve runs FinalizeBlock+Commit of 1,000 adverse event forms on stores
// prefilled with each count of item values; one run writes a CPU profile.
func (h *harness) curve(ctx context.Context) error {
	for _, p := range h.o.Prefills {
		// Both FinalizeCommit1000 and CheckFinalizeCommit1000, on one store.
		args := []string{"test", "./app", "-run", "^$", "-bench", "FinalizeCommit1000$", "-benchtime", fmt.Sprintf("%dx", max(1, h.o.CurveBlocks)), "-timeout", "40m"}
		var prof string
		if p == h.o.ProfilePrefil {
			prof = filepath.Join(h.o.WorkDir, fmt.Sprintf("finalize-commit-%d.pprof", p))
			args = append(args, "-cpuprofile", prof, "-o", filepath.Join(h.o.WorkDir, "app.test"))
		}
		logf("FinalizeBlock+Commit with %d stored item values", p)
		out, err := goCmd(ctx, []string{"VERITRIAL_BENCH_PREFILL=" + strconv.Itoa(p)}, args...)
		if err != nil {
			return err
		}
		bs := parseBench(out)
		if len(bs) == 0 {
			return fmt.Errorf("FinalizeCommit1000 printed no result:\n%s", out)
		}
		var pt curvePoint
		for _, b := range bs {
			m := b.Metrics
			switch b.Name {
			case "FinalizeCommit1000":
				pt = curvePoint{Prefill: p, Values: m["values"], TxPerSec: m["txs/s"], ValuesPerSec: m["values/s"],
					DiskPerValue: m["disk-B/value"], NsPerBlock: m["ns/op"], NodePathTxPerSec: pt.NodePathTxPerSec}
			case "CheckFinalizeCommit1000":
				pt.NodePathTxPerSec = m["txs/s"]
			}
		}
		if pt.TxPerSec == 0 {
			return fmt.Errorf("FinalizeCommit1000 printed no result:\n%s", out)
		}
		if prof != "" {
			dst := filepath.Join(h.o.OutDir, fmt.Sprintf("bench-%s-finalize-commit.pprof", h.stamp))
			if err := copyFile(prof, dst); err == nil {
				pt.Profile = dst
			}
			if top, err := pprofTop(ctx, filepath.Join(h.o.WorkDir, "app.test"), prof); err == nil {
				h.rep.ProfileTop = top
			}
		}
		h.rep.Curve = append(h.rep.Curve, pt)
	}
	return nil
}

// pprofTop returns the top entries of a CPU profile, by cumulative and by
// flat time.
func pprofTop(ctx context.Context, bin, prof string) ([]string, error) {
	var lines []string
	for _, mode := range [][]string{{"-top", "-cum", "-nodecount=35"}, {"-top", "-nodecount=20"}} {
		out, err := goCmd(ctx, nil, append(append([]string{"tool", "pprof"}, mode...), bin, prof)...)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines, nil
}

func copyFile(src, dst string) error {
	bz, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, bz, 0o644)
}
