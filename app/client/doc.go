// Package client talks to a veritrial node over CometBFT RPC: it signs and
// broadcasts transactions, waits for their block, and reads ledger records
// at any height, verifying ics23 proofs against the app hash on request.
package client
