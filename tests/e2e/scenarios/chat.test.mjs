// One-to-one chat: A sends a text to B, B answers; both messages get the conversation's seqs 1 and 2.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import {
  ContentType,
  MessageStatus,
  SessionType,
  cleanup,
  createUsers,
  eventually,
  loginSDK,
  singleConversationID,
  textOf,
} from '../lib/harness.mjs';

after(cleanup);

test('A and B exchange one text each; seqs are 1 and 2', { timeout: 60_000 }, async () => {
  const { alice, bob } = await createUsers('chat', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);
  const conversationID = singleConversationID(alice.userID, bob.userID);

  // A -> B
  const hello = `hello bob ${Date.now()}`;
  const draft = await a.call('createTextMessage', hello);
  assert.equal(draft.status, MessageStatus.Sending);
  assert.equal(textOf(draft), hello);
  const sent = await a.call('sendMessage', { recvID: bob.userID, groupID: '', message: draft });
  assert.equal(sent.status, MessageStatus.Succeed, 'sendMessage resolves with status 2 (succeeded)');
  assert.equal(sent.clientMsgID, draft.clientMsgID);
  assert.equal(typeof sent.serverMsgID, 'string');
  assert.ok(sent.serverMsgID.length > 0, 'the ack carries a serverMsgID');
  assert.ok(Number.isInteger(sent.sendTime) && sent.sendTime > 0, 'the ack carries a sendTime');

  const got = await b.waitForMessage((m) => m.clientMsgID === draft.clientMsgID, 10_000, 'the message from A');
  assert.equal(got.sendID, alice.userID);
  assert.equal(got.recvID, bob.userID);
  assert.equal(got.sessionType, SessionType.Single);
  assert.equal(got.contentType, ContentType.Text);
  assert.equal(textOf(got), hello);
  assert.equal(got.serverMsgID, sent.serverMsgID, 'same serverMsgID as in the ack');
  assert.equal(got.sendTime, sent.sendTime, 'same sendTime as in the ack');
  assert.equal(got.seq, 1, 'first message of the conversation has seq 1');
  assert.equal(got.status, MessageStatus.Succeed);
  assert.equal(got.senderNickname, alice.nickname);

  // B -> A
  const reply = `hi alice ${Date.now()}`;
  const replySent = await b.sendText(alice.userID, reply);
  assert.equal(replySent.status, MessageStatus.Succeed);
  assert.ok(replySent.serverMsgID);
  assert.notEqual(replySent.serverMsgID, sent.serverMsgID);

  const gotReply = await a.waitForMessage((m) => m.clientMsgID === replySent.clientMsgID, 10_000, "B's reply");
  assert.equal(gotReply.sendID, bob.userID);
  assert.equal(gotReply.recvID, alice.userID);
  assert.equal(textOf(gotReply), reply);
  assert.equal(gotReply.seq, 2, 'second message of the conversation has seq 2');
  assert.equal(gotReply.serverMsgID, replySent.serverMsgID);

  // Each message reached its recipient exactly once, and the sender's own echo (pushed with the
  // operationID of the send request) was not shown to the sender as a new message.
  assert.equal(b.received().filter((m) => m.clientMsgID === draft.clientMsgID).length, 1);
  assert.equal(a.received().filter((m) => m.clientMsgID === replySent.clientMsgID).length, 1);
  assert.equal(a.received().filter((m) => m.clientMsgID === draft.clientMsgID).length, 0, 'A not told about its own message');
  assert.equal(b.received().filter((m) => m.clientMsgID === replySent.clientMsgID).length, 0, 'B not told about its own message');
  for (const client of [a, b]) {
    for (const record of client.events.all(CbEvents.OnRecvNewMessages)) {
      for (const m of record.data) assert.ok(m.seq > 0, `[${client.label}] pushed message has a seq`);
    }
  }

  // Both histories hold the two messages, in order, with seqs 1 and 2 (a session learns about its
  // own message from the echo push, which may still be on its way: retry briefly).
  for (const client of [a, b]) {
    await eventually(
      async () => {
        const page = await client.history(conversationID, { count: 20 });
        assert.deepEqual(
          page.messageList.map((m) => [m.seq, m.clientMsgID, textOf(m)]),
          [
            [1, draft.clientMsgID, hello],
            [2, replySent.clientMsgID, reply],
          ],
          `[${client.label}] history`,
        );
        assert.equal(page.isEnd, true);
      },
      { timeoutMs: 5_000, what: `[${client.label}] history with both messages` },
    );
  }
});
