// Multi-login on one platform: A is logged in on Web (5) with SDK instance 1; a new Web token is
// issued and A logs in with it on SDK instance 2. Instance 1 is kicked (OnKickedOffline, pushed as
// reqIdentifier 2002), instance 2 keeps working, and the old token is refused afterwards (1506, which
// the SDK also reports as OnKickedOffline).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import {
  MessageStatus,
  PLATFORM_WEB,
  cleanup,
  createClient,
  createUsers,
  getAdminToken,
  getUserToken,
  loginSDK,
  sleep,
  textOf,
} from '../lib/harness.mjs';

after(cleanup);

test('a second login on the same platform kicks the first', { timeout: 90_000 }, async () => {
  const { alice, bob } = await createUsers('kick', ['alice', 'bob']);
  const admin = await getAdminToken();
  const b = await loginSDK({ userID: bob.userID, label: 'bob' });

  const firstToken = await getUserToken(admin, alice.userID, PLATFORM_WEB);
  const first = await loginSDK({ userID: alice.userID, token: firstToken, label: 'alice-1' });
  // The first session works.
  const before = await first.sendText(bob.userID, 'from the first session');
  assert.equal(before.status, MessageStatus.Succeed);
  await b.waitForMessage((m) => m.clientMsgID === before.clientMsgID, 10_000, 'message from session 1');

  // Marked before the new token is issued: issuing it may already retire (kick) the first session.
  const sinceFirst = first.events.mark();
  const secondToken = await getUserToken(admin, alice.userID, PLATFORM_WEB);
  assert.notEqual(secondToken, firstToken, 'a new token was issued');
  const second = await loginSDK({ userID: alice.userID, token: secondToken, label: 'alice-2' });

  const kicked = await first.events.waitFor(CbEvents.OnKickedOffline, () => true, 10_000, { since: sinceFirst });
  assert.equal(kicked.errCode, 0, 'kicked by the server push (2002), not by a handshake error');
  assert.equal(second.events.count(CbEvents.OnKickedOffline), 0, 'the new session is not kicked');

  // The new session can chat.
  const after2 = await second.sendText(bob.userID, 'from the second session');
  assert.equal(after2.status, MessageStatus.Succeed);
  const got = await b.waitForMessage((m) => m.clientMsgID === after2.clientMsgID, 10_000, 'message from session 2');
  assert.equal(got.sendID, alice.userID);
  assert.equal(textOf(got), 'from the second session');
  assert.equal(got.seq, 2);

  // The old token is dead: a new login with it is refused as kicked (1506).
  const stale = createClient('alice-stale-token');
  const started = await stale.startLogin({ userID: alice.userID, token: firstToken, platformID: PLATFORM_WEB });
  assert.ok(started.ok, `login() resolves when the socket opens; got ${JSON.stringify(started.error)}`);
  const refused = await stale.events.waitFor(CbEvents.OnConnectFailed, () => true, 8_000);
  assert.equal(refused.errCode, 1506, `OnConnectFailed errCode (errMsg ${refused.errMsg})`);
  const staleKick = await stale.events.waitFor(CbEvents.OnKickedOffline, () => true, 8_000);
  assert.equal(staleKick.errCode, 1506);
  assert.equal(stale.events.count(CbEvents.OnConnectSuccess), 0);
  await stale.dispose();

  // The refused attempt did not disturb the live session.
  await sleep(500);
  assert.equal(second.events.count(CbEvents.OnKickedOffline), 0);
  const last = await second.sendText(bob.userID, 'still here');
  const gotLast = await b.waitForMessage((m) => m.clientMsgID === last.clientMsgID, 10_000, 'message after the stale login');
  assert.equal(gotLast.seq, 3);

  // Instance 1 stays logged out: the SDK reset itself and does not reconnect.
  assert.equal(first.events.count(CbEvents.OnConnectSuccess), 1, 'instance 1 connected once, never again');
});
