// Package archive writes and verifies a trial archive: one file that
// holds a study's export, the consortium's genesis, the light blocks
// from the chain's first block to the export's height (every change of
// validator set included) and the ics23 proof of every record the export
// is built from, so that the export can be verified long after every node
// is gone: with no network and no node, from the genesis alone.
//
// The bundle is a POSIX tar file whose first entry is a manifest listing
// every other entry in order with its SHA-256; docs/ARCHIVE.md describes
// it for an independent verifier. Create reads the ledger through a
// client.Reader and a light block provider; Verify reads only the bundle,
// verifying the headers with CometBFT's light package (light.VerifyAdjacent
// and light.VerifyNonAdjacent), each record's proof with types.VerifyProof
// and each export with audit.CheckExportRecords.
package archive
