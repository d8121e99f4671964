package app_test

import (
	"context"
	"os"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app"
)

// BenchmarkSnapshotRestore takes a snapshot of the prefilled store
// (VERITRIAL_BENCH_PREFILL item values) and restores it into a fresh
// app through the ABCI snapshot methods, as a node joining by state sync
// does; it reports the restore's seconds and the snapshot's size, and
// logs the export's time.
//
//	VERITRIAL_BENCH_PREFILL=10000000 go test ./app -run '^$' -bench SnapshotRestore -benchtime 1x -timeout 60m
func BenchmarkSnapshotRestore(b *testing.B) {
	f := fixture(b)
	src := f.c.App
	ctx := context.Background()
	ls, err := src.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil {
		b.Fatal(err)
	}
	if len(ls.Snapshots) == 0 { // the first run of the benchmark function
		t0 := time.Now()
		if err := src.TakeSnapshot(); err != nil {
			b.Fatal(err)
		}
		b.Logf("snapshot of %d item values taken in %s", f.values, time.Since(t0).Round(time.Millisecond))
		f.c.Block() // a snapshot is listed two heights after its own
		f.c.Block()
		if ls, err = src.ListSnapshots(ctx, &abci.RequestListSnapshots{}); err != nil || len(ls.Snapshots) == 0 {
			b.Fatalf("no snapshot listed (%v)", err)
		}
	}
	s := ls.Snapshots[0]
	appHash := f.c.Hashes[int64(s.Height)]
	chunks := make([][]byte, s.Chunks)
	var size int
	for i := range chunks {
		res, err := src.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: s.Height, Format: s.Format, Chunk: uint32(i)})
		if err != nil || res.Chunk == nil {
			b.Fatalf("chunk %d: %v", i, err)
		}
		chunks[i] = res.Chunk
		size += len(res.Chunk)
	}
	b.ResetTimer()
	var restore time.Duration
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		dst, err := app.New(app.Config{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		off, err := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: s, AppHash: appHash})
		if err != nil || off.Result != abci.ResponseOfferSnapshot_ACCEPT {
			b.Fatalf("offer: %v %v", off, err)
		}
		for i, c := range chunks {
			res, err := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: uint32(i), Chunk: c})
			if err != nil || res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
				b.Fatalf("chunk %d: %v %v", i, res, err)
			}
		}
		restore += time.Since(t0)
		b.StopTimer()
		info, _ := dst.Info(ctx, &abci.RequestInfo{})
		if info.LastBlockHeight != int64(s.Height) {
			b.Fatalf("restored height %d", info.LastBlockHeight)
		}
		dst.Close()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(restore.Seconds()/float64(b.N), "restore-s")
	b.ReportMetric(float64(size)/1e6, "snapshot-MB")
	b.ReportMetric(float64(f.values), "values")
}
