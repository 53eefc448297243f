// Login: a registered user logs in (connected + synced) and reads its own profile; bad tokens are
// refused at the gateway handshake with the token error code.
//
// How the SDK reports a refused token: the server upgrades the connection, sends one text frame
// {"errCode": <code>, ...} and closes. login() itself resolves (it only waits for the socket to
// open); the SDK then emits OnConnectFailed {errCode} followed by the event mapped from the code:
// 1501 -> OnUserTokenExpired; 1502/1503/1504/1505/1507 -> OnUserTokenInvalid; 1506 -> OnKickedOffline.
// It never emits OnConnectSuccess for that connection.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import {
  LoginStatus,
  PLATFORM_WEB,
  cleanup,
  config,
  createClient,
  createUsers,
  getAdminToken,
  getUserToken,
  loginSDK,
  makeJwt,
} from '../lib/harness.mjs';

after(cleanup);

const REFUSAL_TIMEOUT_MS = 8_000;

/** Log in with `token` and expect the handshake to be refused with `errCode` and `tokenEvent`. */
async function expectRefused({ label, userID, token, errCode, tokenEvent }) {
  const client = createClient(label);
  const since = client.events.mark();
  const started = await client.startLogin({ userID, token, platformID: PLATFORM_WEB });
  assert.ok(
    started.ok,
    `login() should resolve once the socket is open (the refusal comes in the first text frame); got ${JSON.stringify(
      started.error,
    )}; events: ${client.events.summary()}`,
  );
  const failed = await client.events.waitFor(CbEvents.OnConnectFailed, () => true, REFUSAL_TIMEOUT_MS, { since });
  assert.equal(failed.errCode, errCode, `OnConnectFailed errCode (errMsg ${failed.errMsg})`);
  const specific = await client.events.waitFor(tokenEvent, () => true, REFUSAL_TIMEOUT_MS, { since });
  assert.equal(specific.errCode, errCode, `${tokenEvent} errCode`);
  assert.equal(client.events.count(CbEvents.OnConnectSuccess, () => true, { since }), 0, 'never connected');
  assert.equal(client.events.count(CbEvents.OnSyncServerFinish, () => true, { since }), 0, 'never synced');
  await client.dispose();
}

test('a registered user logs in, syncs and reads its own profile', { timeout: 60_000 }, async () => {
  const { alice } = await createUsers('login', ['alice']);
  const client = await loginSDK({ userID: alice.userID, label: 'alice' });

  const connected = client.events.all(CbEvents.OnConnectSuccess);
  assert.equal(connected.length, 1, 'exactly one OnConnectSuccess');
  assert.equal(connected[0].errCode, 0);
  assert.equal(client.events.count(CbEvents.OnSyncServerFailed), 0, 'no sync failure');
  assert.equal(client.events.count(CbEvents.OnConnectFailed), 0, 'no connect failure');

  const self = await client.call('getSelfUserInfo');
  assert.equal(self.userID, alice.userID);
  assert.equal(self.nickname, alice.nickname);
  assert.equal(self.faceURL, alice.faceURL);

  assert.equal(await client.call('getLoginStatus'), LoginStatus.Logged);
});

test('the connection survives the SDK heartbeat (text ping answered with pong)', { timeout: 60_000 }, async () => {
  const { gina } = await createUsers('login', ['gina']);
  const client = await loginSDK({ userID: gina.userID, label: 'gina' });
  const [manager] = client.wsManagers;
  const socket = manager.ws;
  assert.equal(socket.readyState, socket.OPEN);
  // The SDK sends {"type":"ping"} every 10 s and, at the next tick, closes the socket if no pong
  // came back. After two ticks the original socket must still be the open one.
  await new Promise((resolve) => setTimeout(resolve, 21_500));
  assert.equal(manager.ws, socket, 'the SDK did not replace its socket (no reconnect)');
  assert.equal(socket.readyState, socket.OPEN, 'the socket is still open');
  assert.equal(client.events.count(CbEvents.OnConnectFailed), 0);
  assert.equal(await client.call('getLoginStatus'), LoginStatus.Logged);
  const self = await client.call('getSelfUserInfo');
  assert.equal(self.nickname, gina.nickname);
});

test('a garbage token is refused with 1503 (malformed)', { timeout: 30_000 }, async () => {
  const { bob } = await createUsers('login', ['bob']);
  await expectRefused({
    label: 'bob-garbage',
    userID: bob.userID,
    token: 'thisIsNotAJwtAtAll',
    errCode: 1503,
    tokenEvent: CbEvents.OnUserTokenInvalid,
  });
});

test('a JWT signed with the wrong secret is refused with 1505', { timeout: 30_000 }, async () => {
  const { carol } = await createUsers('login', ['carol']);
  const now = Math.floor(Date.now() / 1000);
  const token = makeJwt(
    { UserID: carol.userID, PlatformID: PLATFORM_WEB, exp: now + 3600, iat: now - 5 },
    `not-${config.secret}-at-all`,
  );
  await expectRefused({
    label: 'carol-wrong-secret',
    userID: carol.userID,
    token,
    errCode: 1505,
    tokenEvent: CbEvents.OnUserTokenInvalid,
  });
});

test('an expired JWT is refused with 1501 (OnUserTokenExpired)', { timeout: 30_000 }, async () => {
  const { dave } = await createUsers('login', ['dave']);
  const now = Math.floor(Date.now() / 1000);
  const token = makeJwt(
    { UserID: dave.userID, PlatformID: PLATFORM_WEB, exp: now - 3600, iat: now - 7200 },
    config.secret,
  );
  await expectRefused({
    label: 'dave-expired',
    userID: dave.userID,
    token,
    errCode: 1501,
    tokenEvent: CbEvents.OnUserTokenExpired,
  });
});

test("another user's valid token is refused with 1502", { timeout: 30_000 }, async () => {
  const { erin, frank } = await createUsers('login', ['erin', 'frank']);
  const erinsToken = await getUserToken(await getAdminToken(), erin.userID, PLATFORM_WEB);
  await expectRefused({
    label: 'frank-with-erins-token',
    userID: frank.userID,
    token: erinsToken,
    errCode: 1502,
    tokenEvent: CbEvents.OnUserTokenInvalid,
  });
});
