// Conversations and read receipts: after A sends 3 messages the conversation list of each side shows
// the chat with the peer, the latest message and the unread count; B marks the conversation as read,
// B's unread drops to 0 and A gets OnRecvC2CReadReceipt for its 3 messages; B's answer then makes
// A's unread count 1.
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

async function findConversation(client, conversationID, check = () => {}) {
  return eventually(
    async () => {
      const list = await client.conversations();
      const matches = list.filter((c) => c.conversationID === conversationID);
      assert.equal(matches.length, 1, `exactly one ${conversationID} in [${list.map((c) => c.conversationID).join(', ')}]`);
      check(matches[0]);
      return matches[0];
    },
    { timeoutMs: 10_000, what: `[${client.label}] conversation ${conversationID}` },
  );
}

test('conversation list, unread counts and read receipts', { timeout: 90_000 }, async () => {
  const { alice, bob } = await createUsers('conv', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);
  const conversationID = singleConversationID(alice.userID, bob.userID);

  // A sends three messages; each is awaited on B's side before the next (the SDK creates the
  // conversation entry on the first push, later pushes bump its unread count).
  // The first push makes the SDK fetch the new conversation in the background and raise
  // OnNewConversation when that fetch lands; a conversation-list call meanwhile fetches it again.
  // The SDK caches whichever answer lands last, so a first fetch that is still in flight when
  // message 2 arrives would overwrite the bumped count with its older one (an SDK race that any
  // server's timing can hit, seen under load). Waiting for OnNewConversation lets it land first.
  const sinceB = b.events.mark();
  const sent = [];
  for (let i = 1; i <= 3; i += 1) {
    const m = await a.sendText(bob.userID, `message ${i} for bob`);
    sent.push(m);
    await b.waitForMessage((x) => x.clientMsgID === m.clientMsgID, 10_000, `message ${i}`);
    if (i === 1) {
      await b.events.waitFor(
        CbEvents.OnNewConversation,
        (r) => r.data?.some((c) => c.conversationID === conversationID),
        10_000,
        { since: sinceB },
      );
      await findConversation(b, conversationID, (c) => assert.equal(c.unreadCount, 1, 'B unread after one'));
    }
  }

  // B's view: chat with A, unread 3, latest = message 3.
  const bConv = await findConversation(b, conversationID, (c) => assert.equal(c.unreadCount, 3, 'B unread'));
  assert.equal(bConv.conversationType, SessionType.Single);
  assert.equal(bConv.userID, alice.userID);
  assert.equal(bConv.showName, alice.nickname);
  const bLatest = JSON.parse(bConv.latestMsg);
  assert.equal(bLatest.clientMsgID, sent[2].clientMsgID);
  assert.equal(textOf(bLatest), 'message 3 for bob');

  // A's view: chat with B, nothing unread, latest = message 3.
  const aConv = await findConversation(a, conversationID, (c) => {
    assert.equal(JSON.parse(c.latestMsg).clientMsgID, sent[2].clientMsgID, 'A latest message');
  });
  assert.equal(aConv.conversationType, SessionType.Single);
  assert.equal(aConv.userID, bob.userID);
  assert.equal(aConv.showName, bob.nickname);
  assert.equal(aConv.unreadCount, 0, 'A unread');

  // B reads the conversation.
  const sinceA = a.events.mark();
  await b.call('markConversationMessageAsRead', conversationID);
  await findConversation(b, conversationID, (c) => assert.equal(c.unreadCount, 0, 'B unread after reading'));

  const receipt = await a.events.waitFor(CbEvents.OnRecvC2CReadReceipt, () => true, 10_000, { since: sinceA });
  assert.ok(Array.isArray(receipt.data) && receipt.data.length === 1, 'one receipt entry');
  const [info] = receipt.data;
  assert.equal(info.userID, bob.userID, 'the reader is B');
  assert.equal(info.sessionType, SessionType.Single);
  assert.deepEqual(
    [...info.msgIDList].sort(),
    sent.map((m) => m.clientMsgID).sort(),
    'the receipt names the 3 messages B read',
  );
  assert.ok(info.readTime > 0, 'readTime set');
  assert.equal(b.events.count(CbEvents.OnRecvC2CReadReceipt), 0, 'the reader gets no receipt for its own read');

  // B answers: A has one unread message, the latest one.
  const answer = await b.sendText(alice.userID, 'read them all');
  await a.waitForMessage((m) => m.clientMsgID === answer.clientMsgID, 10_000, "B's answer");
  const aConv2 = await findConversation(a, conversationID, (c) => {
    assert.equal(c.unreadCount, 1, 'A unread after the answer');
    assert.equal(JSON.parse(c.latestMsg).clientMsgID, answer.clientMsgID, 'A latest message');
  });
  assert.equal(textOf(JSON.parse(aConv2.latestMsg)), 'read them all');
});
