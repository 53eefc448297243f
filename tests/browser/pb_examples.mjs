// Checks openim/web/demo/pb.js against the worked examples of websocket-gateway.md section 8.
// Usage: node pb_examples.mjs /path/to/pb.js   (exit 1 and a message on the first mismatch)
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";

const pb = await import(pathToFileURL(process.argv[2]).href);
const utf8 = (s) => new TextEncoder().encode(s);

// C 1003: MsgData{sendID u1, recvID u2, clientMsgID c1, senderPlatformID 5, sessionType 1, msgFrom 100,
// contentType 101, content {"content":"hi"}, createTime 1700000000000, status 1}
assert.equal(pb.toBase64(pb.encode(pb.MsgData, {
  sendID: "u1", recvID: "u2", clientMsgID: "c1", senderPlatformID: 5, sessionType: 1, msgFrom: 100,
  contentType: 101, content: utf8('{"content":"hi"}'), createTime: 1700000000000, status: 1,
})), "CgJ1MRICdTIiAmMxMAVIAVBkWGViEHsiY29udGVudCI6ImhpIn2AAYDQlf+8MYgBAQ==");

// C 1006 and C 1005 (packed seqs, field numbers starting at 2)
assert.equal(pb.toBase64(pb.encode(pb.GetConversationsHasReadAndMaxSeqReq, { userID: "u1" })), "CgJ1MQ==");
assert.equal(pb.toBase64(pb.encode(pb.GetSeqMessageReq, {
  userID: "u1", conversations: [{ conversationID: "si_u1_u2", seqs: [3, 2, 1] }],
})), "CgJ1MRIPEghzaV91MV91MhoDAwIB");

// S 1006, S 1003, S 2001
assert.deepEqual(pb.decode(pb.GetConversationsHasReadAndMaxSeqResp, pb.fromBase64("ChcKCHNpX3UxX3UyEgsIAxACGIDQlf+8MQ==")),
  { seqs: { si_u1_u2: { maxSeq: 3, hasReadSeq: 2, maxSeqTime: 1700000000000 } } });
assert.deepEqual(pb.decode(pb.SendMsgResp, pb.fromBase64("CgJzMRICYzEY+9CV/7wx")),
  { serverMsgID: "s1", clientMsgID: "c1", sendTime: 1700000000123 });
const push = pb.decode(pb.PushMessages, pb.fromBase64(
  "CkwKCHNpX3UxX3UyEkAKPgoCdTESAnUyIgJjMSoCczEwBUgBUGRYZWIQeyJjb250ZW50IjoiaGkifXABePvQlf+8MYABgNCV/7wxiAEC"));
const [msg] = push.msgs.si_u1_u2.Msgs;
assert.deepEqual([msg.sendID, msg.recvID, msg.serverMsgID, msg.seq, msg.status, msg.sendTime],
  ["u1", "u2", "s1", 1, 2, 1700000000123]);
assert.equal(new TextDecoder().decode(msg.content), '{"content":"hi"}');

// Round trip of what the demo reads: unknown fields skipped, maps and repeated messages kept.
const again = pb.decode(pb.GetSeqMessageResp, pb.encode(pb.GetSeqMessageResp, { msgs: push.msgs }));
assert.equal(again.msgs.si_u1_u2.Msgs[0].clientMsgID, "c1");
console.log("pb.js: all protocol examples match");
