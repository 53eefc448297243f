// Burst: A fires 50 messages at B at once. The SDK queues sendMessage calls and sends the next one
// only after the previous ack, so the server sees them back to back on one connection. B must get
// each exactly once, in send order, with seqs 1..50; both histories must hold all 50 in order, and
// so must the server's copy read by a fresh session (paged through the SDK's history API).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MessageStatus,
  cleanup,
  createUsers,
  eventually,
  loginSDK,
  singleConversationID,
  sleep,
  textOf,
} from '../lib/harness.mjs';

after(cleanup);

const COUNT = 50;

test(`A sends ${COUNT} messages back to back; B gets all, once, in order`, { timeout: 110_000 }, async () => {
  const { alice, bob } = await createUsers('burst', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);
  const conversationID = singleConversationID(alice.userID, bob.userID);

  const texts = Array.from({ length: COUNT }, (_, i) => `burst ${i + 1}/${COUNT} ${Date.now()}`);
  const drafts = [];
  for (const text of texts) drafts.push(await a.call('createTextMessage', text));
  const expectedIDs = drafts.map((d) => d.clientMsgID);
  assert.equal(new Set(expectedIDs).size, COUNT, 'distinct clientMsgIDs');

  // Fire all sends at once; the SDK's queue serialises them.
  a.callTimeoutMs = 60_000;
  const sent = await Promise.all(
    drafts.map((message) => a.call('sendMessage', { recvID: bob.userID, groupID: '', message })),
  );
  assert.deepEqual(
    sent.map((m) => m.clientMsgID),
    expectedIDs,
  );
  for (const m of sent) assert.equal(m.status, MessageStatus.Succeed, `status of ${m.clientMsgID}`);
  assert.equal(new Set(sent.map((m) => m.serverMsgID)).size, COUNT, 'distinct serverMsgIDs');

  const mine = new Set(expectedIDs);
  await b.events.waitUntil(
    () => b.received().filter((m) => mine.has(m.clientMsgID)).length >= COUNT,
    30_000,
    `${COUNT} messages from A`,
  );
  await sleep(500); // let duplicates, if any, arrive
  const got = b.received().filter((m) => mine.has(m.clientMsgID));
  assert.equal(got.length, COUNT, 'each message delivered exactly once');
  assert.deepEqual(
    got.map((m) => m.clientMsgID),
    expectedIDs,
    'delivered in send order',
  );
  assert.deepEqual(
    got.map((m) => m.seq),
    Array.from({ length: COUNT }, (_, i) => i + 1),
    'seqs are 1..50, strictly consecutive',
  );
  assert.deepEqual(got.map(textOf), texts);
  assert.deepEqual(
    got.map((m) => m.serverMsgID),
    sent.map((m) => m.serverMsgID),
    'serverMsgIDs match the acks',
  );
  assert.equal(a.received().filter((m) => mine.has(m.clientMsgID)).length, 0, 'no echo shown to the sender');

  // Live histories on both sides.
  for (const client of [a, b]) {
    await eventually(
      async () => {
        const page = await client.history(conversationID, { count: 100 });
        assert.deepEqual(
          page.messageList.map((m) => [m.seq, m.clientMsgID]),
          expectedIDs.map((id, i) => [i + 1, id]),
          `[${client.label}] history holds all ${COUNT} in order`,
        );
        assert.equal(page.isEnd, true);
      },
      { timeoutMs: 5_000, what: `[${client.label}] live history` },
    );
  }

  // A fresh session of B has no cache: its history comes from the server (WS 1006 + 1005).
  await b.logout();
  const b2 = await loginSDK({ userID: bob.userID, label: 'bob-again' });
  const pages = [];
  let start = '';
  for (let i = 0; i < 5; i += 1) {
    const page = await b2.history(conversationID, { count: 20, startClientMsgID: start });
    pages.push(page);
    if (page.isEnd || page.messageList.length === 0) break;
    start = page.messageList[0].clientMsgID;
  }
  assert.deepEqual(
    pages.map((p) => p.messageList.length),
    [20, 20, 10],
    'pages of 20, 20 and 10 messages (newest first)',
  );
  assert.deepEqual(
    pages.map((p) => p.isEnd),
    [false, false, true],
  );
  const fromServer = pages
    .slice()
    .reverse()
    .flatMap((p) => p.messageList);
  assert.deepEqual(
    fromServer.map((m) => [m.seq, m.clientMsgID, textOf(m), m.sendID]),
    expectedIDs.map((id, i) => [i + 1, id, texts[i], alice.userID]),
    'server history: all 50, in order, with their texts',
  );
});
