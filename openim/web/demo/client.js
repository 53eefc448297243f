// A small OpenIM message-gateway client (websocket-gateway.md sections 1, 2, 4, 7): the handshake query
// and its first text frame, binary JSON envelopes carrying base64 protobuf, 1003 send, 1005 pull by seqs,
// 1006 read/max seqs, 2001 pushes and the 2002 kick; text pings every 10 s; reconnects after 3 s.

import * as pb from "/ui/demo/pb.js";

const HEARTBEAT_MS = 10_000;
const RECONNECT_MS = 3_000;
export const SINGLE_CHAT = 1, GROUP_CHAT = 3, TEXT = 101, PLATFORM_WEB = 5;
const encoder = new TextEncoder(), decoder = new TextDecoder();

export function randomID() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function singleConversationID(a, b) {
  return `si_${[a, b].sort().join("_")}`;
}

export function groupConversationID(groupID) {
  return `sg_${groupID}`;
}

// Group notifications the server also copies into the group chat (rest-api.md section 9).
const NOTIFICATIONS = {
  1501: "group created", 1502: "group info changed", 1504: "a member left", 1507: "group owner changed",
  1508: "members removed", 1509: "members invited", 1510: "a member joined", 1511: "group dismissed",
  1512: "a member was muted", 1513: "a member was unmuted", 1514: "group muted", 1515: "group unmuted",
  1519: "announcement changed", 1520: "group renamed",
};

// The text a message shows in a chat: the element's text for text-like types, a label for the rest.
export function messageText(msg) {
  let content = {};
  try { content = JSON.parse(decoder.decode(msg.content)); } catch { /* not JSON: shown by its type */ }
  if (msg.contentType === TEXT) return String(content.content ?? "");
  if (msg.contentType === 106) return String(content.text ?? "");
  if (msg.contentType === 114) return String(content.text ?? "");
  if (msg.contentType >= 1000) return `(${NOTIFICATIONS[msg.contentType] ?? `notification ${msg.contentType}`})`;
  return `(message of type ${msg.contentType})`;
}

export class GatewayError extends Error {
  constructor(errCode, errMsg) {
    super(`${errCode} ${errMsg}`);
    this.errCode = errCode;
  }
}

// Events: "connected" (every successful (re)connect), "disconnected", "messages" (detail: [{conversationID,
// msg, notification}]), "kicked" (the server ended this session; no reconnect).
export class GatewayClient extends EventTarget {
  constructor({ wsAddr, userID, token, platformID = PLATFORM_WEB }) {
    super();
    Object.assign(this, { wsAddr, userID, token, platformID });
    this.pending = new Map();
    this.ws = null;
    this.closed = false;
    this.heartbeat = 0;
    this.reconnectTimer = 0;
  }

  url() {
    const query = new URLSearchParams({
      sendID: this.userID, token: this.token, platformID: String(this.platformID), operationID: randomID(),
      isBackground: "false", isMsgResp: "true", sdkType: "js",
    });
    return `${this.wsAddr.replace(/\/+$/, "")}/?${query}`;
  }

  // Resolves once the server's first text frame says errCode 0; rejects with its error otherwise.
  connect() {
    return new Promise((resolve, reject) => {
      let settled = false;
      const ws = new WebSocket(this.url());
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      ws.onmessage = (event) => {
        if (typeof event.data !== "string") return this.onEnvelope(event.data);
        const frame = JSON.parse(event.data);
        if (frame.type === "pong") return;
        if (frame.errCode === 0) {
          settled = true;
          this.startHeartbeat();
          resolve();
          this.dispatchEvent(new Event("connected"));
        } else {
          settled = true;
          this.closed = frame.errCode >= 1501 && frame.errCode <= 1507; // a dead token: retrying is futile
          reject(new GatewayError(frame.errCode, frame.errMsg || frame.errDlt));
          if (frame.errCode === 1506) this.dispatchEvent(new Event("kicked"));
          ws.close();
        }
      };
      ws.onclose = () => {
        clearInterval(this.heartbeat);
        for (const { reject: fail } of this.pending.values()) fail(new GatewayError(10000, "connection closed"));
        this.pending.clear();
        if (!settled) reject(new GatewayError(10000, "could not connect to the gateway"));
        this.dispatchEvent(new Event("disconnected"));
        if (!this.closed) this.reconnectTimer = setTimeout(() => this.connect().catch(() => {}), RECONNECT_MS);
      };
    });
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "ping" }));
    }, HEARTBEAT_MS);
  }

  close() {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeat);
    this.ws?.close();
  }

  onEnvelope(buffer) {
    const env = JSON.parse(decoder.decode(buffer));
    if (env.reqIdentifier === 2001 && env.data) {
      const push = pb.decode(pb.PushMessages, pb.fromBase64(env.data));
      const items = [];
      for (const [notification, map] of [[false, push.msgs], [true, push.notificationMsgs]]) {
        for (const [conversationID, pulled] of Object.entries(map)) {
          for (const msg of pulled.Msgs) items.push({ conversationID, msg, notification });
        }
      }
      this.dispatchEvent(new CustomEvent("messages", { detail: items }));
      return;
    }
    if (env.reqIdentifier === 2002) {
      this.closed = true;
      this.dispatchEvent(new Event("kicked"));
      this.ws?.close();
      return;
    }
    const waiter = this.pending.get(env.msgIncr);
    if (!waiter) return;
    this.pending.delete(env.msgIncr);
    if (env.errCode !== 0) waiter.reject(new GatewayError(env.errCode, env.errMsg));
    else waiter.resolve(env.data ? pb.decode(waiter.schema, pb.fromBase64(env.data)) : null);
  }

  request(reqIdentifier, reqSchema, message, respSchema) {
    if (this.ws?.readyState !== WebSocket.OPEN) return Promise.reject(new GatewayError(10000, "not connected"));
    const msgIncr = randomID();
    const envelope = {
      reqIdentifier, msgIncr, sendID: this.userID, operationID: randomID(),
      data: pb.toBase64(pb.encode(reqSchema, message)),
    };
    return new Promise((resolve, reject) => {
      this.pending.set(msgIncr, { resolve, reject, schema: respSchema });
      this.ws.send(encoder.encode(JSON.stringify(envelope)));
    });
  }

  // 1006: {conversationID: {maxSeq, hasReadSeq, maxSeqTime}} of every conversation of this user.
  async conversationSeqs() {
    const resp = await this.request(1006, pb.GetConversationsHasReadAndMaxSeqReq, { userID: this.userID, conversationIDs: [] }, pb.GetConversationsHasReadAndMaxSeqResp);
    return resp?.seqs ?? {};
  }

  // 1005: the messages of explicit seqs, per conversation ({conversationID: [MsgData]}).
  async pull(seqsByConversation) {
    const conversations = Object.entries(seqsByConversation).filter(([, seqs]) => seqs.length).map(([conversationID, seqs]) => ({ conversationID, seqs }));
    if (!conversations.length) return {};
    const resp = await this.request(1005, pb.GetSeqMessageReq, { userID: this.userID, conversations }, pb.GetSeqMessageResp);
    const out = {};
    for (const [cid, pulled] of Object.entries(resp?.msgs ?? {})) out[cid] = pulled.Msgs.filter((m) => m.status !== 4 && m.status !== 5);
    return out;
  }

  // 1003: send a text to a user (recvID) or a group (groupID); resolves with the stored message's fields.
  async sendText({ recvID = "", groupID = "", text, nickname = "" }) {
    const msg = {
      sendID: this.userID, recvID, groupID, clientMsgID: randomID(), senderPlatformID: this.platformID,
      senderNickname: nickname, sessionType: groupID ? GROUP_CHAT : SINGLE_CHAT, msgFrom: 100, contentType: TEXT,
      content: encoder.encode(JSON.stringify({ content: text })), createTime: Date.now(), status: 1,
    };
    const resp = await this.request(1003, pb.MsgData, msg, pb.SendMsgResp);
    return { ...msg, serverMsgID: resp.serverMsgID, sendTime: resp.sendTime, status: 2 };
  }
}
