// Package app is the replicated veritrial state machine: an ABCI 2.0
// application for CometBFT whose state lives in one IAVL tree (app hash =
// tree root).
//
// The ABCI side:
//   - app.go: the App and its ABCI methods (Info, InitChain, CheckTx,
//     PrepareProposal, ProcessProposal, FinalizeBlock, Commit) and the
//     committed view CheckTx and Query read;
//   - abci_query.go: the ABCI Query paths /key and /list, with ics23 proofs,
//     answered only inside a signed read request (read.go: its checks,
//     readnonces.go: its replay protection; policy.go: the read policy);
//   - peerfilter.go: CometBFT's peer filter, answered from the ledger's
//     node IDs;
//   - snapshot.go, statesync.go: state sync snapshots, taken and restored;
//   - optimistic.go: the block execution ProcessProposal starts early;
//   - genesis.go: the consortium InitChain writes.
//
// One transaction's path:
//   - checkdeliver.go: the checks CheckTx and FinalizeBlock share
//     (checkEnvelope: encoding, chain, expiry, signature, nonce,
//     authorization), CheckTx's check, FinalizeBlock's deliver, the nonce
//     a tx consumes and the pruning of expired nonces;
//   - authorize.go: the checks of the sponsor's side that depend on the
//     study (own sponsor, a CRO's delegated tasks); the table of which
//     organisation kinds and roles may send each message kind is
//     types.Authorize;
//   - dispatch.go: a tx's execution context (stamps, events, record
//     loading) and its dispatch to the handlers;
//   - handlers_*.go: the rules of each message, grouped by subject:
//     study (with the independence of approvals), subject, form, account
//     (with two-person key rotation), dataquery (clinical data queries),
//     sdv (source data verification), sign, lock (freeze and lock),
//     delegation (a study's to CROs, each site's delegation log),
//     consortium (governance; consortium.go applies the changes),
//     accesshead (the access log heads node accounts commit), labranges
//     (reference ranges for lab items, the flags of the values outside
//     them and the investigator's assessments), schedule (visit windows
//     and deviations), consent (re-consent and what each withdrawal kind
//     allows), safety (serious adverse event records and their clock),
//     randomization (sealed allocation lists, randomisation, unblinding);
//   - followchecks.go: the checks of a subject's other forms that read a
//     form, run again when it changes.
//
// Versions of the state machine:
//   - version.go: the version this binary runs and the kinds each version
//     introduced; a block executes under the ledger's stored version;
//   - upgrade.go: the halt at a decided upgrade's height, the migration
//     run there and the release check at start;
//   - migrations.go: the registry of migrations from version N to N+1
//     (migration_upgradetest.go: one more, for test binaries only).
//
// State and the caches that never change a result:
//   - store.go: the IAVL tree on goleveldb, commit and crash recovery;
//   - txstore.go: the reader interface, a tx's write buffer (txStore) and
//     prefix iteration;
//   - readmemo.go: the memo of the records most txs read;
//   - reccache.go: decoded records by their stored bytes;
//   - txcache.go: the txs CheckTx accepted, for FinalizeBlock;
//   - noncefilter.go: the Bloom filters of the committed nonces;
//   - scrub.go: the check of a stored state against its root (doctor,
//     start's sample) and the record-by-record comparison audit replay
//     makes.
package app
