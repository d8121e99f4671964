// Package export writes a study's ledger records at one height as an
// Excel workbook, CSV files (a directory or a zip) or a CDISC ODM 1.3.2
// Transactional, Archival file.
//
// The package is pure: it reads records through a Reader fixed at one
// height (ABCIReader over a node's RPC or an in-process App, MemReader in
// tests) and takes the consensus context of that height (Block) from the
// caller. Output depends only on those inputs: no wall clock, no random
// identifiers, no map order, zip entries in name order dated with the
// block time. Records are streamed page by page; only one form's versions
// are held at a time.
//
// Every data row carries the ledger key of its record, and every export
// lists every record it covers with the SHA-256 of its value and a
// digest of that list (DigestDefinition), so an auditor can fetch a
// Merkle proof for each key and check the file against the app hash the
// validators signed. docs/EXPORT.md describes the layouts.
package export
