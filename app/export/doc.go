// Package export writes a study's ledger records at one height as an
// Excel workbook, CSV files (a directory or a zip), a CDISC ODM 1.3.2
// Transactional, Archival file or a zip of CDISC Dataset-JSON 1.1
// datasets, and reads such files back.
//
// The package is pure: it reads records through a client.Reader pinned at
// one height (over a node's RPC, an in-process App, or records held in
// memory) and takes the consensus context of that height (Block) from the
// caller. Output depends only on those inputs: no wall clock, no random
// identifiers, no map order, zip entries in name order dated with the
// block time. Records are streamed page by page; only one form's versions
// are held at a time.
//
// Every data row carries the ledger key of its record, and every export
// lists every record it covers with the SHA-256 of its value and a
// digest of that list (DigestDefinition), so an auditor can fetch a
// Merkle proof for each key and check the file against the app hash the
// validators signed. The package owns the formats: Write chooses the
// writer of a format, Open tells a file's format and reads its
// provenance, File.Manifest its record list (each entry located by sheet
// or file and row) and File.Tables its tables, for app/audit to compare.
// docs/EXPORT.md describes the layouts.
package export
