// tether's status page: fetches /status and /connections every few seconds and
// draws them. Every value a client chose (client label, user, database,
// attributes, statement text) reaches the DOM as text only (textContent,
// createTextNode), never as markup: a program_name may be any string at all.
"use strict";

(function () {
  const refreshMs = 3000;
  const tokenKey = "tether-admin-token";
  const svgNs = "http://www.w3.org/2000/svg";
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                   "#7f7f7f", "#bcbd22"];
  let sortKey = "id";
  let sortDescending = false;
  let lastSessions = [];
  let lastStatus = null;
  // The history ring as far as this page has seen it: each refresh asks only for newer samples.
  let samples = [];
  let timer = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function seconds(value) {
    if (typeof value !== "number" || !isFinite(value)) return "";
    if (value < 60) return value.toFixed(value < 10 ? 1 : 0) + " s";
    if (value < 3600) return Math.floor(value / 60) + " min " + Math.floor(value % 60) + " s";
    return Math.floor(value / 3600) + " h " + Math.floor((value % 3600) / 60) + " min";
  }

  class Forbidden extends Error {}

  async function getJson(path) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(tokenKey);
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(path, { headers, cache: "no-store", credentials: "omit" });
    if (response.status === 403) throw new Forbidden(path);
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return { body: await response.json(), headers: response.headers };
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function renderReadiness(status) {
    const badge = $("readiness");
    badge.textContent = status.ready ? "ready" : "not ready: " + (status.not_ready_reason || "unknown");
    badge.className = "badge " + (status.ready ? "ok" : "bad");
    $("version").textContent = "version " + status.version;
  }

  function renderUpstream(status) {
    const list = $("upstream");
    list.replaceChildren();
    const up = status.upstream || {};
    const fact = (name, value) => {
      list.append(el("dt", name), el("dd", value === null || value === undefined ? "unknown" : value));
    };
    fact("address", up.address);
    fact("monitor session", up.monitor_up === null ? "not configured (--monitor-user)" : up.monitor_up ? "up" : "down");
    if (up.server_threads_connected !== null && up.server_threads_connected !== undefined) {
      fact("server connections", up.server_threads_connected + " of max_connections " + up.server_max_connections);
    }
    fact("client sessions", status.sessions);
    fact("leak suspects", status.suspects + " (idle longer than " + seconds(status.leak_idle_threshold_seconds) + ")");
    const caps = status.caps || {};
    fact("caps", ["total", "client", "user"].map((k) => k + " " + (caps[k] ? caps[k] : "none")).join(", "));
  }

  // The tightest cap that applies to one client/user row.
  function capText(caps) {
    const parts = [];
    if (caps.client) parts.push(caps.client + " per client");
    if (caps.user) parts.push(caps.user + " per user");
    if (caps.total) parts.push(caps.total + " total");
    return parts.length ? parts.join(", ") : "none";
  }

  function renderClients(status) {
    const body = $("clients").tBodies[0];
    body.replaceChildren();
    const clients = (status.clients || []).slice().sort((a, b) => b.open - a.open || (a.client < b.client ? -1 : 1));
    for (const c of clients) {
      const row = document.createElement("tr");
      if (c.suspects > 0) row.className = "suspect";
      row.append(el("td", c.client, "col-client"), el("td", c.user, "col-user"), el("td", c.open, "num col-open"),
                 el("td", c.suspects, "num col-suspects" + (c.suspects > 0 ? " hot" : "")),
                 el("td", c.idle_in_transaction, "num col-idle-in-transaction" + (c.idle_in_transaction > 0 ? " hot" : "")),
                 el("td", seconds(c.max_idle_seconds), "num col-max-idle"),
                 el("td", c.rejected, "num col-rejected" + (c.rejected > 0 ? " warn" : "")),
                 el("td", capText(status.caps || {}), "col-cap"));
      body.append(row);
    }
    $("clients-empty").hidden = clients.length > 0;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(svgNs, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    return node;
  }

  function clockText(unixSeconds) {
    const d = new Date(unixSeconds * 1000);
    return d.toTimeString().slice(0, 5);
  }

  // One line per client that appears in the ring (the top ones of each sample),
  // at most ten: those with the most connections at any moment.
  function mergeHistory(status) {
    const fresh = (status.history && status.history.samples) || [];
    samples = samples.concat(fresh);
    if (samples.length > 0) {
      const newest = samples[samples.length - 1].t;
      samples = samples.filter((s) => s.t > newest - 3600);
    }
  }

  function renderChart() {
    const chart = $("chart");
    const legend = $("legend");
    chart.replaceChildren();
    legend.replaceChildren();
    if (samples.length === 0) {
      chart.append(el("p", "No samples yet.", "muted"));
      return;
    }
    const peak = new Map();
    for (const s of samples) {
      for (const [name, n] of Object.entries(s.clients)) peak.set(name, Math.max(peak.get(name) || 0, n));
    }
    const names = [...peak.keys()].sort((a, b) => peak.get(b) - peak.get(a) || (a < b ? -1 : 1)).slice(0, palette.length);
    const width = 1000, height = 220, left = 40, right = 10, top = 10, bottom = 22;
    const t1 = samples[samples.length - 1].t;
    const t0 = Math.min(samples[0].t, t1 - 60);
    const yMax = Math.max(1, ...names.map((n) => peak.get(n)));
    const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (width - left - right);
    const y = (v) => top + (1 - v / yMax) * (height - top - bottom);
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img" });
    root.append(svg("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), class: "axis" }),
                svg("line", { x1: left, y1: top, x2: left, y2: y(0), class: "axis" }));
    const label = (text, attributes) => {
      const node = svg("text", attributes);
      node.textContent = text;
      root.append(node);
    };
    label(String(yMax), { x: left - 6, y: top + 10, "text-anchor": "end" });
    label("0", { x: left - 6, y: y(0), "text-anchor": "end" });
    label(clockText(t0), { x: left, y: height - 6 });
    label(clockText(t1), { x: width - right, y: height - 6, "text-anchor": "end" });
    names.forEach((name, i) => {
      const points = samples.map((s) => x(s.t).toFixed(1) + "," + y(s.clients[name] || 0).toFixed(1)).join(" ");
      const line = svg("polyline", { points, fill: "none", stroke: palette[i], "stroke-width": 2,
                                     "vector-effect": "non-scaling-stroke" });
      const title = svg("title");
      title.textContent = name;
      line.append(title);
      root.append(line);
      const item = el("li");
      const swatch = el("span", null, "swatch");
      swatch.style.backgroundColor = palette[i];
      const latest = samples[samples.length - 1].clients[name] || 0;
      item.append(swatch, document.createTextNode(name + " (" + latest + " now, peak " + peak.get(name) + ")"));
      legend.append(item);
    });
    chart.append(root);
  }

  function isSuspect(session, status) {
    if (typeof session.leak_suspect === "boolean") return session.leak_suspect;
    const threshold = status ? status.leak_idle_threshold_seconds : 0;
    return threshold > 0 && session.state === "idle" && session.idle_seconds >= threshold;
  }

  function compare(a, b) {
    const av = a[sortKey], bv = b[sortKey];
    const missing = (v) => v === undefined || v === null;
    if (missing(av) || missing(bv)) return missing(av) - missing(bv);  // rows without the value go last
    if (typeof av === "number" && typeof bv === "number") return av - bv;
    return String(av).localeCompare(String(bv));
  }

  function statementText(session) {
    if (typeof session.last_statement === "string") return session.last_statement;
    if (session.commands === 0) return "(no command since login)";
    return "";
  }

  function renderSessions() {
    const table = $("sessions");
    for (const th of table.tHead.rows[0].cells) {
      th.classList.toggle("sorted-asc", th.dataset.key === sortKey && !sortDescending);
      th.classList.toggle("sorted-desc", th.dataset.key === sortKey && sortDescending);
    }
    const rows = lastSessions.slice().sort(compare);
    if (sortDescending) rows.reverse();
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const s of rows) {
      const row = document.createElement("tr");
      row.dataset.id = String(s.id);
      if (isSuspect(s, lastStatus)) row.className = "suspect";
      const program = s.attrs && typeof s.attrs.program_name === "string" ? s.attrs.program_name : null;
      const client = el("td", s.client, "col-client");
      if (program !== null && program !== s.client) client.title = "program_name: " + program;
      row.append(el("td", s.id, "num col-id"), client, el("td", s.user, "col-user"),
                 el("td", s.database, "col-database"), el("td", s.state, "col-state"),
                 el("td", seconds(s.idle_seconds), "num col-idle"), el("td", seconds(s.age_seconds), "num col-age"),
                 el("td", s.in_transaction ? "yes" : "", "col-in-transaction" + (s.in_transaction ? " hot" : "")),
                 el("td", typeof s.commands === "number" ? s.commands : "", "num col-commands"),
                 el("td", statementText(s), "statement col-last-statement"), el("td", s.peer, "col-peer"),
                 el("td", s.upstream_thread_id, "num col-thread"));
      body.append(row);
    }
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const since = samples.length > 0 ? samples[samples.length - 1].t : 0;
      const [status, sessions] = await Promise.all([getJson("status?since=" + since), getJson("connections?limit=1000")]);
      lastStatus = status.body;
      mergeHistory(lastStatus);
      lastSessions = Array.isArray(sessions.body) ? sessions.body : [];
      renderReadiness(lastStatus);
      renderUpstream(lastStatus);
      renderClients(lastStatus);
      renderChart();
      renderSessions();
      const total = sessions.headers.get("X-Tether-Total");
      $("sessions-count").textContent = total && Number(total) > lastSessions.length
        ? "(" + lastSessions.length + " of " + total + ")" : "(" + lastSessions.length + ")";
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
      $("token-form").hidden = true;
      $("main").hidden = false;
      showError("");
      const main = $("main");
      main.dataset.refreshes = String(Number(main.dataset.refreshes) + 1);
    } catch (e) {
      if (e instanceof Forbidden) {
        $("token-form").hidden = false;
        $("main").hidden = true;
        showError(sessionStorage.getItem(tokenKey) ? "The token was refused." : "");
      } else {
        showError("Could not refresh: " + e.message);
      }
    }
    timer = setTimeout(refresh, refreshMs);
  }

  function start() {
    for (const th of $("sessions").tHead.rows[0].cells) {
      th.addEventListener("click", () => {
        if (sortKey === th.dataset.key) {
          sortDescending = !sortDescending;
        } else {
          sortKey = th.dataset.key;
          sortDescending = false;
        }
        renderSessions();
      });
    }
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(tokenKey, $("token-input").value);
      $("token-input").value = "";
      refresh();
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
