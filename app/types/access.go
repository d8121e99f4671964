package types

// AccessEntry is one read request a node answered or refused, as its
// access log keeps it: who asked (the account and organisation the request
// names, even when refused), what (the path and the key or prefix), at
// which ledger height, how many records were answered, and the outcome.
type AccessEntry struct {
	// Time is the serving node's clock, RFC 3339 in UTC.
	Time    string `json:"time"`
	Reader  string `json:"reader,omitempty"`
	Org     string `json:"org,omitempty"`
	Path    string `json:"path"`
	Scope   string `json:"scope"`
	Height  int64  `json:"height,omitempty"`
	Records int    `json:"records"`
	// Code is 0 when the read was answered, else its refusal.
	Code Code `json:"code,omitempty"`
}
