// Package accesslog is a node's access log: every read request the node
// answers or refuses, one JSON entry per line in append-only segment
// files, each entry carrying its sequence number and the hash of the one
// before it (a SHA-256 hash chain over each entry's canonical encoding).
// Log records entries (it implements app.AccessLog), Verify and Scan read
// a log back and name its first bad entry, and Committer commits the log's
// head to the ledger from inside the node, so that an edited, truncated or
// replaced log disagrees with a head anyone can read. docs/ACCESSLOG.md
// describes the format, the durability and the rules.
package accesslog
