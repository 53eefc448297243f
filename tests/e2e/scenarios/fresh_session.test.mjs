// What a new session (a new device, a new login) gets from the server alone, with no SDK cache:
// 1. read ticks: after B read A's messages, A's own messages pulled by A's next session are read
//    (isRead true), as the read receipt showed them live;
// 2. a cleared chat: after B cleared the conversation and logged in again, B can still open it
//    (getOneConversation) and write to A, and the conversation list shows it with no latest message.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import {
  SessionType,
  cleanup,
  createUsers,
  eventually,
  loginSDK,
  singleConversationID,
  textOf,
} from '../lib/harness.mjs';

after(cleanup);

test("a new session of the sender sees the peer's read marks on its own messages", { timeout: 90_000 }, async () => {
  const { alice, bob } = await createUsers('fresh', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);
  const conversationID = singleConversationID(alice.userID, bob.userID);

  const sent = [];
  for (let i = 1; i <= 2; i += 1) {
    const m = await a.sendText(bob.userID, `read me ${i}`);
    sent.push(m);
    await b.waitForMessage((x) => x.clientMsgID === m.clientMsgID, 10_000, `message ${i}`);
  }
  const sinceA = a.events.mark();
  await eventually(() => b.call('markConversationMessageAsRead', conversationID), {
    what: '[bob] markConversationMessageAsRead',
  });
  await a.events.waitFor(CbEvents.OnRecvC2CReadReceipt, () => true, 10_000, { since: sinceA });
  // A third message B has not read yet: it must stay unread.
  const unread = await a.sendText(bob.userID, 'not read yet');
  await b.waitForMessage((x) => x.clientMsgID === unread.clientMsgID, 10_000, 'message 3');

  await a.logout();
  const a2 = await loginSDK({ userID: alice.userID, label: 'alice-again' });
  const page = await eventually(
    async () => {
      const p = await a2.history(conversationID, { count: 20 });
      assert.equal(p.messageList.length, 3, 'three messages in the history of the new session');
      return p;
    },
    { what: '[alice-again] history' },
  );
  assert.deepEqual(
    page.messageList.map((m) => [m.clientMsgID, m.isRead]),
    [
      [sent[0].clientMsgID, true],
      [sent[1].clientMsgID, true],
      [unread.clientMsgID, false],
    ],
    "the messages B read are read in A's new session, the one B did not read is not",
  );
  assert.deepEqual(
    page.messageList.map((m) => textOf(m)),
    ['read me 1', 'read me 2', 'not read yet'],
  );
});

test('after clearing a chat and logging in again, B can open it and write to A', { timeout: 90_000 }, async () => {
  const { alice, bob } = await createUsers('cleared', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);
  const conversationID = singleConversationID(alice.userID, bob.userID);
  const first = await a.sendText(bob.userID, 'before the clear');
  await b.waitForMessage((x) => x.clientMsgID === first.clientMsgID, 10_000, 'the message from A');

  // "Clear chat" in the SDK: /msg/clear_conversation_msg for B only.
  await b.call('deleteConversationAndDeleteAllMsg', conversationID);
  await b.logout();

  const b2 = await loginSDK({ userID: bob.userID, label: 'bob-again' });
  const conv = await b2.call('getOneConversation', { sourceID: alice.userID, sessionType: SessionType.Single });
  assert.equal(conv.conversationID, conversationID);
  assert.equal(conv.userID, alice.userID);
  assert.equal(conv.showName, alice.nickname);
  assert.equal(conv.latestMsg, '', 'nothing left to show as the latest message');
  assert.equal(conv.unreadCount, 0);
  const listed = await b2.conversations();
  assert.deepEqual(
    listed.filter((c) => c.conversationID === conversationID).map((c) => c.latestMsg),
    [''],
    'the cleared conversation is in the list, with no latest message',
  );
  const history = await b2.history(conversationID, { count: 20 });
  assert.equal(history.messageList.length, 0, 'the cleared message stays cleared');

  const answer = await b2.sendText(alice.userID, 'after the clear');
  const got = await a.waitForMessage((m) => m.clientMsgID === answer.clientMsgID, 10_000, "B's message");
  assert.equal(textOf(got), 'after the clear');
  assert.equal(got.seq, 2);
});
