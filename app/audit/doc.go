// Package audit is what a regulator runs against a veritrial consortium:
// it verifies instead of believing. VerifyChain checks every header from a
// trust root (the genesis validators, or a trusted header) with CometBFT's
// light client; Trail rebuilds who did what, when and why from the blocks
// and their results, rejected attempts included; Signals computes the
// data-integrity signals inspectors look for; Replay re-executes a
// stopped node's stored blocks in a fresh application and compares every
// app hash and tx result; VerifyExport proves every record of an export's
// height against a verified app hash and compares the file, as app/export
// reads it back, with the export the proven records render to. See
// docs/AUDIT.md.
package audit
