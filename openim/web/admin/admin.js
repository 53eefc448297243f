// The operators' console: sign in with the server secret, then a dashboard polled every 2 s, users,
// groups, nodes and the effective config. OpenIM routes are called with the admin token; the figures,
// nodes, config, bans and the config warnings (a banner above every page) come from /admin/api/*
// (openim/console/admin_api.py).

import { ApiError, formatTime, get, h, post } from "/ui/common/api.js";
import { PALETTE, drawLineChart } from "/ui/admin/charts.js";

const POLL_MS = 2000;
const WINDOW_MS = 120_000;
const PAGE_SIZE = 20;
const PLATFORMS = { 1: "iOS", 2: "Android", 3: "Windows", 4: "macOS", 5: "Web", 6: "MiniWeb", 7: "Linux", 8: "AndroidPad", 9: "iPad", 11: "HarmonyOS" };
const TOKEN_KEY = "openim.console.token";

const $ = (selector) => document.querySelector(selector);
let token = sessionStorage.getItem(TOKEN_KEY) ?? "";
let stopView = () => {};

// -- session ------------------------------------------------------------------------------------------

function showLogin(message = "") {
  stopView();
  token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  $("#secret").focus();
}

async function call(path, body) {
  try {
    return body === undefined && path.startsWith("/admin/api/") ? await get(path, token) : await post(path, body, token);
  } catch (err) {
    if (err instanceof ApiError && ((err.errCode >= 1501 && err.errCode <= 1507) || (path.startsWith("/admin/api/") && err.errCode === 1002))) {
      showLogin("Your session ended; sign in again.");
    }
    throw err;
  }
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-button").disabled = true;
  $("#login-error").textContent = "";
  try {
    const data = await post("/admin/api/login", { secret: $("#secret").value });
    token = data.token;
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(`${TOKEN_KEY}.user`, data.userID);
    $("#secret").value = "";
    start();
  } catch (err) {
    $("#login-error").textContent = err.errCode === 1002 ? "Wrong secret." : err.message;
  } finally {
    $("#login-button").disabled = false;
  }
});

$("#logout").addEventListener("click", () => showLogin());

function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#who").textContent = sessionStorage.getItem(`${TOKEN_KEY}.user`) ?? "";
  showWarnings();
  route();
}

// What the server's config review warned of at start (the public example secret, ...): shown above every
// page until the config is fixed and the server restarted.
async function showWarnings() {
  const banner = $("#warnings");
  let warnings = [];
  try { warnings = (await call("/admin/api/warnings")) ?? []; } catch { /* the page's own call reports it */ }
  banner.replaceChildren(...warnings.map((w) => h("p.warning", {}, `Warning: ${w}`)));
  banner.hidden = warnings.length === 0;
}

const VIEWS = { dashboard: dashboardView, users: usersView, groups: groupsView, nodes: nodesView, config: configView };

function route() {
  if (!token) return showLogin();
  stopView();
  const name = location.hash.slice(1) in VIEWS ? location.hash.slice(1) : "dashboard";
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === `#${name}`);
  const view = $("#view");
  view.replaceChildren();
  view.dataset.view = name;
  stopView = VIEWS[name](view) ?? (() => {});
}

window.addEventListener("hashchange", route);

function errorLine() {
  return h("div.error");
}

function report(line, err) {
  line.textContent = err ? err.message : "";
}

// -- dashboard ----------------------------------------------------------------------------------------

// The q quantile from cumulative [[upperBound|null(+Inf), count], ...] (as Prometheus estimates it).
function quantile(q, buckets) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0, lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === null) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

function errorTotal(f) {
  return Object.values(f.errors).reduce((a, b) => a + b, 0);
}

function dashboardView(view) {
  const cards = {
    online: { title: "Online users", unit: "" },
    connections: { title: "Connections per node", unit: "" },
    rate: { title: "Messages / s", unit: "" },
    p99: { title: "p99 send latency", unit: " ms" },
    errors: { title: "Errors / s", unit: "" },
    webhooks: { title: "Webhook dead letters", unit: "" },
  };
  const grid = h("section.cards");
  for (const [key, card] of Object.entries(cards)) {
    card.value = h("div.value", { "data-figure": key }, "–");
    card.chart = h("div");
    card.legend = h("div.legend");
    card.note = h("div.muted");
    grid.append(h("div.card.panel", { "data-card": key }, h("div.label", {}, card.title), card.value, card.note, card.chart, card.legend));
  }
  const status = errorLine();
  const heading = h("div.row", {}, h("h2", {}, "Dashboard"), h("span.muted#build"));
  view.append(heading, grid, status);

  const samples = []; // {t, f (figures), nodes}
  let timer = 0;
  let stopped = false;

  function series(fn) {
    const points = [];
    for (let i = 1; i < samples.length; i++) points.push([samples[i].t, fn(samples[i - 1], samples[i])]);
    return points;
  }

  function perSecond(pick) {
    return (a, b) => {
      const dt = (b.t - a.t) / 1000;
      const d = pick(b.f) - pick(a.f);
      return dt > 0 && d >= 0 ? d / dt : null; // a negative difference: the process restarted
    };
  }

  function intervalP99(a, b) {
    const before = a.f.sendLatency.buckets, after = b.f.sendLatency.buckets;
    if (before.length !== after.length) return null;
    const diff = after.map(([bound, count], i) => [bound, count - before[i][1]]);
    const q = quantile(0.99, diff);
    return q === null ? null : q * 1000;
  }

  function render() {
    const now = Date.now();
    const last = samples[samples.length - 1];
    // The x axis spans what has been seen, between 10 s and WINDOW_MS, so a fresh page shows lines at once.
    const windowMs = Math.min(WINDOW_MS, Math.max(10_000, now - samples[0].t));
    view.dataset.samples = String(samples.length);
    const draw = (card, lines, current, digits = 0) => {
      card.value.textContent = current === null || current === undefined ? "–" : `${(+current).toFixed(digits)}${card.unit}`;
      drawLineChart(card.chart, lines, { windowMs, now });
      card.legend.replaceChildren(...(lines.length > 1 ? lines.map((s, i) => h("span", {}, h("i", { style: `background:${PALETTE[i % PALETTE.length]}` }), s.name)) : []));
    };
    draw(cards.online, [{ name: "online", points: samples.map((s) => [s.t, s.f.onlineUsers]) }], last.f.onlineUsers);

    const nodeIDs = [...new Set(samples.flatMap((s) => s.nodes.map((n) => n.nodeID)))].sort();
    const nodeLines = nodeIDs.map((id) => ({
      name: id,
      points: samples.map((s) => [s.t, s.nodes.find((n) => n.nodeID === id)?.connections ?? null]),
    }));
    draw(cards.connections, nodeLines, last.nodes.reduce((sum, n) => sum + n.connections, 0));
    cards.connections.note.textContent = `${last.nodes.length} node${last.nodes.length === 1 ? "" : "s"}, total shown`;

    const rate = series(perSecond((f) => f.messagesSent));
    draw(cards.rate, [{ name: "msgs/s", points: rate }], rate.length ? rate[rate.length - 1][1] : null, 1);
    cards.rate.note.textContent = `${last.f.messagesSent} sent since start`;

    const p99 = series(intervalP99);
    const p99Now = p99.length ? p99[p99.length - 1][1] : null;
    draw(cards.p99, [{ name: "p99", points: p99 }], p99Now, 1);
    const overall = last.f.sendLatency.p99Seconds;
    cards.p99.note.textContent = overall === null ? "no sends yet" : `since start: ${(overall * 1000).toFixed(1)} ms`;

    const errors = series(perSecond(errorTotal));
    draw(cards.errors, [{ name: "errors/s", points: errors }], errors.length ? errors[errors.length - 1][1] : null, 2);
    const e = last.f.errors;
    const limited = Object.entries(last.f.limits || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    cards.errors.note.textContent = `since start: api ${e.api}, gateway ${e.gateway}, handshake ${e.handshake}, refused ${e.refused}, dropped ${e.pushDropped}; limits: ${limited.length ? limited.join(", ") : "none hit"}`;

    // After-callbacks: the durable queue (queued, dead letters) and this process's deliveries.
    const w = last.f.webhooks;
    draw(cards.webhooks, [
      { name: "queued", points: samples.map((s) => [s.t, s.f.webhooks.queued]) },
      { name: "dead", points: samples.map((s) => [s.t, s.f.webhooks.deadLetters]) },
    ], w.deadLetters);
    cards.webhooks.note.replaceChildren(
      `queued ${w.queued}; since start: delivered ${w.delivered}, failed attempts ${w.failedAttempts}, refused ${w.dropped} `,
      ...(w.deadLetters > 0 ? [h("button.secondary#redrive-webhooks", {
        type: "button",
        onclick: () => confirm(`Queue the ${w.deadLetters} dead letters again? Each is sent again to your receiver.`) &&
          call("/admin/api/webhooks/redrive", {}).then(() => report(status)).catch((err) => report(status, err)),
      }, "Re-drive")] : []));
  }

  async function poll() {
    try {
      const data = await call("/admin/api/dashboard");
      if (stopped) return;
      $("#build").textContent = `node ${data.nodeID} · version ${data.build.version} (${data.build.commit})`;
      samples.push({ t: data.figures.time, f: data.figures, nodes: data.nodes });
      while (samples.length && samples[0].t < data.figures.time - WINDOW_MS - POLL_MS) samples.shift();
      render();
      report(status);
    } catch (err) {
      report(status, err);
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

// -- users --------------------------------------------------------------------------------------------

function usersView(view) {
  const search = h("input#user-search", { placeholder: "user ID or nickname", type: "search" });
  const table = h("table#users-table");
  const pager = h("div.row");
  const status = errorLine();
  const newID = h("input#new-user-id", { placeholder: "user ID", required: true });
  const newName = h("input#new-user-nickname", { placeholder: "nickname", required: true });
  let page = 1;

  const create = h("form.row", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        await call("/user/user_register", { users: [{ userID: newID.value.trim(), nickname: newName.value.trim(), faceURL: "" }] });
        search.value = newID.value.trim();
        newID.value = newName.value = "";
        page = 1;
        await load();
      } catch (err) { report(status, err); }
    },
  }, newID, newName, h("button#create-user", { type: "submit" }, "Create user"));

  async function act(label, fn) {
    try {
      await fn();
      status.textContent = "";
      await load();
      status.textContent = label;
      status.className = "muted";
    } catch (err) { status.className = "error"; report(status, err); }
  }

  async function load() {
    const data = await call("/user/get_users", { pagination: { pageNumber: page, showNumber: PAGE_SIZE }, userID: search.value.trim() });
    const users = data?.users ?? [];
    const ids = users.map((u) => u.userID);
    const [blocks, statuses] = await Promise.all([
      ids.length ? call("/admin/api/users/blocks", { userIDs: ids }) : [],
      ids.length ? call("/user/get_users_status", { userID: sessionStorage.getItem(`${TOKEN_KEY}.user`) ?? "", userIDs: ids }).catch(() => null) : null,
    ]);
    const blocked = new Map((blocks ?? []).map((b) => [b.userID, b]));
    const online = new Map((statuses?.statusList ?? []).map((s) => [s.userID, s.platformIDs ?? []]));
    table.replaceChildren(
      h("tr", {}, ...["User ID", "Nickname", "Created", "Online", "State", ""].map((t) => h("th", {}, t))),
      ...users.map((u) => {
        const ban = blocked.get(u.userID);
        const platforms = online.get(u.userID) ?? [];
        return h("tr", { dataset: { userId: u.userID } },
          h("td", {}, u.userID),
          h("td", {}, u.nickname),
          h("td", {}, formatTime(u.createTime)),
          h("td", {}, platforms.length ? platforms.map((p) => PLATFORMS[p] ?? p).join(", ") : h("span.muted", {}, "offline")),
          h("td", {}, ban ? h("span.badge.bad", { title: ban.reason }, "blocked") : h("span.badge.ok", {}, "active")),
          h("td.actions", {},
            ban
              ? h("button.secondary", { type: "button", onclick: () => act(`${u.userID} unblocked`, () => call("/admin/api/users/unblock", { userID: u.userID })) }, "Unblock")
              : h("button.danger", {
                type: "button",
                onclick: () => confirm(`Block ${u.userID}? They are logged out everywhere and cannot log in until unblocked.`) &&
                  act(`${u.userID} blocked`, () => call("/admin/api/users/block", { userID: u.userID, reason: "blocked in the console" })),
              }, "Block"),
            h("button.secondary", { type: "button", onclick: () => act(`${u.userID} logged out`, () => call("/admin/api/users/force_logout", { userID: u.userID })) }, "Force logout")));
      }),
    );
    const pages = Math.max(1, Math.ceil((data?.total ?? 0) / PAGE_SIZE));
    pager.replaceChildren(
      h("button.secondary", { type: "button", disabled: page <= 1, onclick: () => { page -= 1; load().catch((e) => report(status, e)); } }, "Previous"),
      h("span.muted", {}, `page ${page} of ${pages} · ${data?.total ?? 0} users`),
      h("button.secondary", { type: "button", disabled: page >= pages, onclick: () => { page += 1; load().catch((e) => report(status, e)); } }, "Next"),
    );
  }

  const form = h("form.row", { onsubmit: (event) => { event.preventDefault(); page = 1; load().catch((e) => report(status, e)); } },
    search, h("button#user-search-button", { type: "submit" }, "Search"));
  view.append(h("div.panel", {}, h("h2", {}, "Users"), form, h("p"), table, h("p"), pager, status),
    h("div.panel", {}, h("h2", {}, "Create a user"), create));
  load().catch((e) => report(status, e));
}

// -- groups -------------------------------------------------------------------------------------------

const GROUP_STATUS = { 0: ["active", "ok"], 1: ["chat banned", "warn"], 2: ["dismissed", "bad"], 3: ["muted", "warn"] };
const ROLES = { 20: "member", 60: "admin", 100: "owner" };

function groupsView(view) {
  const search = h("input#group-search", { placeholder: "group name or exact group ID", type: "search" });
  const table = h("table#groups-table");
  const status = errorLine();
  let page = 1;

  async function toggleMembers(row, groupID) {
    const next = row.nextElementSibling;
    if (next?.classList.contains("members")) return next.remove();
    const data = await call("/group/get_group_member_list", { groupID, filter: 0, keyword: "", pagination: { pageNumber: 1, showNumber: 100 } });
    const members = data?.members ?? [];
    row.after(h("tr.members", {}, h("td", { colspan: 7 },
      h("table", {}, h("tr", {}, ...["User ID", "Nickname", "Role", "Joined"].map((t) => h("th", {}, t))),
        ...members.map((m) => h("tr", {}, h("td", {}, m.userID), h("td", {}, m.nickname), h("td", {}, ROLES[m.roleLevel] ?? m.roleLevel), h("td", {}, formatTime(m.joinTime))))),
      data?.total > members.length ? h("div.muted", {}, `first ${members.length} of ${data.total}`) : null)));
  }

  async function load() {
    const term = search.value.trim();
    const body = { pagination: { pageNumber: page, showNumber: PAGE_SIZE } };
    if (/^\d+$/.test(term)) body.groupID = term; else if (term) body.groupName = term;
    let data = await call("/group/get_groups", body);
    if (body.groupID && !(data?.groups ?? []).length) data = await call("/group/get_groups", { pagination: body.pagination, groupName: term });
    const groups = data?.groups ?? [];
    table.replaceChildren(
      h("tr", {}, ...["Group ID", "Name", "Owner", "Members", "Status", "Created", ""].map((t) => h("th", {}, t))),
      ...groups.map(({ groupInfo: g, groupOwnerUserID, groupOwnerUserName }) => {
        const [label, tone] = GROUP_STATUS[g.status ?? 0] ?? [String(g.status), "warn"];
        const row = h("tr", { dataset: { groupId: g.groupID } },
          h("td", {}, g.groupID), h("td", {}, g.groupName), h("td", {}, groupOwnerUserName || groupOwnerUserID || g.ownerUserID),
          h("td", {}, g.memberCount ?? 0), h("td", {}, h(`span.badge.${tone}`, {}, label)), h("td", {}, formatTime(g.createTime)),
          h("td.actions", {},
            h("button.secondary", { type: "button", onclick: () => toggleMembers(row, g.groupID).catch((e) => report(status, e)) }, "Members"),
            g.status === 2 ? null : h("button.danger", {
              type: "button",
              onclick: async () => {
                if (!confirm(`Dismiss group ${g.groupName} (${g.groupID})?`)) return;
                try { await call("/group/dismiss_group", { groupID: g.groupID, deleteMember: false }); await load(); } catch (e) { report(status, e); }
              },
            }, "Dismiss")));
        return row;
      }),
    );
    status.textContent = groups.length ? "" : "No groups found.";
    status.className = groups.length ? "error" : "muted";
  }

  const form = h("form.row", { onsubmit: (event) => { event.preventDefault(); page = 1; load().catch((e) => report(status, e)); } },
    search, h("button", { type: "submit" }, "Search"));
  view.append(h("div.panel", {}, h("h2", {}, "Groups"), form, h("p"), table, status));
  load().catch((e) => report(status, e));
}

// -- nodes --------------------------------------------------------------------------------------------

function nodesView(view) {
  const table = h("table#nodes-table");
  const status = errorLine();
  view.append(h("div.panel", {}, h("h2", {}, "Cluster nodes"), h("p.muted", {}, "Every process registers itself with a heartbeat every 5 s; a node missing two beats is late, one silent for 15 s leaves the list."), table, status));
  let timer = 0;
  let stopped = false;
  async function load() {
    try {
      const nodes = await call("/admin/api/nodes");
      const tone = { up: "ok", late: "warn", unregistered: "bad" };
      table.replaceChildren(
        h("tr", {}, ...["Node", "Modules", "Addresses", "Connections", "Started", "Heartbeat", "Health"].map((t) => h("th", {}, t))),
        ...nodes.map((n) => h("tr", { dataset: { nodeId: n.nodeID } },
          h("td", {}, n.nodeID, n.self ? h("span.muted", {}, " (this process)") : null),
          h("td", {}, n.modules.join(", ")),
          h("td", {}, Object.entries(n.addresses).map(([k, v]) => `${k} ${v}`).join(" · ")),
          h("td", {}, n.connections),
          h("td", {}, formatTime(n.startedAt)),
          h("td", {}, n.heartbeatAgeMs === null ? "–" : `${(n.heartbeatAgeMs / 1000).toFixed(1)} s ago`),
          h("td", {}, h(`span.badge.${tone[n.health] ?? "warn"}`, {}, n.health)))),
      );
      report(status);
    } catch (err) { report(status, err); }
    if (!stopped) timer = setTimeout(load, 5000);
  }
  load();
  return () => { stopped = true; clearTimeout(timer); };
}

// -- config -------------------------------------------------------------------------------------------

function configView(view) {
  const pre = h("pre#config");
  const status = errorLine();
  view.append(h("div.panel", {}, h("h2", {}, "Effective config"),
    h("p.muted", {}, "Read-only: file, defaults and OPENIM_* overrides merged, secrets masked. Change config.yaml and restart to alter it."), pre, status));
  call("/admin/api/config").then((data) => { pre.textContent = JSON.stringify(data, null, 2); }).catch((e) => report(status, e));
}

if (token) start(); else showLogin();
