// Revoke: A sends a text to B and revokes it. B is told (OnNewRecvMessageRevoked) and its history
// shows the message as revoked: contentType 2101 with notificationElem.detail = JSON of the revoke
// info (clientMsgID, revokerID, ...). A fresh session of B reads the same from the server.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import {
  ContentType,
  SessionType,
  cleanup,
  createUsers,
  eventually,
  loginSDK,
  singleConversationID,
  sleep,
  textOf,
} from '../lib/harness.mjs';

after(cleanup);

function revokedDetail(message) {
  assert.equal(message.contentType, ContentType.RevokeNotification, `message ${message.clientMsgID} is revoked (2101)`);
  assert.ok(message.notificationElem && typeof message.notificationElem.detail === 'string', 'notificationElem.detail');
  return JSON.parse(message.notificationElem.detail);
}

test('A revokes a sent message; B sees it revoked, live and from the server', { timeout: 90_000 }, async () => {
  const { alice, bob } = await createUsers('revoke', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);
  const conversationID = singleConversationID(alice.userID, bob.userID);

  const keep = await a.sendText(bob.userID, 'this one stays');
  const oops = await a.sendText(bob.userID, 'oops, wrong chat');
  await b.waitForMessage((m) => m.clientMsgID === oops.clientMsgID, 10_000, 'the message to be revoked');

  // revokeMessage needs the seq of the message, which A learns from the server's echo push.
  await eventually(
    async () => {
      const page = await a.history(conversationID, { count: 20 });
      const m = page.messageList.find((x) => x.clientMsgID === oops.clientMsgID);
      assert.ok(m && m.seq === 2, 'A knows the seq of its message');
    },
    { timeoutMs: 10_000, what: "A's history has the message with its seq" },
  );

  const sinceA = a.events.mark();
  const sinceB = b.events.mark();
  await a.call('revokeMessage', { conversationID, clientMsgID: oops.clientMsgID });

  const notice = await b.events.waitFor(
    CbEvents.OnNewRecvMessageRevoked,
    (r) => r.data?.clientMsgID === oops.clientMsgID,
    10_000,
    { since: sinceB },
  );
  assert.equal(notice.data.revokerID, alice.userID);
  assert.equal(notice.data.sourceMessageSendID, alice.userID);
  assert.equal(notice.data.seq, 2);
  assert.equal(notice.data.sessionType, SessionType.Single);
  assert.ok(notice.data.revokeTime > 0);
  assert.equal(notice.data.revokerNickname, alice.nickname);

  // A reports its own revoke (the SDK does it locally once the HTTP call returned; the server's
  // notification to A carries A's operationID so the SDK skips it, unless it overtakes the HTTP
  // reply, which only a race decides: so this checks "at least once").
  await sleep(1000);
  assert.ok(
    a.events.count(CbEvents.OnNewRecvMessageRevoked, (r) => r.data?.clientMsgID === oops.clientMsgID, { since: sinceA }) >= 1,
    'A sees its revoke',
  );
  assert.equal(
    b.events.count(CbEvents.OnNewRecvMessageRevoked, (r) => r.data?.clientMsgID === oops.clientMsgID, { since: sinceB }),
    1,
    'B is told once',
  );

  // B's live history.
  const live = (await b.history(conversationID, { count: 20 })).messageList;
  assert.deepEqual(
    live.map((m) => [m.seq, m.clientMsgID]),
    [
      [1, keep.clientMsgID],
      [2, oops.clientMsgID],
    ],
  );
  assert.equal(textOf(live[0]), 'this one stays');
  const liveDetail = revokedDetail(live[1]);
  assert.equal(liveDetail.clientMsgID, oops.clientMsgID);
  assert.equal(liveDetail.revokerID, alice.userID);

  // A fresh session of B reads the revoked message from the server.
  await b.logout();
  const b2 = await loginSDK({ userID: bob.userID, label: 'bob-again' });
  const stored = (await b2.history(conversationID, { count: 20 })).messageList;
  assert.deepEqual(
    stored.map((m) => [m.seq, m.clientMsgID]),
    [
      [1, keep.clientMsgID],
      [2, oops.clientMsgID],
    ],
    'the revoked message keeps its seq and clientMsgID on the server',
  );
  assert.equal(stored[0].contentType, ContentType.Text);
  assert.equal(textOf(stored[0]), 'this one stays');
  const storedDetail = revokedDetail(stored[1]);
  assert.equal(storedDetail.clientMsgID, oops.clientMsgID);
  assert.equal(storedDetail.revokerID, alice.userID);
  assert.equal(JSON.stringify(stored[1]).includes('oops, wrong chat'), false, 'the revoked text is gone');
});
