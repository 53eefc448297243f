// The demo chat: log in as a user, a conversation list with unread counts, one-to-one and group chat.
// Messages go over the gateway (client.js); the conversation list, names and read marks over REST.

import { ApiError, formatTime, h, post } from "/ui/common/api.js";
import {
  GatewayClient, GROUP_CHAT, SINGLE_CHAT, groupConversationID, messageText, singleConversationID,
} from "/ui/demo/client.js";

const HISTORY = 30;
const SESSION_KEY = "openim.demo.session";
const $ = (selector) => document.querySelector(selector);

let session = null; // {userID, nickname, token, wsAddr}
let client = null;
let openID = "";
const conversations = new Map(); // conversationID -> {conversationID, type, peerID, groupID, name, maxSeq, hasReadSeq, maxSeqTime, last}
const messages = new Map(); // conversationID -> [MsgData] by seq (clientMsgID for unsent echoes)

// -- login --------------------------------------------------------------------------------------------

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-button").disabled = true;
  $("#login-error").textContent = "";
  try {
    // The server registers the user if new and issues a Web token (openim/console/demo_api.py).
    const data = await post("/demo/api/login", {
      secret: $("#login-secret").value, userID: $("#login-user").value.trim(), nickname: $("#login-nickname").value.trim(),
    });
    session = { userID: data.userID, nickname: data.nickname, token: data.token, wsAddr: $("#login-gateway").value.trim() };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    $("#login-secret").value = "";
    await enter();
  } catch (err) {
    $("#login-error").textContent = err instanceof ApiError && err.errCode === 1002 ? `Refused: ${err.errDlt || err.message}` : err.message;
  } finally {
    $("#login-button").disabled = false;
  }
});

async function showLogin(message = "") {
  client?.close();
  client = null;
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  conversations.clear();
  messages.clear();
  openID = "";
  $("#chat").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  if (!$("#login-gateway").value) {
    try {
      $("#login-gateway").value = (await (await fetch("/demo/config.json")).json()).wsAddr;
    } catch { /* the operator types it then */ }
  }
}

$("#logout").addEventListener("click", () => showLogin());

// -- the connection -----------------------------------------------------------------------------------

function setConnection(state) {
  const badge = $("#connection");
  badge.textContent = state;
  badge.className = `badge ${state === "online" ? "ok" : "warn"}`;
}

async function enter() {
  $("#login").hidden = true;
  $("#chat").hidden = false;
  $("#me").textContent = `${session.nickname} (${session.userID})`;
  client = new GatewayClient({ wsAddr: session.wsAddr, userID: session.userID, token: session.token });
  client.addEventListener("connected", () => {
    setConnection("online");
    sync().catch(sideError);
  });
  client.addEventListener("disconnected", () => setConnection("reconnecting"));
  client.addEventListener("kicked", () => showLogin("The server ended this session (logged in elsewhere, logged out, or blocked)."));
  client.addEventListener("messages", (event) => onPushed(event.detail));
  try {
    await client.connect();
  } catch (err) {
    await showLogin(`Gateway refused the login: ${err.message}`);
  }
}

function sideError(err) {
  $("#side-error").textContent = err ? err.message : "";
}

// -- conversations ------------------------------------------------------------------------------------

function describe(row) {
  const type = row.conversationType === GROUP_CHAT ? GROUP_CHAT : SINGLE_CHAT;
  return { type, peerID: row.userID ?? "", groupID: row.groupID ?? "" };
}

// Everything after a (re)connect: the list with seqs (1006), names, last messages, the open history.
async function sync() {
  const [listed, seqs] = await Promise.all([
    post("/conversation/get_all_conversations", { ownerUserID: session.userID }, session.token),
    client.conversationSeqs(),
  ]);
  for (const row of listed?.conversations ?? []) {
    if (!row.conversationID.startsWith("si_") && !row.conversationID.startsWith("sg_")) continue;
    const known = conversations.get(row.conversationID) ?? { conversationID: row.conversationID, name: "", last: "", maxSeq: 0, hasReadSeq: 0, maxSeqTime: 0 };
    conversations.set(row.conversationID, { ...known, ...describe(row) });
  }
  for (const [cid, s] of Object.entries(seqs)) {
    const c = conversations.get(cid);
    // Pushes may have arrived while this ran: the figures only ever grow.
    if (c) {
      c.maxSeq = Math.max(c.maxSeq, s.maxSeq);
      c.hasReadSeq = Math.max(c.hasReadSeq, s.hasReadSeq);
      c.maxSeqTime = Math.max(c.maxSeqTime, s.maxSeqTime);
    }
  }
  await Promise.all([names(), lastMessages()]);
  renderList();
  if (openID) await loadHistory(openID);
  sideError();
}

async function names() {
  const users = [...conversations.values()].filter((c) => c.type === SINGLE_CHAT && !c.name).map((c) => c.peerID);
  const groups = [...conversations.values()].filter((c) => c.type === GROUP_CHAT && !c.name).map((c) => c.groupID);
  const [u, g] = await Promise.all([
    users.length ? post("/user/get_users_info", { userIDs: users }, session.token) : null,
    groups.length ? post("/group/get_groups_info", { groupIDs: groups }, session.token) : null,
  ]);
  const userNames = new Map((u?.usersInfo ?? []).map((x) => [x.userID, x.nickname || x.userID]));
  const groupNames = new Map((g?.groupInfos ?? []).map((x) => [x.groupID, x.groupName || x.groupID]));
  for (const c of conversations.values()) {
    if (c.name) continue;
    c.name = c.type === GROUP_CHAT ? groupNames.get(c.groupID) ?? c.groupID : userNames.get(c.peerID) ?? c.peerID;
  }
}

async function lastMessages() {
  const wanted = {};
  for (const c of conversations.values()) if (c.maxSeq > 0) wanted[c.conversationID] = [c.maxSeq];
  const pulled = await client.pull(wanted);
  for (const [cid, list] of Object.entries(pulled)) {
    const c = conversations.get(cid);
    if (c && list.length) showLast(c, list[list.length - 1]);
  }
}

// The list shows the newest message it has seen (a pull may answer after a newer push).
function showLast(c, msg) {
  if ((msg.seq || Infinity) < (c.lastSeq ?? 0)) return;
  c.lastSeq = msg.seq || c.lastSeq || 0;
  c.last = preview(msg);
}

function preview(msg) {
  const who = msg.sendID === session.userID ? "You: " : "";
  return `${who}${messageText(msg)}`;
}

function unread(c) {
  return Math.max(0, c.maxSeq - c.hasReadSeq);
}

function renderTitle() {
  const c = conversations.get(openID);
  if (!c) return;
  const name = c.name || (c.type === GROUP_CHAT ? c.groupID : c.peerID);
  $("#room-title").textContent = c.type === GROUP_CHAT ? `# ${name} (group ${c.groupID})` : `${name} (${c.peerID})`;
  $("#room-title").className = "";
}

function renderList() {
  renderTitle();
  const sorted = [...conversations.values()].sort((a, b) => b.maxSeqTime - a.maxSeqTime || a.name.localeCompare(b.name));
  $("#conversations").replaceChildren(...sorted.map((c) => h("li.conv", {
    dataset: { conversationId: c.conversationID },
    class: c.conversationID === openID ? "conv active" : "conv",
    onclick: () => open(c.conversationID).catch(roomError),
  },
  h("span.name", {}, c.type === GROUP_CHAT ? `# ${c.name}` : c.name),
  h("span.time", {}, c.maxSeqTime ? formatTime(c.maxSeqTime).slice(11) : ""),
  h("span.last", {}, c.last || "no messages yet"),
  unread(c) ? h("span.unread", {}, unread(c)) : null)));
}

// -- one conversation ---------------------------------------------------------------------------------

function roomError(err) {
  $("#room-error").textContent = err ? err.message : "";
}

async function open(conversationID) {
  openID = conversationID;
  $("#message-input").disabled = $("#send-button").disabled = false;
  $("#message-input").focus();
  renderList();
  await loadHistory(conversationID);
}

async function loadHistory(conversationID) {
  const c = conversations.get(conversationID);
  const seqs = [];
  for (let s = c.maxSeq; s >= 1 && seqs.length < HISTORY; s--) seqs.push(s);
  const pulled = await client.pull({ [conversationID]: seqs });
  const list = pulled[conversationID] ?? [];
  messages.set(conversationID, merge(messages.get(conversationID) ?? [], list));
  renderMessages();
  await markRead(c);
}

function merge(existing, incoming) {
  const byKey = new Map(existing.map((m) => [m.clientMsgID, m]));
  for (const m of incoming) byKey.set(m.clientMsgID, { ...byKey.get(m.clientMsgID), ...m });
  return [...byKey.values()].sort((a, b) => (a.seq || Infinity) - (b.seq || Infinity) || a.createTime - b.createTime);
}

async function markRead(c) {
  if (c.conversationID !== openID || document.hidden || c.maxSeq <= c.hasReadSeq) return;
  const target = c.maxSeq;
  await post("/msg/mark_conversation_as_read", { conversationID: c.conversationID, hasReadSeq: target, seqs: [], userID: session.userID }, session.token);
  c.hasReadSeq = Math.max(c.hasReadSeq, target);
  renderList();
}

function renderMessages() {
  const list = messages.get(openID) ?? [];
  const box = $("#messages");
  box.replaceChildren(...list.map((m) => {
    if (m.contentType >= 1000) return h("li.msg.system", {}, messageText(m));
    const mine = m.sendID === session.userID;
    return h(mine ? "li.msg.mine" : "li.msg", { dataset: { seq: m.seq || "", sender: m.sendID } },
      h("div.meta", {}, `${mine ? "you" : m.senderNickname || m.sendID} · ${formatTime(m.sendTime || m.createTime).slice(11)}`),
      h("div.bubble", {}, messageText(m)));
  }));
  box.scrollTop = box.scrollHeight;
}

$("#composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#message-input");
  const text = input.value.trim();
  const c = conversations.get(openID);
  if (!text || !c) return;
  input.value = "";
  try {
    const sent = await client.sendText({ text, nickname: session.nickname, ...(c.type === GROUP_CHAT ? { groupID: c.groupID } : { recvID: c.peerID }) });
    messages.set(c.conversationID, merge(messages.get(c.conversationID) ?? [], [sent]));
    showLast(c, sent);
    c.maxSeqTime = sent.sendTime;
    renderMessages();
    renderList();
    roomError();
  } catch (err) {
    input.value = text;
    roomError(err);
  }
});

// -- pushes -------------------------------------------------------------------------------------------

let refreshTimer = 0;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => sync().catch(sideError), 300);
}

function onPushed(items) {
  let unknown = false;
  for (const { conversationID, msg, notification } of items) {
    if (notification) { unknown = true; continue; } // group created, member joined, ...: re-read the list
    let c = conversations.get(conversationID);
    if (!c) {
      const type = msg.sessionType === GROUP_CHAT ? GROUP_CHAT : SINGLE_CHAT;
      const peerID = msg.sendID === session.userID ? msg.recvID : msg.sendID;
      c = { conversationID, type, peerID, groupID: msg.groupID, name: "", last: "", maxSeq: 0, hasReadSeq: 0, maxSeqTime: 0 };
      conversations.set(conversationID, c);
      unknown = true;
    }
    c.maxSeq = Math.max(c.maxSeq, msg.seq);
    c.maxSeqTime = Math.max(c.maxSeqTime, msg.sendTime);
    if (msg.sendID === session.userID) c.hasReadSeq = Math.max(c.hasReadSeq, msg.seq);
    showLast(c, msg);
    messages.set(conversationID, merge(messages.get(conversationID) ?? [], [msg]));
    if (conversationID === openID) {
      renderMessages();
      markRead(c).catch(roomError);
    }
  }
  renderList();
  if (unknown) refreshSoon();
}

document.addEventListener("visibilitychange", () => {
  const c = conversations.get(openID);
  if (c) markRead(c).catch(roomError);
});

// -- starting a conversation --------------------------------------------------------------------------

$("#new-chat").addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = $("#new-chat-id").value.trim();
  try {
    if ($("#new-chat-kind").value === "group") {
      const found = await post("/group/get_groups_info", { groupIDs: [id] }, session.token);
      const g = (found?.groupInfos ?? [])[0];
      if (!g) throw new Error(`no group ${id}`);
      ensure(groupConversationID(id), { type: GROUP_CHAT, groupID: id, peerID: "", name: g.groupName || id });
      await open(groupConversationID(id));
    } else {
      const found = await post("/user/get_users_info", { userIDs: [id] }, session.token);
      const u = (found?.usersInfo ?? [])[0];
      if (!u) throw new Error(`no user ${id}`);
      const cid = singleConversationID(session.userID, id);
      ensure(cid, { type: SINGLE_CHAT, peerID: id, groupID: "", name: u.nickname || id });
      await open(cid);
    }
    $("#new-chat-id").value = "";
    sideError();
  } catch (err) { sideError(err); }
});

$("#new-group").addEventListener("submit", async (event) => {
  event.preventDefault();
  const members = $("#new-group-members").value.split(/[\s,]+/).filter((m) => m && m !== session.userID);
  try {
    const created = await post("/group/create_group", {
      ownerUserID: session.userID, memberUserIDs: members, adminUserIDs: [],
      groupInfo: { groupName: $("#new-group-name").value.trim(), groupType: 2, creatorUserID: session.userID },
    }, session.token);
    const g = created.groupInfo;
    ensure(groupConversationID(g.groupID), { type: GROUP_CHAT, groupID: g.groupID, peerID: "", name: g.groupName });
    $("#new-group-name").value = $("#new-group-members").value = "";
    await open(groupConversationID(g.groupID));
    sideError();
  } catch (err) { sideError(err); }
});

// Make sure a conversation is listed; fills what a pushed message could not tell (its name).
function ensure(conversationID, fields) {
  const known = conversations.get(conversationID);
  if (known) {
    if (!known.name) known.name = fields.name;
    return;
  }
  conversations.set(conversationID, { conversationID, last: "", maxSeq: 0, hasReadSeq: 0, maxSeqTime: Date.now(), ...fields });
}

// -- start --------------------------------------------------------------------------------------------

const saved = sessionStorage.getItem(SESSION_KEY);
if (saved) {
  session = JSON.parse(saved);
  enter();
} else {
  showLogin();
}
