// Package entry is the Excel door for sites: it builds a data-entry
// workbook from a compiled protocol and a site's subjects (WriteTemplate),
// reads a filled workbook back into one submission per form instance with
// every problem located by sheet, row and column (Open, Book.Parse, Check),
// and compares those submissions with what the ledger holds (Plan) so that
// an import is resumable: forms already on the ledger with the same values
// are skipped and changed forms become corrections carrying only the
// changed items.
//
// The package is pure logic: it never talks to a node. Workbook layout (see
// WriteTemplate): an Instructions sheet, one sheet per form with three
// frozen header rows (item OIDs, labels with units, allowed values) and data
// from row 4, a hidden Lists sheet holding the drop-down entries of code
// lists, and a hidden _veritrial sheet recording the study, protocol
// version, fingerprint, site and block height the workbook was generated
// from.
package entry
