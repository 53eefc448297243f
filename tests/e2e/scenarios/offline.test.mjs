// Offline delivery: B has logged out; A sends 5 messages; B logs in again with a new session and
// finds them through sync: the conversation (unread 5, latest message) and the history.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ContentType,
  SessionType,
  cleanup,
  createUsers,
  eventually,
  loginSDK,
  singleConversationID,
  textOf,
} from '../lib/harness.mjs';

after(cleanup);

const COUNT = 5;

test('messages sent while B is offline are recovered at the next login', { timeout: 90_000 }, async () => {
  const { alice, bob } = await createUsers('offline', ['alice', 'bob']);
  const conversationID = singleConversationID(alice.userID, bob.userID);

  // B has been online once and then left.
  const bFirst = await loginSDK({ userID: bob.userID, label: 'bob-first' });
  await bFirst.logout();

  const a = await loginSDK({ userID: alice.userID, label: 'alice' });
  const texts = Array.from({ length: COUNT }, (_, i) => `while you were away ${i + 1} ${Date.now()}`);
  const sent = [];
  for (const text of texts) sent.push(await a.sendText(bob.userID, text));
  assert.equal(new Set(sent.map((m) => m.serverMsgID)).size, COUNT);

  const b = await loginSDK({ userID: bob.userID, label: 'bob-back' });

  // Conversation list: the chat with A, 5 unread, latest message = the 5th.
  const conversation = await eventually(
    async () => {
      const list = await b.conversations();
      const found = list.find((c) => c.conversationID === conversationID);
      assert.ok(found, `conversation ${conversationID} in [${list.map((c) => c.conversationID).join(', ')}]`);
      return found;
    },
    { timeoutMs: 10_000, what: "B's conversation list shows the chat with A" },
  );
  assert.equal(conversation.conversationType, SessionType.Single);
  assert.equal(conversation.userID, alice.userID, "the conversation's peer is A");
  assert.equal(conversation.showName, alice.nickname, "shown with A's nickname");
  assert.equal(conversation.unreadCount, COUNT, 'unread count');
  const latest = JSON.parse(conversation.latestMsg);
  assert.equal(latest.clientMsgID, sent[COUNT - 1].clientMsgID, 'latest message is the last one sent');
  assert.equal(latest.contentType, ContentType.Text);
  assert.equal(textOf(latest), texts[COUNT - 1]);
  assert.equal(latest.seq, COUNT);
  assert.equal(conversation.latestMsgSendTime, sent[COUNT - 1].sendTime);

  // Total unread as computed by the server at sync (jssdk/get_active_conversations).
  assert.equal(await b.call('getTotalUnreadMsgCount'), COUNT, 'total unread');

  // History: the 5 messages in order.
  const page = await b.history(conversationID, { count: 20 });
  assert.deepEqual(
    page.messageList.map((m) => [m.seq, m.clientMsgID, m.sendID, m.recvID, textOf(m)]),
    sent.map((m, i) => [i + 1, m.clientMsgID, alice.userID, bob.userID, texts[i]]),
  );
  assert.equal(page.isEnd, true);
  for (const [i, m] of page.messageList.entries()) {
    assert.equal(m.serverMsgID, sent[i].serverMsgID, `serverMsgID of message ${i + 1}`);
    assert.equal(m.sendTime, sent[i].sendTime, `sendTime of message ${i + 1}`);
  }
});
