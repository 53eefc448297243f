// Just enough protobuf (proto3 wire format) for the OpenIM gateway messages the demo sends and reads.
//
// A schema maps field names to [number, type] where type is "string", "bytes", "bool", "int32", "int64",
// another schema (a sub-message), ["repeated", type] or ["map", keyType, valueType]. 64-bit integers are
// JavaScript numbers: seqs and millisecond times stay far below 2^53. Encoding skips proto3 defaults;
// decoding accepts packed and unpacked repeated scalars and skips unknown fields.

const VARINT = 0, I64 = 1, LEN = 2, I32 = 5;
const SCALAR_WIRE = { string: LEN, bytes: LEN, bool: VARINT, int32: VARINT, int64: VARINT };
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

class Writer {
  constructor() { this.bytes = []; }
  varint(value) {
    let n = Number(value);
    if (n < 0) throw new RangeError("negative varints are not needed here");
    while (n >= 0x80) { this.bytes.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
    this.bytes.push(n);
  }
  tag(number, wire) { this.varint(number * 8 + wire); }
  chunk(data) { this.varint(data.length); for (const b of data) this.bytes.push(b); }
  finish() { return Uint8Array.from(this.bytes); }
}

function isDefault(type, value) {
  if (value === undefined || value === null) return true;
  if (typeof type === "object" && !Array.isArray(type)) return false;
  return value === "" || value === 0 || value === false || (value instanceof Uint8Array && value.length === 0);
}

function writeValue(w, number, type, value) {
  if (typeof type === "object") { w.tag(number, LEN); w.chunk(encode(type, value)); return; }
  w.tag(number, SCALAR_WIRE[type]);
  if (type === "string") w.chunk(utf8.encode(value));
  else if (type === "bytes") w.chunk(value);
  else w.varint(type === "bool" ? (value ? 1 : 0) : value);
}

export function encode(schema, message) {
  const w = new Writer();
  for (const [name, [number, type]] of Object.entries(schema)) {
    const value = message?.[name];
    if (Array.isArray(type) && type[0] === "repeated") {
      const items = value ?? [];
      if (!items.length) continue;
      const inner = type[1];
      if (inner === "int32" || inner === "int64" || inner === "bool") { // packed
        const packed = new Writer();
        for (const item of items) packed.varint(inner === "bool" ? (item ? 1 : 0) : item);
        w.tag(number, LEN);
        w.chunk(packed.bytes);
      } else {
        for (const item of items) writeValue(w, number, inner, item);
      }
    } else if (Array.isArray(type) && type[0] === "map") {
      for (const [k, v] of Object.entries(value ?? {})) {
        w.tag(number, LEN);
        w.chunk(encode({ key: [1, type[1]], value: [2, type[2]] }, { key: k, value: v }));
      }
    } else if (!isDefault(type, value)) {
      writeValue(w, number, type, value);
    }
  }
  return w.finish();
}

class Reader {
  constructor(bytes) { this.bytes = bytes; this.pos = 0; }
  get done() { return this.pos >= this.bytes.length; }
  varint() {
    let result = 0, scale = 1;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new RangeError("truncated varint");
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
  }
  chunk() {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.bytes.length) throw new RangeError("truncated field");
    const data = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return data;
  }
  skip(wire) {
    if (wire === VARINT) this.varint();
    else if (wire === I64) this.pos += 8;
    else if (wire === LEN) this.chunk();
    else if (wire === I32) this.pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
}

function readScalar(type, wire, r) {
  if (typeof type === "object") return decode(type, r.chunk());
  if (type === "string") return fromUtf8.decode(r.chunk());
  if (type === "bytes") return r.chunk().slice();
  const n = r.varint();
  if (type === "bool") return n !== 0;
  // int32 negatives arrive as 10-byte two's complement: fold them back.
  if (type === "int32" && n >= 2 ** 31) return n - 2 ** 64;
  return n;
}

function defaults(schema) {
  const out = {};
  for (const [name, [, type]] of Object.entries(schema)) {
    if (Array.isArray(type)) out[name] = type[0] === "map" ? {} : [];
    else if (typeof type === "object") out[name] = null;
    else out[name] = { string: "", bytes: new Uint8Array(), bool: false }[type] ?? 0;
  }
  return out;
}

export function decode(schema, bytes) {
  const byNumber = new Map(Object.entries(schema).map(([name, [number, type]]) => [number, [name, type]]));
  const out = defaults(schema);
  const r = new Reader(bytes);
  while (!r.done) {
    const key = r.varint();
    const number = Math.floor(key / 8), wire = key % 8;
    const field = byNumber.get(number);
    if (!field) { r.skip(wire); continue; }
    const [name, type] = field;
    if (Array.isArray(type) && type[0] === "map") {
      const entry = decode({ key: [1, type[1]], value: [2, type[2]] }, r.chunk());
      out[name][entry.key] = entry.value;
    } else if (Array.isArray(type) && type[0] === "repeated") {
      const inner = type[1];
      if (wire === LEN && typeof inner === "string" && SCALAR_WIRE[inner] === VARINT) {
        const packed = new Reader(r.chunk());
        while (!packed.done) out[name].push(readScalar(inner, VARINT, packed));
      } else {
        out[name].push(readScalar(inner, wire, r));
      }
    } else {
      out[name] = readScalar(type, wire, r);
    }
  }
  return out;
}

export function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// -- the OpenIM messages used by the demo (websocket-gateway.md section 5) --------------------------------

export const MsgData = {
  sendID: [1, "string"], recvID: [2, "string"], groupID: [3, "string"], clientMsgID: [4, "string"],
  serverMsgID: [5, "string"], senderPlatformID: [6, "int32"], senderNickname: [7, "string"],
  senderFaceURL: [8, "string"], sessionType: [9, "int32"], msgFrom: [10, "int32"], contentType: [11, "int32"],
  content: [12, "bytes"], seq: [14, "int64"], sendTime: [15, "int64"], createTime: [16, "int64"],
  status: [17, "int32"], isRead: [18, "bool"], options: [19, ["map", "string", "bool"]],
  atUserIDList: [21, ["repeated", "string"]], attachedInfo: [22, "string"], ex: [23, "string"],
};
export const SendMsgResp = { serverMsgID: [1, "string"], clientMsgID: [2, "string"], sendTime: [3, "int64"] };
export const PullMsgs = { Msgs: [1, ["repeated", MsgData]], isEnd: [2, "bool"] };
export const PushMessages = { msgs: [1, ["map", "string", PullMsgs]], notificationMsgs: [2, ["map", "string", PullMsgs]] };
export const GetConversationsHasReadAndMaxSeqReq = { userID: [1, "string"], conversationIDs: [2, ["repeated", "string"]] };
const Seqs = { maxSeq: [1, "int64"], hasReadSeq: [2, "int64"], maxSeqTime: [3, "int64"] };
export const GetConversationsHasReadAndMaxSeqResp = { seqs: [1, ["map", "string", Seqs]] };
const ConversationSeqs = { conversationID: [2, "string"], seqs: [3, ["repeated", "int64"]] };
export const GetSeqMessageReq = { userID: [1, "string"], conversations: [2, ["repeated", ConversationSeqs]] };
export const GetSeqMessageResp = { msgs: [1, ["map", "string", PullMsgs]], notificationMsgs: [2, ["map", "string", PullMsgs]] };
