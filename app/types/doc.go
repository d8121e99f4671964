// Package types holds what the ledger and its clients share: the canonical
// transaction wire format, the records kept in state, the store keys, the
// genesis document and the response codes.
package types
