// Package example is the example study, VT-HTN-201 (protocol.Example), as
// ledger messages: its study ID and consent form, complete values of its
// forms, and builders of the messages that register a protocol, activate
// sites, enrol subjects, enter and correct forms and manage their data.
// The app's tests (through app/apptest) and the load generator
// (tools/loadgen) share it; it imports no test code. All its data is
// fictitious.
package example
