#!/usr/bin/env bash
# The veritrial demo: one real node (CometBFT + the ledger on IAVL), a
# temporary home, and a study from registration to the regulator's audit of
# the locked dataset, from the shell. Run it with `make demo`; it cleans up
# after itself.
set -eEuo pipefail

BIN=${1:-bin/veritrial}
FILL=${2:-$(dirname "$BIN")/fillcells}
for f in "$BIN" "$FILL"; do
	[ -x "$f" ] || { echo "demo: $f is not an executable (usage: demo.sh [veritrial [fillcells]])" >&2; exit 2; }
done
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
FILL=$(cd "$(dirname "$FILL")" && pwd)/$(basename "$FILL")
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
trap 'echo "demo: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$WORK" # files the demo writes are named relative to it

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# show prints a command as it could be typed (arguments with spaces quoted).
show() {
	local line='$' a
	for a in "$@"; do
		if [[ -z $a || $a =~ [^][A-Za-z0-9_./=:,@+-] ]]; then a="'${a//\'/\'\\\'\'}'"; fi
		line+=" $a"
	done
	printf '%s\n' "$line"
}
run() { show veritrial "$@"; "$BIN" "$@"; }
# expect CODE ARGS... runs a command that must fail with exit code CODE (6:
# the ledger rejected the transaction; 1: a check found a difference, or the
# node refused a read; 2: a read without a key, which is never sent).
expect() {
	local want=$1 code=0
	shift
	show veritrial "$@"
	"$BIN" "$@" || code=$?
	if [ "$code" != "$want" ]; then
		echo "demo: expected exit code $want, got $code" >&2
		exit 1
	fi
	echo "(exit code $code, as expected)"
}
# fill runs tools/fillcells, which types values into a workbook as a person
# would in Excel or LibreOffice.
fill() { show fillcells "$@"; "$FILL" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# days_ago N prints the UTC date N days before today (visit dates are relative
# to the day the demo runs, so the integrity report's late entries are too).
days_ago() { python3 -c 'import datetime as d, sys; print(d.datetime.now(d.timezone.utc).date() - d.timedelta(days=int(sys.argv[1])))' "$1"; }

RPC=$(free_port); P2P=$(free_port); API=$(free_port)
STUDY=VT-HTN-201
# S1-001 was screened two days ago; S1-002 three weeks ago, entered late.
CONS1=$(days_ago 3) VISIT1=$(days_ago 2) CONS2=$(days_ago 22) VISIT2=$(days_ago 20) BASE2=$(days_ago 16)

step "This binary: its release, commit and state-machine version"
run version

step "Create a single-machine consortium (sponsor, site1, cro, regulator) in a temporary home"
run init --rpc-port "$RPC" --p2p-port "$P2P" --http-port "$API"

step "Start the node: CometBFT and the ledger in one process"
"$BIN" start --access-log-commit-every 100 --access-log-commit-interval 20s >node.log 2>&1 &
NODE_PID=$!
for _ in $(seq 1 60); do
	if "$BIN" status --from regulator-auditor --output json 2>/dev/null | grep -q '"height": [1-9]'; then break; fi
	sleep 0.5
done
run status --from sponsor-dm

step "Sites and monitors can also work in the browser: the node serves the web pages on its read API's port (docs/WEB.md)"
show curl "http://127.0.0.1:$API/"
curl -fsS "http://127.0.0.1:$API/" | grep -o '<title>[^<]*</title>'
for asset in veritrial.wasm wasm_exec.js app.js; do
	curl -fsS -o /dev/null -w "  /$asset: %{size_download} bytes, HTTP %{http_code}\n" "http://127.0.0.1:$API/$asset"
done
echo "  Open http://127.0.0.1:$API/ in a browser while the node runs and sign in with a key file: the key is unlocked and every transaction signed in the browser."

step "Sponsor: check and register the protocol (outcomes are committed before the first subject); it declares consent version 1.0, its AE form is the safety form and AE.SER its seriousness item"
run protocol example --out htn201.yaml
run protocol check htn201.yaml
run study register --from sponsor-dm htn201.yaml

step "Need to know: the CRO reads nothing of the study until the sponsor delegates work to it; a read without a key reads nothing at all"
expect 1 show study --from cro-monitor --study $STUDY
expect 2 show study --study $STUDY

step "Sponsor: delegate monitoring and data management to the CRO, activate site1 with its principal investigator"
run study delegate --from sponsor-dm --study $STUDY --org cro --tasks monitoring,data_management
run site activate --from sponsor-dm --study $STUDY --site site1 --pi site1-investigator

step "Site: the principal investigator delegates study tasks to the coordinator (the site's delegation log); the ledger refuses anyone else"
printf 'Informed consent form, version 1.0 (demo document)\n' >icf_v1.txt
expect 6 subject enroll --from site1-coordinator --study $STUDY --subject S1-001 --consent-version 1.0 --consent-file icf_v1.txt
run site delegate --from site1-investigator --study $STUDY --site site1 --account site1-coordinator --tasks enroll,entry,answer
run show delegations --from sponsor-dm --study $STUDY

step "Site: enroll pseudonymous subjects (the consent form is referenced by its SHA-256 only)"
run subject enroll --from site1-coordinator --study $STUDY --subject S1-001 --consent-version 1.0 --consent-file icf_v1.txt
run subject enroll --from site1-coordinator --study $STUDY --subject S1-002 --consent-version 1.0 --consent-file icf_v1.txt

step "Site: enter vital signs; every validator runs the edit checks (a hard failure is refused, a soft one raises a query)"
expect 6 form submit --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS \
	VS.DATE=$VISIT1 VS.POS=1 VS.SYSBP=300 VS.DIABP=92 VS.HR=72
run form submit --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS \
	VS.DATE=$VISIT1 VS.POS=1 VS.SYSBP=148 VS.DIABP=92 VS.HR=38
run form submit --from site1-coordinator --study $STUDY --subject S1-002 --event SCR --form VS \
	VS.DATE=$VISIT2 VS.POS=1 VS.SYSBP=152 VS.DIABP=95 VS.HR=66

step "Site: correct a value; a reason is mandatory, the old value stays on the ledger, and the query the edit check raised on the heart rate of 38 closes itself as its condition clears"
expect 6 form correct --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS --reason "" VS.HR=58
run form correct --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS \
	--reason "transcription error: source document shows 58" VS.HR=58

step "Site: each subject's visit calendar from the baseline visit (day 1), with windows; due and overdue as of the date the reader names"
run form submit --from site1-coordinator --study $STUDY --subject S1-002 --event D1 --form VS \
	VS.DATE=$BASE2 VS.POS=1 VS.SYSBP=146 VS.DIABP=92 VS.HR=68
run show schedule --from site1-coordinator --study $STUDY --subject S1-002
echo "Five weeks from now, week 4 will be overdue unless it is entered:"
run show schedule --from site1-coordinator --study $STUDY --subject S1-002 --as-of $(days_ago -35)

step "Site: bulk entry from Excel (a generated workbook with drop-downs and range checks)"
run form template --from site1-coordinator --study $STUDY --event SCR --out entry.xlsx
echo "What a coordinator types into the DM sheet in Excel or LibreOffice (here tools/fillcells types it):"
fill --sheet DM --subject S1-001 --event SCR entry.xlsx DM.CONSDT=$CONS1 DM.AGE=58 DM.SEX=1 DM.HEIGHT=176.5 DM.WEIGHT=82.0 DM.SMOKE=2
fill --sheet DM --subject S1-002 --event SCR entry.xlsx DM.CONSDT=$CONS2 DM.AGE=63 DM.SEX=2 DM.CBP=0 DM.HEIGHT=162.0 DM.WEIGHT=70.4 DM.SMOKE=1
run form import entry.xlsx --from site1-coordinator
echo "Importing the same workbook again sends nothing: rows already on the ledger are skipped."
run form import entry.xlsx --from site1-coordinator

step "Sponsor's unblinded statistician: a sealed allocation list (permuted blocks per stratum: site and screening systolic pressure); only SHA-256 commitments go on the ledger"
run randomization generate --from sponsor-stat --study $STUDY --out alloc.csv --size 12
run randomization register --from sponsor-stat --study $STUDY alloc.csv

step "Site: randomise a subject once the eligibility form says eligible; the ledger assigns the next entry of its stratum and the arm stays sealed"
expect 6 subject randomize --from site1-coordinator --study $STUDY --subject S1-001
run form submit --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form IE \
	IE.INC1=1 IE.INC2=1 IE.INC3=1 IE.EXC1=0 IE.EXC2=0 IE.ELIG=1
run subject randomize --from site1-coordinator --study $STUDY --subject S1-001
echo "The pharmacy learns the arm from the list holder, checked against the commitment on the ledger:"
run randomization reveal --from sponsor-stat --list alloc.csv --study $STUDY --subject S1-001

step "Authorization is enforced by the ledger: a sponsor cannot enter clinical data"
expect 6 form submit --from sponsor-dm --study $STUDY --subject S1-002 --event SCR --form DM DM.AGE=54

step "The site reads the audit trail of its subject's form, verified against the app hash with an ics23 proof (reads are signed: each party reads only its own part)"
run show history --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS --prove
run show form --from site1-coordinator --study $STUDY --subject S1-001 --event SCR --form VS --prove
run show subject --from site1-coordinator --study $STUDY --subject S1-001

step "CRO monitor: raise a data query on a value that does not match the source document"
out=$(run query open --from cro-monitor --study $STUDY --subject S1-002 --event SCR --form VS --item VS.DIABP \
	--text "Source document shows 59 mmHg; please check")
echo "$out"
Q=$(sed -n 's/^Raised query \([0-9]*\) .*/\1/p' <<<"$out")
[ -n "$Q" ] || { echo "demo: no query number in the output" >&2; exit 1; }

step "Site: answer the query (the source was checked and the entry is right)"
run query answer --from site1-coordinator --study $STUDY --number "$Q" --text "Source checked: 95 mmHg is right; 59 is the heart rate on the line below"

step "CRO monitor: close the answered query"
run query close --from cro-monitor --study $STUDY --number "$Q" --text "Thank you"
run query list --from cro-monitor --study $STUDY --status all

step "CRO monitor: source data verification of each subject's screening visit"
run sdv --from cro-monitor --study $STUDY --subject S1-001 --event SCR
run sdv --from cro-monitor --study $STUDY --subject S1-002 --event SCR

step "Sponsor and regulator: an amendment with a new protocol document needs re-consent, so it names consent version 2.0; from its approval the site re-consents each subject before entering more of their data (safety forms excepted)"
sed -e 's/^  version: "1.0"$/  version: "2.0"/' -e 's/^  consent_version: "1.0"$/  consent_version: "2.0"/' -e 's/^  protocol_doc_sha256: 16aa/  protocol_doc_sha256: 26aa/' htn201.yaml >htn201_v2.yaml
run study amend --from sponsor-dm --rationale "Protocol document 2.0: closer safety monitoring" htn201_v2.yaml
run study approve-amendment --from regulator-auditor --study $STUDY --amendment 1
expect 6 form submit --from site1-coordinator --study $STUDY --subject S1-001 --event D1 --form VS \
	VS.DATE=$VISIT1 VS.POS=1 VS.SYSBP=144 VS.DIABP=90 VS.HR=60
printf 'Informed consent form, version 2.0 (demo document)\n' >icf_v2.txt
run subject reconsent --from site1-coordinator --study $STUDY --subject S1-001 --consent-version 2.0 --consent-file icf_v2.txt
run subject reconsent --from site1-coordinator --study $STUDY --subject S1-002 --consent-version 2.0 --consent-file icf_v2.txt

step "Site: a serious adverse event starts a clock; the sponsor's medical monitor acknowledges it (within 24 hours: ICH E2A)"
run form submit --from site1-coordinator --study $STUDY --subject S1-002 --event UNS --form AE \
	"AE.TERM[1]=Pneumonia" "AE.STDT[1]=$VISIT2" "AE.ONGO[1]=1" "AE.SEV[1]=3" "AE.SER[1]=1" "AE.SERCRIT[1]=3" "AE.REL[1]=1" "AE.ACN[1]=1" "AE.OUT[1]=2"
run keys add sponsor-mm
run account add --from sponsor-admin --account sponsor-mm --name "Demo Medical Monitor" --role medical_monitor --key sponsor-mm
run show safety --from sponsor-mm --study $STUDY
run safety acknowledge --from sponsor-mm --study $STUDY --subject S1-002 --event UNS --form AE --row 1 --comment "safety database case DEMO-0001"
run show safety --from sponsor-mm --study $STUDY

step "Investigator: sign each casebook electronically (the passphrase is typed or read from a file, never taken from the environment)"
printf '%s\n' "$VERITRIAL_PASSPHRASE" >investigator.pass
run sign --from site1-investigator --passphrase-file investigator.pass --study $STUDY --subject S1-001 --meaning approval
run sign --from site1-investigator --passphrase-file investigator.pass --study $STUDY --subject S1-002 --meaning approval

step "Sponsor data manager and regulator: both approve the database lock (the ledger refuses it while anything is unresolved: here a monitor's last query)"
out=$(run query open --from cro-monitor --study $STUDY --subject S1-001 --event SCR --form VS --item VS.SYSBP \
	--text "Please confirm 148 mmHg against the source before the lock")
echo "$out"
L=$(sed -n 's/^Raised query \([0-9]*\) .*/\1/p' <<<"$out")
[ -n "$L" ] || { echo "demo: no query number in the output" >&2; exit 1; }
run lock --from sponsor-dm --study $STUDY
expect 6 lock --from regulator-auditor --study $STUDY

step "Site and CRO monitor: resolve the blocker"
run query answer --from site1-coordinator --study $STUDY --number "$L" --text "Confirmed: 148 mmHg on the source document"
run query close --from cro-monitor --study $STUDY --number "$L" --text "Confirmed"

step "Sponsor data manager and regulator: approve the database lock again (the answer and the close changed the data, which cancelled the sponsor's approval); its height is the locked dataset"
run show locks --from sponsor-dm --study $STUDY
run lock --from sponsor-dm --study $STUDY
run lock --from regulator-auditor --study $STUDY
run show locks --from regulator-auditor --study $STUDY

step "Sponsor: export the locked dataset for the statisticians and the regulator (Excel and CDISC ODM 1.3.2)"
run export --from sponsor-dm --study $STUDY --format xlsx --out htn201-locked.xlsx
run export --from sponsor-dm --study $STUDY --format odm --out htn201-locked.xml
echo "And the site's certified copies: one paginated PDF casebook per subject, every page footed with the height and the dataset digest."
run export --from sponsor-dm --study $STUDY --format pdf --site site1 --out casebooks-site1.zip

step "Regulator: verify every block header from the genesis, trusting no one's database"
run audit verify-chain --from regulator-auditor --genesis "$VERITRIAL_HOME/config/genesis.json"

step "Regulator: check the sponsor's files against the ledger, record by record, with Merkle proofs"
run audit verify-export --from regulator-auditor htn201-locked.xlsx
run audit verify-export --from regulator-auditor htn201-locked.xml

step "Regulator: someone changed one cell in a copy of the Excel file (S1-002's systolic pressure, 152 to 132); verify-export finds it by sheet, row and column"
cp htn201-locked.xlsx htn201-altered.xlsx
fill --sheet VS --subject S1-002 --event SCR htn201-altered.xlsx VS.SYSBP=132
expect 1 audit verify-export --from regulator-auditor htn201-altered.xlsx

step "Sponsor: archive the locked study in one file: the exports, the genesis, the light blocks and every record's proof"
run archive create --from sponsor-dm --study $STUDY --out htn201.vtar

step "Regulator: data-integrity signals per site and per user (S1-002's forms were entered three weeks after the visit)"
run audit report --from regulator-auditor --study $STUDY

step "Regulator: the audit trail of S1-002 from the blocks themselves: who did what, when, in which role, to whose data, and why"
run audit trail --from regulator-auditor --study $STUDY --subject S1-002

step "The node's access log: every read it answered or refused, hash-chained, its head committed to the ledger by the node's own account"
run access-log show --reader cro-monitor --limit 6
run access-log verify

step "Stop the node"
kill -TERM "$NODE_PID"
wait "$NODE_PID" || true
NODE_PID=""
tail -n 1 node.log

step "Regulator: verify the archive with every node stopped, from the genesis it carries"
run archive verify htn201.vtar
echo
echo "Demo finished: the temporary home $WORK is removed."
