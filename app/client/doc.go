// Package client is the client side's one way to a veritrial ledger. A
// Reader reads records at one pinned height through a QueryFunc (a node's
// RPC, an in-process App, records in memory), page by page, checking
// ics23 proofs against the app hash a RootSource gives when asked; its
// getters decode the records. A Client signs and broadcasts transactions
// to a node, waits for their block, and makes Readers of that node.
package client
