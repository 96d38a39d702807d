// The scheduler dashboard: plain JavaScript, no build step, no third-party code.
// Every page reads and writes through the public /scheduler routes; the header below
// (with the session cookie) is what lets the API accept the dashboard's requests.
"use strict";

const DASHBOARD_HEADER = { "X-Scheduler-Dashboard": "1" };
const POLL_MS = 2000;
const view = document.getElementById("view");
const statusLine = document.getElementById("status");
let timer = null;

class SignInNeeded extends Error {}

async function api(method, path, body, headers) {
  const init = { method, credentials: "same-origin", headers: { ...DASHBOARD_HEADER, ...(headers || {}) } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (response.status === 401) {
    showSignIn();
    throw new SignInNeeded();
  }
  return { status: response.status, data, etag: response.headers.get("ETag") };
}

// DOM built from text nodes only: nothing from the API is ever parsed as HTML.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text) { statusLine.textContent = text; }
// A time as UTC to the second, then the browser's own zone and how far it is from now.
const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const LOCAL_PARTS = new Intl.DateTimeFormat("en-GB", {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  second: "2-digit", hourCycle: "h23", timeZoneName: "short",
});
function utcText(date) { return date.toISOString().slice(0, 19).replace("T", " ") + " UTC"; }
function localText(date) {
  const part = Object.fromEntries(LOCAL_PARTS.formatToParts(date).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`;
}
function fromNow(date) {
  const minutes = Math.round((date.getTime() - Date.now()) / 60000);
  const size = Math.abs(minutes);
  const amount = size < 1 ? null : size < 120 ? size + " min" : size < 48 * 60 ? Math.round(size / 60) + " h" : Math.round(size / 1440) + " days";
  if (amount === null) return "now";
  return minutes > 0 ? "in " + amount : amount + " ago";
}
function when(iso) {
  if (!iso) return "—";
  const date = new Date(Date.parse(iso));
  if (Number.isNaN(date.getTime())) return iso;
  const local = LOCAL_ZONE === "UTC" || LOCAL_ZONE === "Etc/UTC" ? "" : localText(date) + ", ";
  return `${utcText(date)} (${local}${fromNow(date)})`;
}
function seconds(from, to) {
  if (!from || !to) return "—";
  return ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(2) + " s";
}
function arnPath(arn) { return "/scheduler/schedule/" + encodeURIComponent(arn); }
function scheduleLink(arn, text) { return el("a", { href: "#/schedule/" + encodeURIComponent(arn) }, text); }
function stateBadge(state) { return el("span", { class: "state state-" + state }, state === "DISABLED" ? "DISABLED (paused)" : state); }
function statusCell(status) { return el("td", { class: "status-" + status }, status || "—"); }
function labelsText(labels) {
  return labels ? Object.entries(labels).map(([k, v]) => k + ":" + v).join(", ") : "";
}
function errorText(data) {
  if (!data) return "request failed";
  if (Array.isArray(data.detail)) return data.detail.map((d) => d.msg).join("; ");
  return data.detail || "request failed";
}
function poll(refresh) {
  clearInterval(timer);
  timer = setInterval(() => refresh().catch(() => {}), POLL_MS);
}

// Signing in: a token, once; the server keeps it in an HttpOnly cookie.
function showSignIn() {
  clearInterval(timer);
  document.getElementById("sign-in").hidden = false;
  view.replaceChildren();
  document.getElementById("token").focus();
}

document.getElementById("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value;
  const answer = await fetch("/dashboard/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { ...DASHBOARD_HEADER, "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (answer.ok) {
    document.getElementById("token").value = "";
    document.getElementById("sign-in").hidden = true;
    document.getElementById("sign-out").hidden = false;
    route();
  } else if (answer.status === 429) {
    const wait = answer.headers.get("Retry-After") || "a few";
    document.getElementById("sign-in-error").textContent = `Too many attempts: try again in ${wait} s.`;
  } else {
    document.getElementById("sign-in-error").textContent = "That token was refused.";
  }
});

document.getElementById("sign-out").addEventListener("click", async () => {
  await fetch("/dashboard/session", { method: "DELETE", credentials: "same-origin", headers: DASHBOARD_HEADER });
  location.reload();
});

// Pages.

async function overviewPage() {
  view.append(el("h2", { text: "Overview" }));
  const body = el("div");
  view.append(body);
  async function refresh() {
    const { data } = await api("GET", "/scheduler/overview");
    const cards = el("div", { class: "cards" });
    for (const [state, n] of Object.entries(data.schedules || {})) {
      cards.append(el("div", { class: "card" }, el("div", { class: "n" }, n), state.toLowerCase()));
    }
    for (const [state, n] of Object.entries(data.runs_last_hour || {})) {
      cards.append(el("div", { class: "card" }, el("div", { class: "n" }, n), "runs " + state.toLowerCase() + " (1 h)"));
    }
    const parts = [cards];
    if (data.schedules === null) parts.push(el("p", { class: "notice" }, "Counts need SCHEDULE_TABLE on AWS."));
    parts.push(el("h3", { text: "Fire lateness, last hour" }));
    parts.push(data.lateness === null ? el("p", { class: "notice" }, "Runs are kept by the local engine; on AWS see CloudWatch.") : latenessChart(data.lateness));
    body.replaceChildren(...parts);
  }
  await refresh();
  poll(refresh);
}

function latenessChart(points) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 640, height = 200, pad = 30;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("role", "img");
  const most = Math.max(1, ...points.map((p) => p.lateness_seconds));
  svg.setAttribute("aria-label", `${points.length} runs; the latest started ${most.toFixed(2)} s late at most`);
  const now = Date.now();
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    svg.append(node);
  };
  add("line", { x1: pad, y1: height - pad, x2: width - 5, y2: height - pad });
  add("line", { x1: pad, y1: 5, x2: pad, y2: height - pad });
  add("text", { x: 2, y: 12 }, most.toFixed(1) + " s");
  add("text", { x: pad, y: height - 8 }, "−60 min");
  add("text", { x: width - 30, y: height - 8 }, "now");
  for (const p of points) {
    const age = (now - Date.parse(p.scheduled_time)) / 60000;
    const x = pad + (1 - Math.min(60, Math.max(0, age)) / 60) * (width - pad - 10);
    const y = height - pad - (p.lateness_seconds / most) * (height - pad - 10);
    add("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 3 });
  }
  return svg;
}

const FILTERS = [
  ["user_id", "User id", "number"], ["action", "Action", "text"], ["label", "Label (key:value)", "text"],
  ["task_id_prefix", "Task id starts with", "text"],
  ["next_after", "Next fire from (ISO 8601)", "text"], ["next_before", "Next fire before (ISO 8601)", "text"],
];

async function schedulesPage(query) {
  const params = new URLSearchParams(query || "");
  view.append(el("h2", { text: "Schedules" }));
  const form = el("form", { class: "filters", "aria-label": "Filters" });
  for (const [name, label, type] of FILTERS) {
    form.append(el("div", {}, el("label", { for: "f-" + name }, label), el("input", { id: "f-" + name, name, type, value: params.get(name) || "" })));
  }
  const select = (name, label, options) => el("div", {},
    el("label", { for: "f-" + name }, label),
    el("select", { id: "f-" + name, name }, options.map((o) => el("option", { value: o, selected: params.get(name) === o }, o || "any"))));
  form.append(select("state", "State", ["", "ENABLED", "DISABLED"]), select("kind", "Kind", ["", "one-time", "recurring"]));
  form.append(el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) chosen.set(key, value);
    location.hash = "#/schedules?" + chosen.toString();
  });
  const tbody = el("tbody");
  const table = el("table", {}, el("thead", {}, el("tr", {}, ["Task", "User", "Action", "Labels", "State", "Expression", "Next fire", "Last run"].map((h) => el("th", { scope: "col" }, h)))), tbody);
  const tokens = [null];
  const previous = el("button", { type: "button", class: "secondary", onclick: () => { tokens.pop(); refresh(); } }, "Previous page");
  const next = el("button", { type: "button", class: "secondary", onclick: () => { tokens.push(next.dataset.token); refresh(); } }, "Next page");
  view.append(form, el("div", { class: "scroll" }, table), el("div", { class: "actions" }, previous, next));

  async function refresh() {
    const ask = new URLSearchParams(params);
    ask.set("limit", "50");
    const token = tokens[tokens.length - 1];
    if (token) ask.set("next_token", token);
    const { status, data } = await api("GET", "/scheduler/schedules?" + ask.toString());
    if (status !== 200) { tbody.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "error" }, errorText(data)))); return; }
    const items = data.schedules;
    let last = {};
    const ids = items.map((i) => i.task_id).filter(Boolean);
    if (ids.length) {
      const runs = await api("GET", "/scheduler/tasks/last-runs?" + ids.map((id) => "task_id=" + encodeURIComponent(id)).join("&"));
      if (runs.status === 200) last = runs.data.last_runs;
    }
    tbody.replaceChildren(...items.map((item) => el("tr", {},
      el("td", {}, scheduleLink(item.schedule_arn, item.task_id || item.schedule_name)),
      el("td", {}, item.user_id ?? ""), el("td", {}, item.action || ""), el("td", {}, labelsText(item.labels)),
      el("td", {}, stateBadge(item.state)), el("td", {}, el("code", {}, item.schedule_expression || ""), " ", item.timezone || ""),
      el("td", {}, when(item.next_fire_time)),
      statusCell(last[item.task_id] ? last[item.task_id].status : ""))));
    if (!items.length) tbody.append(el("tr", {}, el("td", { colspan: 8 }, "No schedule matches.")));
    next.hidden = !data.next_token;
    next.dataset.token = data.next_token || "";
    previous.hidden = tokens.length < 2;
  }
  await refresh();
  poll(refresh);
}

async function schedulePage(encoded) {
  const arn = decodeURIComponent(encoded);
  const first = await api("GET", arnPath(arn));
  if (first.status !== 200) { view.append(el("p", { class: "notice bad" }, errorText(first.data))); return; }
  let detail = first.data;
  // The edit form's If-Match is the ETag of the version its fields show. A refresh adopts a
  // newer ETag only if the fields the form shows did not change (a pause, say); otherwise
  // a save must meet the 412, not overwrite someone else's edit.
  let etag = first.etag;
  const shown = (d) => JSON.stringify([d.schedule_expression, d.timezone, d.task]);
  let formVersion = shown(detail);
  const task = detail.task || {};
  const heading = el("h2", {}, "Schedule ", el("code", {}, task.task_id || detail.schedule_name));
  const summary = el("dl");
  const pauseButton = el("button", { type: "button", class: "secondary" });
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", onclick: runNow }, "Run now"),
    pauseButton,
    el("button", { type: "button", class: "danger", onclick: cancel }, "Cancel schedule"));
  const message = el("p", { role: "alert", class: "notice", hidden: true });
  const fires = el("ol", { id: "fires" });
  const taskPanel = el("pre", { id: "task-panel" });
  const runsBody = el("tbody");
  const runs = el("table", {}, el("thead", {}, el("tr", {}, ["Status", "Scheduled", "Attempts", "Lateness", "Duration", "Error"].map((h) => el("th", { scope: "col" }, h)))), runsBody);
  view.append(heading, message, actions, summary,
    el("div", { class: "grid" },
      el("section", {}, el("h3", { text: "Task" }), taskPanel),
      el("section", {}, el("h3", { text: "Next fire times" }), fires)),
    el("h3", { text: "Runs, newest first" }), el("div", { class: "scroll" }, runs), editForm());

  function notify(text, bad) { message.hidden = false; message.textContent = text; message.className = bad ? "notice bad" : "notice"; }

  // Everything shown comes from the schedule as the API last answered (GET, PATCH, pause,
  // resume): its own fire times (its anchor, start and end), never a preview from now.
  function render() {
    summary.replaceChildren(...[["State", stateBadge(detail.state)], ["Expression", detail.schedule_expression + " " + detail.timezone],
      ["Starts", detail.start_date ? when(detail.start_date) : "when created"],
      ["Ends", detail.end_date ? when(detail.end_date) : "never"],
      ["Labels", labelsText((detail.task || {}).labels)], ["ARN", detail.schedule_arn]].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    pauseButton.textContent = detail.state === "ENABLED" ? "Pause" : "Resume";
    taskPanel.textContent = JSON.stringify(detail.task || {}, null, 2);
    renderFires();
  }

  function renderFires() {
    let none = null;
    if (detail.broken) none = "none: set aside by the engine (" + detail.broken + ")";
    else if (detail.state === "DISABLED") none = "none: paused (resume it to fire again)";
    else if (!detail.next_run_times.length) none = "none: it will not fire again";
    fires.replaceChildren(...(none ? [el("li", { class: "none" }, none)] : detail.next_run_times.map((t) => el("li", {}, when(t)))));
  }

  async function refresh() {
    const again = await api("GET", arnPath(arn));
    if (again.status === 200) {
      detail = again.data;
      if (shown(detail) === formVersion) etag = again.etag;
      render();
    }
    if (!task.task_id) return;
    const { status, data } = await api("GET", "/scheduler/tasks/" + encodeURIComponent(task.task_id) + "/runs?limit=20");
    if (status !== 200) { runsBody.replaceChildren(el("tr", {}, el("td", { colspan: 6 }, errorText(data)))); return; }
    runsBody.replaceChildren(...data.runs.map((run) => el("tr", {}, statusCell(run.status), el("td", {}, when(run.scheduled_time)),
      el("td", {}, run.attempts), el("td", {}, seconds(run.scheduled_time, run.started_at)),
      el("td", {}, run.duration_seconds == null ? "—" : run.duration_seconds.toFixed(2) + " s"), el("td", {}, run.error || ""))));
    if (!data.runs.length) runsBody.append(el("tr", {}, el("td", { colspan: 6 }, "No run yet.")));
  }

  async function runNow() {
    const { status, data } = await api("POST", arnPath(arn) + "/run");
    notify(status === 202 ? "Run started: execution " + data.execution_id : errorText(data), status !== 202);
    await refresh();
  }

  pauseButton.addEventListener("click", async () => {
    const verb = detail.state === "ENABLED" ? "pause" : "resume";
    const { status, data } = await api("POST", arnPath(arn) + "/" + verb);
    notify(status === 200 ? (verb === "pause" ? "Paused." : "Resumed.") : errorText(data), status !== 200);
    if (status === 200) { detail = data; render(); }
    await refresh();
  });

  async function cancel() {
    if (!window.confirm("Cancel this schedule? It will not fire again.")) return;
    const { status, data } = await api("DELETE", arnPath(arn));
    if (status === 200) location.hash = "#/schedules"; else notify(errorText(data), true);
  }

  function editForm() {
    const recurring = !detail.schedule_expression.startsWith("at(");
    const expression = detail.schedule_expression.replace(/^[a-z]+\((.*)\)$/, "$1");
    const timingName = recurring ? (detail.schedule_expression.startsWith("rate(") ? "rate" : "cron") : "run_at";
    const form = el("form", { "aria-labelledby": "edit-title" },
      el("h3", { id: "edit-title" }, "Edit timing and data"),
      field(timingName, timingName === "run_at" ? "Run at (ISO 8601)" : timingName, el("input", { id: "e-" + timingName, name: timingName, value: timingName === "run_at" ? expression + "Z" : expression })),
      field("timezone", "Time zone", el("input", { id: "e-timezone", name: "timezone", value: detail.timezone })),
      field("data", "Data (JSON)", el("textarea", { id: "e-data", name: "data" }, JSON.stringify(task.data || {}, null, 2))),
      el("button", { type: "submit" }, "Save changes"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const values = Object.fromEntries(new FormData(form));
      let data;
      try { data = JSON.parse(values.data || "{}"); } catch (_) { showError(form, "data", "not valid JSON"); return; }
      const change = { [timingName]: values[timingName], timezone: values.timezone, data };
      const { status, data: answer } = await api("PATCH", arnPath(arn), change, { "If-Match": etag });
      if (status === 200) {
        etag = answer.etag;
        formVersion = shown(answer);
        detail = answer;
        render();
        notify("Saved.");
        await refresh();
      }
      else if (status === 412) notify("This schedule changed since you opened it (someone else saved first). Reload the page to see the new version, then edit again.", true);
      else if (status === 422) showErrors(form, answer);
      else notify(errorText(answer), true);
    });
    return form;
  }

  render();
  await refresh();
  poll(refresh);
  // Back on the tab: show what changed meanwhile at once, not at the next poll.
  const onFocus = () => { if (view.contains(heading)) refresh().catch(() => {}); else window.removeEventListener("focus", onFocus); };
  window.addEventListener("focus", onFocus);
}

function field(name, label, input) {
  return el("div", { class: "field" }, el("label", { for: input.id }, label), input,
    el("p", { class: "error", id: "err-" + name, "aria-live": "polite" }));
}
function clearErrors(form) { for (const p of form.querySelectorAll("p.error")) p.textContent = ""; }
function showError(form, name, text) {
  const slot = form.querySelector("#err-" + CSS.escape(name)) || form.querySelector("#err-form");
  if (slot) slot.textContent = text;
  const input = form.querySelector("[name='" + name + "']");
  if (input) input.setAttribute("aria-invalid", "true");
}
function showErrors(form, data) {
  for (const d of (data && Array.isArray(data.detail) ? data.detail : [{ loc: ["form"], msg: errorText(data) }])) {
    const name = d.loc[d.loc.length - 1];
    showError(form, form.querySelector("#err-" + CSS.escape(String(name))) ? name : "form", d.msg);
  }
}

async function deadLettersPage() {
  view.append(el("h2", { text: "Dead letters" }));
  const body = el("div");
  view.append(body);
  async function refresh() {
    const { status, data } = await api("GET", "/scheduler/dead-letters");
    if (status !== 200) { body.replaceChildren(el("p", { class: "notice" }, errorText(data))); return; }
    if (!data.dead_letters.length) { body.replaceChildren(el("p", {}, "No dead letter.")); return; }
    const rows = data.dead_letters.map((letter) => {
      const last = letter.attempts[letter.attempts.length - 1];
      const redrive = el("button", { type: "button", onclick: async () => {
        const answer = await api("POST", "/scheduler/dead-letters/" + letter.id + "/redrive");
        say(answer.status === 200 ? "Redriven: " + answer.data.status : errorText(answer.data));
        await refresh();
      } }, "Redrive");
      const dismiss = el("button", { type: "button", class: "secondary", onclick: async () => {
        const answer = await api("DELETE", "/scheduler/dead-letters/" + letter.id);
        say(answer.status === 200 ? "Dismissed dead letter " + letter.id + "." : errorText(answer.data));
        await refresh();
      } }, "Dismiss");
      const redriven = letter.redriven_at ? [el("span", { class: "status-" + letter.redrive_status }, letter.redrive_status || ""), " ", when(letter.redriven_at)] : ["never"];
      return el("tr", {}, el("td", {}, scheduleLink(letter.schedule_arn, letter.task_id || "schedule")), el("td", {}, when(letter.scheduled_time)),
        el("td", {}, letter.attempts.length), el("td", {}, last ? last.error || "" : letter.reason),
        el("td", { class: "redriven" }, ...redriven), el("td", {}, el("div", { class: "actions" }, redrive, dismiss)));
    });
    body.replaceChildren(el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ["Task", "Scheduled", "Attempts", "Error", "Redriven", ""].map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, rows))));
  }
  await refresh();
  poll(refresh);
}

async function newSchedulePage() {
  view.append(el("h2", { text: "New schedule" }));
  const kind = el("select", { id: "n-kind", name: "kind" },
    el("option", { value: "cron" }, "recurring: cron"), el("option", { value: "rate" }, "recurring: rate"), el("option", { value: "run_at" }, "one-time: run at"));
  const timing = el("input", { id: "n-timing", name: "timing", value: "0 9 ? * MON-FRI *", "aria-describedby": "preview" });
  const timezone = el("input", { id: "n-timezone", name: "timezone", value: "UTC" });
  const preview = el("ol", { id: "preview", "aria-live": "polite" });
  const form = el("form", { "aria-labelledby": "new-title", novalidate: true },
    field("task_id", "Task id", el("input", { id: "n-task_id", name: "task_id", required: true })),
    field("user_id", "User id", el("input", { id: "n-user_id", name: "user_id", type: "number", required: true })),
    field("action", "Action", el("input", { id: "n-action", name: "action", value: "send_notification", required: true })),
    field("kind", "Kind", kind),
    field("timing", "Expression (cron fields, a rate such as 5 minutes, or an ISO time)", timing),
    field("timezone", "Time zone", timezone),
    field("data", "Data (JSON)", el("textarea", { id: "n-data", name: "data" }, "{}")),
    field("labels", "Labels (key:value, one per line)", el("textarea", { id: "n-labels", name: "labels" })),
    el("p", { class: "error", id: "err-form", role: "alert" }),
    el("button", { type: "submit" }, "Create schedule"));
  view.append(el("div", { class: "grid" }, form, el("section", {}, el("h3", { text: "Next fire times (UTC)" }), preview)));

  let pending = null;
  const expressionOf = () => kind.value === "run_at" ? "at(" + timing.value.replace(/Z$/, "").replace(/\+00:00$/, "") + ")" : kind.value + "(" + timing.value + ")";
  async function updatePreview() {
    const ask = new URLSearchParams({ expression: expressionOf(), timezone: timezone.value || "UTC", count: "5" });
    const { status, data } = await api("GET", "/scheduler/preview?" + ask.toString());
    const slot = document.getElementById("err-timing");
    if (status === 200) {
      slot.textContent = "";
      preview.replaceChildren(...data.next_run_times.map((t) => el("li", {}, when(t))));
    } else {
      slot.textContent = errorText(data);
      preview.replaceChildren();
    }
  }
  const later = () => { clearTimeout(pending); pending = setTimeout(() => updatePreview().catch(() => {}), 250); };
  for (const input of [timing, timezone]) input.addEventListener("input", later);
  kind.addEventListener("change", later);
  await updatePreview();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = Object.fromEntries(new FormData(form));
    let data;
    try { data = JSON.parse(values.data || "{}"); } catch (_) { showError(form, "data", "not valid JSON"); return; }
    const labels = {};
    for (const line of (values.labels || "").split("\n").map((l) => l.trim()).filter(Boolean)) {
      const at = line.indexOf(":");
      if (at < 1) { showError(form, "labels", "each line is key:value"); return; }
      labels[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    const request = { task_id: values.task_id, user_id: values.user_id === "" ? null : Number(values.user_id), action: values.action,
      timezone: values.timezone, data, labels, [values.kind]: values.timing };
    const { status, data: answer } = await api("POST", "/scheduler/schedule", request);
    if (status === 200) { location.hash = "#/schedule/" + encodeURIComponent(answer.schedule_arn); return; }
    if (status === 422) {
      // The timing field is named after its kind in the API (cron, rate, run_at).
      for (const d of answer.detail || []) if (["cron", "rate", "run_at"].includes(String(d.loc[d.loc.length - 1]))) d.loc = ["timing"];
      showErrors(form, answer);
    } else showError(form, "form", errorText(answer));
  });
}

const ROUTES = [
  [/^#\/?$/, "#/", () => overviewPage()],
  [/^#\/schedules(?:\?(.*))?$/, "#/schedules", (m) => schedulesPage(m[1])],
  [/^#\/schedule\/(.+)$/, "#/schedules", (m) => schedulePage(m[1])],
  [/^#\/dead-letters$/, "#/dead-letters", () => deadLettersPage()],
  [/^#\/new$/, "#/new", () => newSchedulePage()],
];

async function route() {
  clearInterval(timer);
  say("");
  const hash = location.hash || "#/";
  for (const [pattern, nav, page] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("nav a")) {
      if (link.getAttribute("href") === nav) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    view.replaceChildren();
    try {
      await page(match);
    } catch (error) {
      if (!(error instanceof SignInNeeded)) say("Something went wrong: " + error.message);
    }
    return;
  }
  view.replaceChildren(el("p", {}, "No such page."));
}

async function start() {
  const answer = await fetch("/dashboard/session", { credentials: "same-origin", headers: DASHBOARD_HEADER });
  const state = await answer.json();
  window.addEventListener("hashchange", route);
  if (!state.signed_in) { showSignIn(); return; }
  document.getElementById("sign-out").hidden = !state.tokens_required;
  route();
}

start();
