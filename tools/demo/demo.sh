#!/usr/bin/env bash
# The veritrial demo: one real node (CometBFT + the ledger on IAVL), a
# temporary home, and every everyday workflow from the shell. Run it with
# `make demo`; it cleans up after itself.
set -euo pipefail

BIN=${1:-bin/veritrial}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
FILL=${2:-$(dirname "$BIN")/fillcells}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/veritrial-demo.XXXXXX")
export VERITRIAL_HOME="$WORK/home"
export VERITRIAL_PASSPHRASE=veritrial-dev # the dev passphrase `init` prints; dev homes only
NODE_PID=""

cleanup() {
	if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
		kill -TERM "$NODE_PID" 2>/dev/null || true
		wait "$NODE_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ veritrial %s\n' "$*"; "$BIN" "$@"; }
# expect_reject runs a command that the ledger must refuse.
expect_reject() {
	printf '$ veritrial %s\n' "$*"
	if "$BIN" "$@"; then echo "demo: expected a rejection" >&2; exit 1; fi
	echo "(refused, as it should be)"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

RPC=$(free_port); P2P=$(free_port)
STUDY=VT-HTN-201

step "Create a single-machine consortium (sponsor, site1, cro, regulator) in a temporary home"
run init --rpc-port "$RPC" --p2p-port "$P2P" >/dev/null
"$BIN" keys list

step "Start the node: CometBFT and the ledger in one process"
"$BIN" start >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 60); do
	if "$BIN" status --output json 2>/dev/null | grep -q '"height": [1-9]'; then break; fi
	sleep 0.5
done
run status

step "Sponsor: check and register the protocol (outcomes are committed before the first subject)"
run protocol example --out "$WORK/htn201.yaml" >/dev/null
run protocol check "$WORK/htn201.yaml"
run study register --from sponsor-dm "$WORK/htn201.yaml"
run site activate --from sponsor-dm --study $STUDY --site site1

step "Site: enroll pseudonymous subjects (the consent form is referenced by its SHA-256 only)"
printf 'Informed consent form, version 2.0 (demo document)\n' >"$WORK/icf_v2.txt"
run subject enroll --from site1-coordinator --study $STUDY --subject S1-001 --consent-version 2.0 --consent-file "$WORK/icf_v2.txt"
run subject enroll --from site1-coordinator --study $STUDY --subject S1-002 --consent-version 2.0 --consent-file "$WORK/icf_v2.txt"

step "Site: enter vital signs; every validator runs the edit checks"
expect_reject form submit --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS \
	VS.DATE=2026-01-12 VS.POS=1 VS.SYSBP=300 VS.DIABP=92 VS.HR=72
run form submit --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS \
	VS.DATE=2026-01-12 VS.POS=1 VS.SYSBP=148 VS.DIABP=92 VS.HR=38
run form submit --from site1-coordinator --study $STUDY --subject S1-002 --event SCR --form VS \
	VS.DATE=2026-01-13 VS.POS=1 VS.SYSBP=152 VS.DIABP=95 VS.HR=66

step "Site: correct a value; a reason is mandatory and the old value stays on the ledger"
expect_reject form correct --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS --reason "" VS.HR=58
run form correct --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS \
	--reason "transcription error: source document shows 58" VS.HR=58

step "Site: bulk entry from Excel (a generated workbook with drop-downs and range checks)"
run form template --from site1-coordinator --study $STUDY --event SCR --out "$WORK/entry.xlsx"
# What a coordinator types into the DM sheet in Excel or LibreOffice:
"$FILL" --sheet DM --subject S1-001 --event SCR "$WORK/entry.xlsx" DM.CONSDT=2026-01-10 DM.AGE=58 DM.SEX=1 DM.HEIGHT=176.5 DM.WEIGHT=82.0 DM.SMOKE=2
"$FILL" --sheet DM --subject S1-002 --event SCR "$WORK/entry.xlsx" DM.CONSDT=2026-01-11 DM.AGE=63 DM.SEX=2 DM.CBP=0 DM.HEIGHT=162.0 DM.WEIGHT=70.4 DM.SMOKE=1
run form import "$WORK/entry.xlsx" --from site1-coordinator
echo "Importing the same workbook again sends nothing: rows already on the ledger are skipped."
run form import "$WORK/entry.xlsx" --from site1-coordinator

step "Authorization is enforced by the ledger: a sponsor cannot enter clinical data"
expect_reject form submit --from sponsor-dm --study $STUDY --subject S1-002 --event SCR --form DM DM.AGE=54

step "Anyone can read the audit trail of a form, verified against the app hash with an ics23 proof"
run show history --study $STUDY --subject S1-001 --event SCR --form VS --prove
run show form --study $STUDY --subject S1-001 --event SCR --form VS --prove
run show subject --study $STUDY --subject S1-001

step "Stop the node"
kill -TERM "$NODE_PID"
wait "$NODE_PID" || true
NODE_PID=""
tail -n 1 "$WORK/node.log"
echo
echo "Demo finished: the temporary home $WORK is removed."
