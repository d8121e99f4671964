// veritrial data capture: the pages. Everything the ledger's rules decide
// (edit checks, branching, signing reads and txs, unlocking the key file)
// is done by the WebAssembly module (veritrial.wasm, app/webui/session);
// this script only draws the pages and passes values to it.
"use strict";

const $ = (id) => document.getElementById(id);

// h builds an element: h("p", {class: "x"}, "text", child...).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) el.append(c);
  }
  return el;
}

// Timings the browser tests read, in milliseconds: module ready (since
// the page's start), the last page's route start and form rendered, each
// edit check and each submit-to-committed.
window.vtTimings = { checks: [], commits: [] };

// call runs a call of the module and returns its answer, or throws its
// error.
async function call(name, args) {
  const r = JSON.parse(await window.veritrialCall(name, JSON.stringify(args || {})));
  if (r.error !== undefined) {
    const e = new Error(r.error);
    e.code = r.code;
    throw e;
  }
  return r.ok;
}

let person = null;
// routeSeq counts the pages asked for: a page whose reads end after the
// person has asked for another one is not drawn.
let routeSeq = 0;
let dashboard = null; // the studies the person may see, as last read

function showFatal(text) {
  $("loading").hidden = true;
  const f = $("fatal");
  f.textContent = text;
  f.hidden = false;
}

// load starts the module; the page works once it says it is ready.
async function load() {
  if (typeof Go === "undefined") {
    showFatal("This node was built without the web pages' WebAssembly module (wasm_exec.js is missing). Build it with: make wasm (make build does it too), then rebuild and restart the node.");
    return;
  }
  const res = await fetch("veritrial.wasm");
  if (!res.ok) {
    showFatal(await res.text());
    return;
  }
  const go = new Go();
  window.addEventListener("veritrial-ready", () => {
    window.vtTimings.ready = performance.now();
    $("loading").hidden = true;
    route();
  }, { once: true });
  const { instance } = await WebAssembly.instantiateStreaming(res, go.importObject);
  go.run(instance);
}

// --- sign in ---------------------------------------------------------------

function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsText(file);
  });
}

async function signIn(ev) {
  ev.preventDefault();
  const status = $("signin-status");
  const file = $("keyfile").files[0];
  if (!file) {
    status.textContent = "Choose your key file.";
    $("keyfile").focus();
    return;
  }
  $("signin-submit").disabled = true;
  status.textContent = "Unlocking your key…";
  try {
    person = await call("signIn", { key_file: await readFile(file), passphrase: $("passphrase").value });
    $("passphrase").value = "";
    $("keyfile").value = "";
    status.textContent = "";
    $("who-name").textContent = `${person.name} (${person.account}, ${person.org}; ${person.roles.join(", ")})`;
    $("who").hidden = false;
    $("nav").hidden = false;
    route();
  } catch (e) {
    status.textContent = e.message;
    status.setAttribute("role", "alert");
    $("passphrase").select();
  } finally {
    $("signin-submit").disabled = false;
  }
}

async function signOut() {
  await call("signOut");
  person = null;
  dashboard = null;
  $("who").hidden = true;
  $("nav").hidden = true;
  location.hash = "#/";
  route();
}

// --- routing ---------------------------------------------------------------

async function route() {
  if (!window.veritrialCall) return;
  const signedIn = person !== null;
  $("signin").hidden = signedIn;
  $("view").hidden = !signedIn;
  if (!signedIn) {
    document.title = "Sign in · veritrial";
    $("keyfile").focus();
    return;
  }
  window.vtTimings.route = performance.now();
  const seq = ++routeSeq;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const view = $("view");
  view.replaceChildren(h("p", { role: "status" }, "Reading the ledger…"));
  try {
    switch (parts[0]) {
      case "enrol": await showEnrol(view); break;
      case "inbox": await showInbox(view); break;
      case "form": await showForm(view, formKey(parts.slice(1))); break;
      case "sign": await showSign(view, formKey(parts.slice(1))); break;
      default: await showDashboard(view);
    }
  } catch (e) {
    if (seq === routeSeq) view.replaceChildren(h("p", { class: "status error", role: "alert" }, e.message));
  }
  if (seq === routeSeq) $("main").focus();
}

function formKey(p) {
  return { study: p[0], subject: p[1], event: p[2], event_repeat: Number(p[3]), form: p[4] };
}

function formHash(k, page) {
  return "#/" + [page || "form", k.study, k.subject, k.event, k.event_repeat, k.form].map(encodeURIComponent).join("/");
}

function hasRole(...roles) {
  return person.roles.some((r) => roles.includes(r));
}

// --- dashboard ---------------------------------------------------------------

async function showDashboard(view) {
  const seq = routeSeq;
  dashboard = await call("dashboard");
  if (seq !== routeSeq) return;
  document.title = "Dashboard · veritrial";
  const out = [h("h1", {}, "Dashboard")];
  if (dashboard.length === 0) out.push(h("p", {}, "There is no study you may see."));
  for (const st of dashboard) {
    out.push(h("h2", {}, `${st.id}: ${st.title}`),
      h("p", { class: "help" }, `Protocol version ${st.version} (${st.label}). ${st.subjects.length} subject(s) you may see.`));
    if (st.subjects.length === 0) continue;
    const head = h("tr", {}, h("th", { scope: "col" }, "Subject"), h("th", { scope: "col" }, "Consent and SAEs"),
      st.events.map((e) => h("th", { scope: "col" }, e.name, h("br"), h("span", { class: "help" }, windowText(e)))));
    const rows = st.subjects.map((s) => h("tr", {},
      h("th", { scope: "row" }, s.id, h("br"), h("span", { class: "help" }, `${s.site}, ${s.status}`)),
      h("td", { class: "safety" }, consentOf(s), saesOf(st, s)),
      st.events.map((e) => h("td", {}, s.visits.filter((v) => v.event === e.oid).map((v) => h("div", { class: "visit" },
        e.repeatable ? h("div", { class: "help" }, occurrence(e, v.repeat)) : "",
        v.schedule ? visitWhen(s, v.schedule) : "",
        v.forms.map((f) => {
          const k = { study: st.id, subject: s.id, event: v.event, event_repeat: v.repeat, form: f.form };
          return h("a", { href: formHash(k), "aria-label": `${f.name} at ${occurrence(e, v.repeat)} of ${s.id}: ${f.states.join(", ")}` },
            f.name, h("br"), f.states.map((x) => h("span", { class: "badge " + x }, x)));
        })))))));
    out.push(h("table", { class: "schedule" }, h("caption", { class: "help" }, `Schedule of visits of ${st.id}`), h("thead", {}, head), h("tbody", {}, rows)));
  }
  view.replaceChildren(...out);
}

// withdrawalText names the kinds of withdrawal (docs/SAFETY.md).
const withdrawalText = { treatment: "withdrawn from treatment", follow_up: "withdrawn from follow-up", consent: "withdrew consent" };

// consentOf says the consent version a subject consented under (the last
// given), whether the protocol in force requires a re-consent, and the
// withdrawal in force; the module decides each from the ledger.
function consentOf(s) {
  const last = s.consents[s.consents.length - 1];
  const w = s.withdrawal;
  return h("div", { id: `consent-${s.id}` }, `Consent ${last.version}`,
    s.consents.length > 1 ? h("span", { class: "help" }, ` (enrolled under ${s.consents[0].version})`) : "",
    s.reconsent_due ? [" ", h("span", { class: "badge reconsent" }, `re-consent to ${s.reconsent_due} required`),
      h("span", { class: "help" }, ` (protocol version ${s.reconsent_from})`)] : "",
    w ? [" ", h("span", { class: "badge withdrawn" }, withdrawalText[w.kind] || "withdrawn"), w.date ? h("span", { class: "help" }, ` on ${w.date}`) : ""] : "");
}

// saeStatus words an SAE's clock for the page (colour only repeats it).
const saeStatus = { open: "open, not acknowledged", overdue: "overdue, not acknowledged", acknowledged: "acknowledged", late: "acknowledged late" };

// saesOf lists a subject's serious adverse events, each with its form
// row, clock start, reporting deadline and acknowledgement, as judged at
// this browser's clock; or says that the person's roles do not read them
// (which is not "none").
function saesOf(st, s) {
  const id = `saes-${s.id}`;
  if (!s.saes_read) return h("p", { class: "help", id }, s.saes_note);
  if (s.saes.length === 0) return h("p", { class: "help", id }, "No serious adverse event recorded.");
  return h("ul", { class: "saes", id, "aria-label": `Serious adverse events of ${s.id}` }, s.saes.map((e) => {
    const ev = st.events.find((x) => x.oid === e.event);
    const k = { study: st.id, subject: s.id, event: e.event, event_repeat: e.repeat, form: e.form };
    const a = e.acknowledged;
    return h("li", { id: `sae-${s.id}-${e.event}-${e.repeat}-${e.form}-${e.row}` },
      h("a", { href: formHash(k) }, `SAE: ${e.form_name}, ${ev ? occurrence(ev, e.repeat) : e.event}, row ${e.row}`), " ",
      h("span", { class: "badge " + e.status }, saeStatus[e.status]),
      h("span", { class: "help when" }, `opened ${when(e.opened.time)}; report due ${when(e.deadline)}`,
        a ? `; acknowledged ${when(a.time)} by ${who(a)}` : "", e.follow_ups ? `; ${e.follow_ups} follow-up(s)` : ""));
  }));
}

// occurrence names one occurrence of an event: its name, and of a
// repeatable event which repeat.
function occurrence(e, repeat) {
  return e.repeatable ? `${e.name} #${repeat}` : e.name;
}

// visitWhen says when a scheduled visit falls for a subject (target date
// and window, from the calendar's anchor) and where it stands today:
// upcoming, due, overdue, entered or out of window.
function visitWhen(s, w) {
  const when = w.target ? `target ${w.target} (${w.earliest} to ${w.latest}${w.hard ? ", hard" : ""})` : "target set once the anchor visit is dated";
  const status = w.status === "out_of_window" ? `out of window ${w.days_off > 0 ? "+" : ""}${w.days_off} d` : w.status.replace("_", " ");
  return h("div", { class: "help when", id: `when-${s.id}-${w.event}` }, when, w.date ? `, visited ${w.date} ` : " ",
    h("span", { class: "badge " + w.status }, status));
}

function windowText(e) {
  if (e.type !== "scheduled") return e.type;
  return `day ${e.day}` + (e.window_before || e.window_after ? ` (−${e.window_before}/+${e.window_after})` : "");
}

// --- txs ----------------------------------------------------------------------

// follow shows a sent tx as pending, then committed with its height and
// hash, or refused; it resolves with the outcome.
async function follow(status, pending, started) {
  status.className = "status";
  status.replaceChildren("Pending: sent as tx ", h("span", { class: "hash" }, pending.tx_hash), ", waiting for a block…");
  for (;;) {
    const o = await call("txStatus", { hash: pending.tx_hash });
    if (!o.pending) {
      if (o.code === 0) {
        window.vtTimings.commits.push(performance.now() - started);
        status.className = "status ok";
        status.replaceChildren(`Committed at height ${o.height}, tx `, h("span", { class: "hash", "data-tx": o.tx_hash }, o.tx_hash), ".");
      } else {
        status.className = "status error";
        status.setAttribute("role", "alert");
        status.replaceChildren(`Refused by the ledger in block ${o.height}: ${o.log} (code ${o.code}).`);
      }
      return o;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

// send runs a call that sends a tx and follows it in status; errors are
// shown there.
async function send(status, name, args) {
  const started = performance.now();
  status.className = "status";
  status.removeAttribute("role");
  status.textContent = "Signing and sending…";
  try {
    return await follow(status, await call(name, args), started);
  } catch (e) {
    status.className = "status error";
    status.setAttribute("role", "alert");
    status.textContent = e.message;
    return null;
  }
}

// --- enrolment -------------------------------------------------------------------

function base64(buf) {
  const bytes = new Uint8Array(buf);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function showEnrol(view) {
  const seq = routeSeq;
  dashboard = dashboard || await call("dashboard");
  if (seq !== routeSeq) return;
  document.title = "Enrol a subject · veritrial";
  const status = h("p", { class: "status", "aria-live": "polite" });
  const sha = h("output", { id: "consent-sha", class: "hash", for: "consent-file" });
  const form = h("form", { id: "enrol-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "enrol-study" }, "Study"),
      h("select", { id: "enrol-study", required: true }, dashboard.map((s) => h("option", { value: s.id }, `${s.id}: ${s.title}`)))),
    h("div", { class: "field" }, h("label", { for: "enrol-site" }, "Site"),
      h("input", { type: "text", id: "enrol-site", value: person.org, required: true })),
    h("div", { class: "field" }, h("label", { for: "enrol-subject" }, "Subject ID (a pseudonym)"),
      h("input", { type: "text", id: "enrol-subject", required: true, "aria-describedby": "enrol-subject-help" }),
      h("p", { class: "help", id: "enrol-subject-help" }, "As the protocol's pattern says, e.g. S1-001; never a name.")),
    h("div", { class: "field" }, h("label", { for: "consent-version" }, "Consent form version"),
      h("input", { type: "text", id: "consent-version", required: true })),
    h("div", { class: "field" }, h("label", { for: "consent-file" }, "Signed consent document"),
      h("input", { type: "file", id: "consent-file", required: true, "aria-describedby": "consent-help", onchange: hashConsent }),
      h("p", { class: "help", id: "consent-help" }, "Its SHA-256 is computed in this browser; the document is not sent."),
      h("p", { class: "help" }, "SHA-256: ", sha)),
    h("button", { type: "submit" }, "Enrol"), status);
  async function hashConsent() {
    const f = $("consent-file").files[0];
    sha.textContent = f ? await call("consentSHA256", { document: base64(await f.arrayBuffer()) }) : "";
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    for (const id of ["enrol-site", "enrol-subject", "consent-version"]) {
      if (!$(id).value.trim()) {
        status.className = "status error";
        status.setAttribute("role", "alert");
        status.textContent = `${form.querySelector(`label[for=${id}]`).textContent} is required.`;
        $(id).focus();
        return;
      }
    }
    if (!sha.textContent) await hashConsent();
    if (!sha.textContent) {
      status.className = "status error";
      status.setAttribute("role", "alert");
      status.textContent = "Choose the signed consent document.";
      $("consent-file").focus();
      return;
    }
    await send(status, "enroll", { enroll: { study: $("enrol-study").value, subject: $("enrol-subject").value.trim(), site: $("enrol-site").value.trim(),
      consent_version: $("consent-version").value.trim(), consent_sha256: sha.textContent } });
    dashboard = null;
  });
  view.replaceChildren(h("h1", {}, "Enrol a subject"), form);
}

// --- form entry ------------------------------------------------------------------

// The form being entered: its view from the ledger, the rows of its
// repeating groups, which items the person has left, whether they tried
// to submit.
let entry = null;

function draftKey(k) {
  return `veritrial-draft:${person.account}:${k.study}/${k.subject}/${k.event}/${k.event_repeat}/${k.form}`;
}

async function showForm(view, k) {
  const seq = routeSeq;
  const fv = await call("form", { key: k });
  if (seq !== routeSeq) return;
  const current = fv.history.length ? fv.history[fv.history.length - 1] : null;
  const derived = new Set(fv.form.groups.flatMap((g) => g.items.filter((it) => it.derive).map((it) => it.oid)));
  entry = { fv, k, current, derived, rows: {}, touched: new Set(), tried: false };
  document.title = `${fv.form.name}, ${occurrence(fv.event, k.event_repeat)}, ${k.subject} · veritrial`;
  let values = current ? current.values : [];
  const draft = localStorage.getItem(draftKey(k));
  const restored = draft !== null;
  if (restored) values = JSON.parse(draft);
  for (const g of fv.form.groups) {
    if (!g.repeating) continue;
    const rows = values.filter((v) => g.items.some((it) => it.oid === v.item)).map((v) => v.repeat);
    entry.rows[g.oid] = Math.max(1, ...rows);
  }
  const status = h("div", { id: "tx-status", class: "status", "aria-live": "polite" });
  const form = h("form", { id: "crf", novalidate: true, "aria-labelledby": "form-h" });
  const problems = h("div", { id: "form-problems", class: "problems", "aria-live": "polite" });
  const submit = h("button", { type: "submit", id: "crf-submit" }, current ? "Save correction" : "Submit form");
  const extra = [];
  if (current) {
    extra.push(h("div", { class: "field" }, h("label", { for: "reason" }, "Reason for the correction (required)"),
      h("textarea", { id: "reason", required: true })),
      h("div", { id: "changes", "aria-live": "polite" }));
    const open = fv.queries.filter((q) => q.status === "open" || q.status === "answered");
    if (open.length) {
      extra.push(h("fieldset", { class: "field" }, h("legend", {}, "Open queries this correction resolves"),
        open.map((q) => h("div", { class: "choices" }, h("label", {}, h("input", { type: "checkbox", name: "resolves", value: q.number }),
          ` #${q.number} ${q.item || "form"}: ${q.thread[0].text}`)))));
    }
  }
  // Entry is the site's: others read the form as the ledger holds it.
  if (hasRole("coordinator", "investigator")) {
    form.append(...fv.form.groups.map((g) => renderGroup(g, fv)), problems, ...extra,
      h("p", {}, submit, " ", h("button", { type: "button", class: "secondary", id: "discard-draft", onclick: () => { localStorage.removeItem(draftKey(k)); route(); } }, "Discard draft")),
      h("p", { class: "help", id: "draft-status" }, restored ? "Restored your draft from this browser (it is not on the ledger)." : ""));
  } else {
    form.append(h("fieldset", { disabled: true }, h("legend", { class: "help" }, "The values as the ledger holds them (entry and correction are the site's)"),
      ...fv.form.groups.map((g) => renderGroup(g, fv))), problems);
  }
  const edited = (ev) => {
    markTouched(ev.target);
    if (status.classList.contains("error")) status.textContent = "";
    onEdit();
  };
  form.addEventListener("input", edited);
  form.addEventListener("change", edited);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submitForm(status); });
  const head = h("p", { class: "help" }, `${k.study} · subject ${k.subject} (${fv.subject.site}) · ${occurrence(fv.event, k.event_repeat)} · `,
    current ? `version ${current.version}, last changed by ${current.stamp.name || current.stamp.signer} at height ${current.stamp.height}` : "not entered yet");
  view.replaceChildren(h("p", {}, h("a", { href: "#/" }, "← Dashboard")), h("h1", { id: "form-h" }, fv.form.name), head, status, form,
    renderQueries(fv), renderSDV(fv), renderHistory(fv));
  setValues(values);
  await onEdit();
  window.vtTimings.formRendered = performance.now();
  const first = form.querySelector("input, select, textarea");
  if (first) first.focus();
}

// renderGroup draws a group's items; a repeating group as one card per
// row, with rows added and removed.
function renderGroup(g, fv) {
  if (!g.repeating) return h("div", { class: "group" }, g.items.map((it) => renderItem(it, 0, fv)));
  const rows = h("div", { class: "rows", "data-group": g.oid });
  const draw = (keep) => {
    rows.replaceChildren();
    for (let r = 1; r <= entry.rows[g.oid]; r++) {
      rows.append(h("fieldset", { class: "card row", id: `row-${g.oid.replace(/[^A-Za-z0-9_-]/g, "_")}-${r}` }, h("legend", {}, `${g.name} ${r}`),
        g.items.map((it) => renderItem(it, r, fv)),
        h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => removeRow(g, r, draw) }, `Remove ${g.name.toLowerCase()} ${r}`))));
    }
    if (keep) setValues(keep);
  };
  const add = h("button", { type: "button", class: "secondary", id: `add-${g.oid.replace(/[^A-Za-z0-9_-]/g, "_")}`,
    onclick: () => { const keep = collect(); entry.rows[g.oid]++; draw(keep); onEdit(); } }, `Add another ${g.name.toLowerCase()}`);
  draw();
  return h("div", { class: "group" }, h("h3", {}, g.name + " (one per row)"), rows, h("p", {}, add));
}

function removeRow(g, r, draw) {
  const vals = collect().filter((v) => !(v.repeat === r && g.items.some((it) => it.oid === v.item)))
    .map((v) => (v.repeat > r && g.items.some((it) => it.oid === v.item) ? { ...v, repeat: v.repeat - 1 } : v));
  entry.rows[g.oid] = Math.max(1, entry.rows[g.oid] - 1);
  draw(vals);
  onEdit();
}

function cellId(oid, row) {
  return `i-${oid.replace(/[^A-Za-z0-9_-]/g, "_")}-${row}`;
}

// renderItem draws one item: label, input by type, unit, help, message;
// a derived item as the value the ledger will compute (read-only, kept
// up to date as inputs change), an item that allows missing-data codes
// with a choice of code and a reason.
function renderItem(it, row, fv) {
  const id = cellId(it.oid, row);
  const msg = h("p", { class: "msg", id: id + "-msg" });
  const described = [id + "-msg"];
  const help = it.note ? h("p", { class: "help", id: id + "-help" }, it.note) : null;
  if (help) described.push(id + "-help");
  const common = { "data-oid": it.oid, "data-row": row, "aria-describedby": described.join(" ") };
  const attrs = { class: "field item", "data-item": it.oid, "data-row": row, id: id + "-item" };
  if (it.derive) {
    return h("div", { ...attrs, "data-derived": "yes" }, section(it),
      h("span", { class: "label", id: id + "-label" }, it.label, h("span", { class: "oid" }, it.oid)),
      h("output", { id, class: "derived", "aria-labelledby": id + "-label", "aria-describedby": id + "-how" }, "—"), it.unit ? h("span", { class: "unit" }, it.unit) : null,
      h("p", { class: "help", id: id + "-how" }, "Computed as you type, as the ledger computes it: " + it.derive), help, msg);
  }
  const missing = renderMissing(it, id, fv);
  const cl = fv.codelists.find((c) => c.oid === it.codelist);
  let control;
  if (it.type === "yesno" || (it.type === "choice" && cl && cl.items.length <= 5) || it.type === "multichoice") {
    const opts = it.type === "yesno" ? [{ code: "1", decode: "Yes" }, { code: "0", decode: "No" }] : cl.items;
    const kind = it.type === "multichoice" ? "checkbox" : "radio";
    control = h("fieldset", { class: "choices", id, ...common },
      h("legend", {}, it.label, h("span", { class: "oid" }, it.oid), it.required ? " *" : ""),
      opts.map((o) => h("label", {}, h("input", { type: kind, name: id, value: o.code }), " ", o.decode)));
    return h("div", attrs, section(it), control, missing, help, msg);
  }
  if (it.type === "choice") {
    control = h("select", { id, ...common }, h("option", { value: "" }, "—"), (cl ? cl.items : []).map((o) => h("option", { value: o.code }, o.decode)));
  } else {
    const numeric = it.type === "integer" || it.type === "decimal";
    control = h("input", { type: "text", id, ...common, class: numeric ? "num" : null, inputmode: numeric ? "decimal" : null,
      maxlength: it.max_length || null, placeholder: placeholder(it.type), autocomplete: "off" });
  }
  return h("div", attrs, section(it),
    h("label", { for: id }, it.label, h("span", { class: "oid" }, it.oid), it.required ? " *" : ""),
    control, it.unit ? h("span", { class: "unit" }, it.unit) : null, missing, help, msg);
}

// renderMissing draws the missing-data codes an item allows: a choice of
// code ("not done", "unknown" ...) that stands in for the value, and the
// reason; null for an item that allows none.
function renderMissing(it, id, fv) {
  if (!it.missing || !it.missing.length) return null;
  const decode = (code) => (fv.missing_codes.find((m) => m.code === code) || { decode: code }).decode;
  const reason = h("input", { type: "text", id: id + "-reason", class: "reason", placeholder: "reason (optional)", "aria-label": `Why ${it.label} is missing`, hidden: true });
  const code = h("select", { id: id + "-missing", class: "missing-code", "aria-label": `${it.label}: missing-data code`, onchange: (ev) => syncMissing(ev.target.closest(".item")) },
    h("option", { value: "" }, "value given"), it.missing.map((c) => h("option", { value: c }, `${c}: ${decode(c)}`)));
  return h("div", { class: "missing" }, h("span", { class: "help" }, "or missing: "), code, " ", reason);
}

// syncMissing shows the reason box when a missing-data code is chosen,
// and sets the value aside (disabled) while it stands in for the value.
function syncMissing(el) {
  const code = el.querySelector(".missing-code");
  if (!code) return;
  const coded = code.value !== "";
  el.querySelector(".reason").hidden = !coded;
  el.querySelectorAll("[data-oid], [data-oid] input").forEach((c) => { c.disabled = coded; });
  el.classList.toggle("is-missing", coded);
}

function section(it) {
  return it.section ? h("p", { class: "section" }, it.section) : null;
}

function placeholder(type) {
  return { date: "YYYY-MM-DD", partial_date: "YYYY[-MM[-DD]]", datetime: "YYYY-MM-DDTHH:MM", time: "HH:MM" }[type] || null;
}

// collect reads the values of the items shown, in form order: a value,
// or a missing-data code with its reason; derived items are the ledger's
// to compute and are left out.
function collect() {
  const out = [];
  for (const el of document.querySelectorAll("#crf .item")) {
    if (el.hidden || el.dataset.derived) continue;
    const oid = el.dataset.item;
    const row = Number(el.dataset.row);
    const v = row ? { item: oid, repeat: row, value: "" } : { item: oid, value: "" };
    const code = el.querySelector(".missing-code");
    if (code && code.value !== "") {
      v.missing = code.value;
      const reason = el.querySelector(".reason").value.trim();
      if (reason !== "") v.reason = reason;
      out.push(v);
      continue;
    }
    const boxes = el.querySelectorAll("input[type=radio], input[type=checkbox]");
    if (boxes.length) v.value = [...boxes].filter((b) => b.checked).map((b) => b.value).join(",");
    else v.value = el.querySelector("[data-oid]").value.trim();
    if (v.value !== "") out.push(v);
  }
  return out;
}

function setValues(values) {
  for (const v of values) {
    const el = document.getElementById(cellId(v.item, v.repeat || 0) + "-item");
    if (!el) continue;
    if (el.dataset.derived) {
      el.querySelector("output").textContent = v.value || "—";
      continue;
    }
    const code = el.querySelector(".missing-code");
    if (code) {
      code.value = v.missing || "";
      el.querySelector(".reason").value = v.reason || "";
      syncMissing(el);
    }
    const boxes = el.querySelectorAll("input[type=radio], input[type=checkbox]");
    if (boxes.length) {
      const codes = v.value.split(",");
      boxes.forEach((b) => { b.checked = codes.includes(b.value); });
    } else el.querySelector("[data-oid]").value = v.value;
  }
}

// valueText is how a value reads in the list of changes: the value, or
// its missing-data code and reason.
function valueText(v) {
  if (!v) return "";
  if (v.missing) return `missing ${v.missing}${v.reason ? ": " + v.reason : ""}`;
  return v.value;
}

function markTouched(target) {
  const item = target.closest(".item");
  if (item) entry.touched.add(item.id);
}

let checking = Promise.resolve();

// onEdit runs the edit checks on the values as they stand (one at a time,
// the latest values each time), shows their messages, applies the
// branching, keeps the draft and, for a correction, lists the changes.
function onEdit() {
  // A failed check does not stop the next; a form no longer shown is not
  // checked.
  checking = checking.catch(() => null).then(async () => {
    if (!entry || !document.getElementById("crf")) return null;
    const values = collect();
    const t0 = performance.now();
    const verdict = await call("check", { key: entry.k, values });
    window.vtTimings.checks.push(performance.now() - t0);
    showVerdict(verdict);
    if (entry.touched.size) localStorage.setItem(draftKey(entry.k), JSON.stringify(collect()));
    if (entry.current && $("changes")) showChanges(entry.current.values, collect());
    return verdict;
  });
  return checking;
}

function showVerdict(v) {
  const computed = new Map(v.derived.map((d) => [cellId(d.item, d.repeat || 0), d.value]));
  for (const el of document.querySelectorAll("#crf .item[data-derived] output")) {
    el.textContent = computed.get(el.id) || "—";
  }
  const hidden = new Set(v.hidden);
  for (const el of document.querySelectorAll("#crf .item")) {
    const row = Number(el.dataset.row);
    const name = row ? `${el.dataset.item}#${row}` : el.dataset.item;
    el.hidden = hidden.has(name);
    el.classList.remove("has-hard", "has-soft");
    el.querySelector(".msg").replaceChildren();
  }
  const general = [];
  for (const p of v.problems) {
    const el = p.item && document.getElementById(cellId(p.item, p.repeat || 0) + "-item");
    if (p.code === "required.missing" && !entry.tried && !(el && entry.touched.has(el.id))) continue;
    const text = (p.severity === "hard" ? "Error: " : "Warning: ") + p.message + (p.severity === "soft" ? " (accepted, with a data query)" : "");
    if (el && !el.hidden) {
      el.classList.add("has-" + p.severity);
      el.querySelector(".msg").append(h("span", { class: p.severity, "data-code": p.code }, text), " ");
      el.querySelector(".msg").className = "msg " + (el.classList.contains("has-hard") ? "hard" : "soft");
    } else general.push(h("li", { class: p.severity, "data-code": p.code }, text));
  }
  $("form-problems").replaceChildren(general.length ? h("ul", {}, general) : "");
}

function showChanges(current, values) {
  const key = (v) => `${v.item}#${v.repeat || 0}`;
  const was = new Map(current.filter((v) => !entry.derived.has(v.item)).map((v) => [key(v), valueText(v)]));
  const now = new Map(values.map((v) => [key(v), valueText(v)]));
  const items = [];
  for (const k of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(k) || "";
    const b = now.get(k) || "";
    if (a !== b) items.push(h("li", {}, `${k.replace(/#0$/, "").replace("#", " row ")}: `, h("span", { class: "old" }, a || "(empty)"), " → ", h("span", { class: "new" }, b || "(empty)")));
  }
  $("changes").replaceChildren(h("p", { class: "label" }, items.length ? "Changes (old → new):" : "No changes yet."), items.length ? h("ul", { class: "changes" }, items) : "");
}

async function submitForm(status) {
  entry.tried = true;
  const verdict = await onEdit();
  if (!verdict) return;
  if (verdict.hard) {
    const n = verdict.problems.filter((p) => p.severity === "hard").length;
    status.className = "status error";
    status.setAttribute("role", "alert");
    status.textContent = `Not sent: ${n} value(s) fail the protocol's edit checks (marked on the form). Nothing reached the ledger.`;
    const bad = document.querySelector("#crf .item.has-hard input, #crf .item.has-hard select");
    if (bad) bad.focus();
    return;
  }
  const values = collect();
  let outcome;
  if (entry.current) {
    const reason = $("reason").value.trim();
    if (!reason) {
      status.className = "status error";
      status.setAttribute("role", "alert");
      status.textContent = "A correction needs a reason.";
      $("reason").focus();
      return;
    }
    const resolves = [...document.querySelectorAll("input[name=resolves]:checked")].map((b) => Number(b.value));
    outcome = await send(status, "correct", { key: entry.k, values, reason, resolves });
  } else {
    outcome = await send(status, "submit", { key: entry.k, values });
  }
  if (outcome && outcome.code === 0) {
    localStorage.removeItem(draftKey(entry.k));
    const kept = status.cloneNode(true);
    await showForm($("view"), entry.k);
    $("tx-status").replaceWith(kept);
    kept.id = "tx-status";
  }
}

// --- queries, SDV, history of a form ---------------------------------------------------

function renderQueries(fv) {
  const k = fv.key;
  const out = [h("h2", { id: "queries-h" }, "Queries")];
  if (fv.queries.length === 0) out.push(h("p", {}, "No query on this form."));
  for (const q of fv.queries) out.push(renderQuery(q, () => showForm($("view"), k)));
  if (hasRole("monitor", "data_manager", "medical_monitor") && entry.current) {
    const status = h("p", { class: "status", "aria-live": "polite" });
    const items = fv.form.groups.flatMap((g) => g.items);
    const f = h("form", { id: "raise-form" },
      h("h3", {}, "Raise a query"),
      h("div", { class: "field" }, h("label", { for: "raise-item" }, "Item"),
        h("select", { id: "raise-item" }, h("option", { value: "" }, "The whole form"), items.map((it) => h("option", { value: it.oid }, `${it.label} (${it.oid})`)))),
      h("div", { class: "field" }, h("label", { for: "raise-text" }, "Question"), h("textarea", { id: "raise-text", required: true })),
      h("button", { type: "submit" }, "Raise query"), status);
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const o = await send(status, "send", { msg: { query_open: { ...k, item: $("raise-item").value, text: $("raise-text").value } } });
      if (o && o.code === 0) showForm($("view"), k);
    });
    out.push(f);
  }
  return h("section", { "aria-labelledby": "queries-h" }, out);
}

// renderQuery shows a query's thread and the actions the person may take.
function renderQuery(q, after) {
  const status = h("p", { class: "status", "aria-live": "polite" });
  const id = `q-${q.number}`;
  const text = h("textarea", { id: id + "-text", "aria-label": `Text for query ${q.number}` });
  const act = (action, needsText) => async () => {
    if (needsText && !text.value.trim()) {
      status.className = "status error";
      status.setAttribute("role", "alert");
      status.textContent = "Write the text first.";
      text.focus();
      return;
    }
    const o = await send(status, "send", { msg: { [action]: { study: q.study, number: q.number, text: text.value.trim() } } });
    if (o && o.code === 0) after();
  };
  const buttons = [];
  const site = hasRole("coordinator", "investigator");
  const monitor = hasRole("monitor", "data_manager", "medical_monitor");
  if (site && (q.status === "open")) buttons.push(h("button", { type: "button", onclick: act("query_answer", true) }, "Answer"));
  if (monitor && q.status === "answered") buttons.push(h("button", { type: "button", onclick: act("query_close", false) }, "Close"));
  if (monitor && (q.status === "answered" || q.status === "closed")) buttons.push(h("button", { type: "button", class: "secondary", onclick: act("query_reopen", true) }, "Reopen"));
  return h("div", { class: "card query", id, "data-status": q.status },
    h("h3", {}, `Query #${q.number} · ${q.item || "whole form"}${q.item_repeat ? " row " + q.item_repeat : ""} · ${q.status}`),
    h("p", { class: "help" }, `Raised by ${q.raised_by}${q.check ? " (edit check " + q.check + ")" : ""} · ${age(q.thread[0].stamp.time)} old`),
    h("ol", {}, q.thread.map((m, i) => h("li", {}, h("strong", {}, m.action),
      i === 0 && q.raised_by === "system" ? ` by the ledger's edit check, on the values ${who(m.stamp)} entered, at ${when(m.stamp.time)}` : ` by ${who(m.stamp)} at ${when(m.stamp.time)}`,
      m.text ? `: ${m.text}` : ""))),
    buttons.length ? [h("div", { class: "field" }, h("label", { for: id + "-text" }, "Answer or comment"), text), h("p", {}, buttons)] : null, status);
}

// who names the signer of a stamp; when shortens a block time.
function who(stamp) {
  return stamp.name ? `${stamp.name} (${stamp.signer})` : stamp.signer;
}

function when(time) {
  return time.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
}

function age(time) {
  const days = Math.floor((Date.now() - Date.parse(time)) / 86400000);
  if (days >= 1) return `${days} day(s)`;
  const hours = Math.floor((Date.now() - Date.parse(time)) / 3600000);
  return hours >= 1 ? `${hours} hour(s)` : "less than an hour";
}

function renderSDV(fv) {
  const k = fv.key;
  const out = [h("h2", { id: "sdv-h" }, "Source data verification")];
  out.push(h("p", {}, fv.sdv ? `Status: ${fv.sdv.status} (form version ${fv.sdv.form_version}; verified: ${fv.sdv.verified.join(", ") || "none"})` : "Not verified."));
  if (hasRole("investigator") && entry.current) out.push(h("p", {}, h("a", { href: formHash(k, "sign"), id: "sign-link" }, "Sign this form")));
  if (hasRole("monitor") && entry.current) {
    const status = h("p", { class: "status", "aria-live": "polite" });
    const verify = (item) => async () => {
      const [oid, row] = item.split("#");
      const msg = { study: k.study, subject: k.subject, event: k.event, event_repeat: k.event_repeat, form: k.form, item: oid, item_repeat: Number(row || 0) };
      const o = await send(status, "send", { msg: { verify: msg } });
      if (o && o.code === 0) showForm($("view"), k);
    };
    const values = entry.current.values.map((v) => (v.repeat ? `${v.item}#${v.repeat}` : v.item));
    out.push(h("div", { class: "field" }, h("label", { for: "verify-item" }, "Item verified against source"),
      h("select", { id: "verify-item" }, values.map((v) => h("option", { value: v }, v.replace("#", " row ")))), " ",
      h("button", { type: "button", class: "secondary", id: "verify-item-submit", onclick: () => verify($("verify-item").value)() }, "Mark the item verified")),
    h("p", {}, h("button", { type: "button", id: "verify-form", onclick: verify("") }, "Mark the form verified")), status);
  }
  return h("section", { "aria-labelledby": "sdv-h" }, out);
}

function renderHistory(fv) {
  const out = [h("h2", { id: "history-h" }, "History")];
  if (fv.history.length === 0) out.push(h("p", {}, "Not entered yet."));
  else {
    const status = h("p", { id: "proof-status", class: "help", "aria-live": "polite" });
    const check = h("button", { type: "button", class: "secondary", id: "check-proofs", onclick: () => checkProofs(fv.key, status, check) }, "Check each version's proof");
    out.push(h("table", { id: "history" }, h("thead", {}, h("tr", {}, ["Version", "Who", "When (block time)", "Height", "Changed", "Why", "Proof"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, fv.history.map((r) => h("tr", {}, h("td", {}, String(r.version)), h("td", {}, `${who(r.stamp)}, ${r.stamp.role || ""}`),
        h("td", {}, when(r.stamp.time)), h("td", {}, String(r.stamp.height)), h("td", {}, (r.changed || []).join(", ") || "first entry"), h("td", {}, r.reason || ""),
        h("td", { id: `proof-v${r.version}` }, "not checked"))))),
    h("p", {}, check), status);
  }
  return h("section", { "aria-labelledby": "history-h" }, out);
}

// checkProofs reads every version of the form with its ics23 proof and
// checks each in the browser against the app hash in the node's header of
// the next block, saying what that header is.
async function checkProofs(key, status, button) {
  button.disabled = true;
  status.className = "help";
  status.textContent = "Reading every version with its proof and waiting for the next block's header…";
  try {
    const p = await call("proveHistory", { key });
    for (const v of p.versions) {
      const cell = document.getElementById(`proof-v${v.version}`);
      if (cell) cell.replaceChildren(h("span", { class: "badge " + (v.verified ? "verified" : "refused") }, v.verified ? "verified" : "not verified"), v.problem ? ` ${v.problem}` : "");
    }
    const bad = p.versions.filter((v) => !v.verified).length;
    status.className = bad ? "status error" : "status ok";
    status.replaceChildren(`${bad ? `${bad} of ${p.versions.length} version(s) NOT verified` : `All ${p.versions.length} version(s) verified`}: each record, read at height ${p.height}, was checked in this browser against the app hash `,
      h("span", { class: "hash" }, p.app_hash), ` in the header of block ${p.header}. That header is this node's own: the browser does not run the light client, so this shows that the node's answers are the ones its header commits to, not that the validators signed that header (veritrial show history --prove checks that too).`);
  } catch (e) {
    status.className = "status error";
    status.textContent = "The proofs could not be checked: " + e.message;
  }
  button.disabled = false;
}

// --- query inbox -------------------------------------------------------------------

async function showInbox(view) {
  const seq = routeSeq;
  const queries = await call("inbox");
  if (seq !== routeSeq) return;
  document.title = "Query inbox · veritrial";
  const out = [h("h1", {}, "Query inbox"), h("p", { class: "help" }, "Open and answered queries on the subjects you may see, oldest first.")];
  if (queries.length === 0) out.push(h("p", {}, "No open query."));
  else out.push(h("table", { id: "inbox" }, h("thead", {}, h("tr", {}, ["Query", "Subject", "Visit", "Form", "Item", "Status", "Age", "Question"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, queries.map((q) => h("tr", {}, h("td", {}, h("a", { href: formHash({ study: q.study, subject: q.subject, event: q.event, event_repeat: q.event_repeat, form: q.form }) }, `${q.study} #${q.number}`)),
      h("td", {}, q.subject), h("td", {}, q.event), h("td", {}, q.form), h("td", {}, q.item || ""), h("td", {}, q.status), h("td", {}, age(q.thread[0].stamp.time)), h("td", {}, q.thread[0].text))))));
  view.replaceChildren(...out);
}

// --- signature --------------------------------------------------------------------

// showSign shows exactly the values signed and the statement, and signs
// once the person unlocks their key file again.
// showSign draws the signature screen of form k at level: the form, its
// whole event or the subject's whole casebook.
async function showSign(view, k, level = "form") {
  const seq = routeSeq;
  const sv = await call("signScreen", { key: k, level });
  if (seq !== routeSeq) return;
  const what = { form: `form ${k.form}`, event: `visit ${k.event} #${k.event_repeat}`, casebook: "the whole casebook" }[level];
  document.title = `Sign ${what}, ${k.subject} · veritrial`;
  const levels = h("fieldset", { class: "field choices", id: "sign-level" }, h("legend", {}, "What you sign"),
    [["form", `This form (${k.form})`], ["event", `Every form entered at this visit (${k.event} #${k.event_repeat})`], ["casebook", `Every form of ${k.subject} (the casebook)`]].map(([l, text]) =>
      h("label", {}, h("input", { type: "radio", name: "level", value: l, checked: l === level, onchange: () => showSign(view, k, l) }), " ", text)));
  const statement = h("p", { class: "statement", id: "statement", "aria-live": "polite" });
  const status = h("p", { class: "status", "aria-live": "polite" });
  const pick = () => { statement.textContent = sv.statements[document.querySelector("input[name=meaning]:checked").value]; };
  const rows = sv.rows.map((r) => h("tr", {}, h("td", {}, r.form), h("td", {}, r.label, h("span", { class: "oid" }, r.item)),
    h("td", { "data-value": r.value }, r.shown, r.shown !== r.value ? h("span", { class: "oid" }, `(${r.value})`) : "")));
  const form = h("form", { id: "sign-form", novalidate: true },
    h("fieldset", { class: "field choices" }, h("legend", {}, "Meaning of the signature"),
      sv.meanings.map((m, i) => h("label", {}, h("input", { type: "radio", name: "meaning", value: m, checked: i === 0, onchange: pick }), " ", m))),
    h("p", { class: "label" }, "You state:"), statement,
    h("div", { class: "field" }, h("label", { for: "sign-keyfile" }, "Your key file"), h("input", { type: "file", id: "sign-keyfile", required: true })),
    h("div", { class: "field" }, h("label", { for: "sign-passphrase" }, "Your passphrase (your electronic signature)"),
      h("input", { type: "password", id: "sign-passphrase", required: true, autocomplete: "current-password" })),
    h("button", { type: "submit", id: "sign-submit" }, "Sign"), status);
  form.addEventListener("input", () => { if (status.classList.contains("error")) status.textContent = ""; });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("sign-keyfile").files[0];
    if (!file || !$("sign-passphrase").value) {
      status.className = "status error";
      status.setAttribute("role", "alert");
      status.textContent = "Unlock your key again to sign: choose your key file and type your passphrase.";
      (file ? $("sign-passphrase") : $("sign-keyfile")).focus();
      return;
    }
    const meaning = document.querySelector("input[name=meaning]:checked").value;
    const args = { sign: { ...sv.msg, meaning }, key_file: await readFile(file), passphrase: $("sign-passphrase").value };
    $("sign-passphrase").value = "";
    await send(status, "sign", args);
  });
  view.replaceChildren(h("p", {}, h("a", { href: formHash(k) }, "← Back to the form")), h("h1", {}, `Sign ${what} of ${k.subject}`), levels,
    h("p", {}, `You sign exactly these values (content SHA-256 `, h("span", { class: "hash", id: "content-hash" }, sv.msg.content_hash), "):"),
    h("table", { id: "signed-values" }, h("thead", {}, h("tr", {}, ["Form", "Item", "Value signed"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows)), form);
  pick();
}

// --- start -------------------------------------------------------------------------

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
load().catch((e) => showFatal("The pages could not start: " + e.message));
