// Command lists (/user/process_user_command_*) across two devices of one user: device 1 (Web) adds,
// updates and deletes an entry; device 2 (Android, its own SDK instance and token) is told each time.
//
// @openim/client-sdk 0.0.14 has no addUserCommand/getAllUserCommands and no OnUserCommand* event (the
// Go core declares OnUserCommandAdd/Update/Delete, but the one in @openim/wasm-client-sdk 3.8.5 never
// re-reads the list, on the notification or at login, so they stay silent there too). What the JS SDK
// does with a 1305/1306/1307 is decode it and route it, as a user notification, to its user trigger
// (sdk.userTrigger.parseMessageAndTrigger, the handler of the 1301-1399 range, which acts on 1303
// UserInfoUpdated only). So device 1 calls the REST routes with its own SDK token, as an app on this SDK
// does, and the test watches device 2's user trigger: each change arrives decoded, from and to the
// user, with device 1's operationID; then device 2 re-reads the list with its own token, as an app does
// on the notification, and sees the change.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiPost, cleanup, createUsers, eventually, loginSDK, newOperationID } from '../lib/harness.mjs';

after(cleanup);

const PLATFORM_ANDROID = 2;
const UserCommandAdd = 1305;
const UserCommandDelete = 1306;
const UserCommandUpdate = 1307;
const FAVOURITES = 1;

const COMMAND_NOTIFICATIONS = [UserCommandAdd, UserCommandDelete, UserCommandUpdate];

/**
 * Record the command notifications the SDK instance dispatches to its user trigger; every other user
 * notification goes on to the SDK's handler as usual. The handler has no case for 1305-1307: the ESM
 * builds a browser bundles ignore them, but this CJS build (what Node loads) compiles its async switch
 * into a helper that throws "s.then is not a function" when no case matches, an unhandled rejection.
 * The server sends what OpenIM sends; the SDK's handler would do nothing with it, so it is not called.
 */
function watchCommandNotifications(client) {
  const seen = [];
  const trigger = client.sdk.userTrigger;
  const original = trigger.parseMessageAndTrigger;
  assert.equal(typeof original, 'function', 'the SDK routes user notifications through userTrigger');
  trigger.parseMessageAndTrigger = async (message, operationID) => {
    if (!COMMAND_NOTIFICATIONS.includes(message.contentType)) return original.call(trigger, message, operationID);
    seen.push({ message, operationID });
  };
  return seen;
}

/** The tips of a notification as the SDK holds it: content is the bytes of {"detail": "<tips JSON>"}. */
function tipsOf(message) {
  const text = typeof message.content === 'string' ? message.content : new TextDecoder().decode(message.content);
  return JSON.parse(JSON.parse(text).detail);
}

async function commands(userID, token) {
  const data = await apiPost('/user/process_user_command_get_all', { userID }, { token });
  return data.CommandResp;
}

test('a change of the command list on one device reaches the other', { timeout: 90_000 }, async () => {
  const { carol } = await createUsers('cmd', ['carol']);
  const device1 = await loginSDK({ userID: carol.userID, label: 'carol-web' });
  const device2 = await loginSDK({ userID: carol.userID, platformID: PLATFORM_ANDROID, label: 'carol-android' });
  watchCommandNotifications(device1); // the user's every device is told, this one too
  const heard = watchCommandNotifications(device2);

  async function change(path, body, contentType) {
    const operationID = newOperationID();
    await apiPost(path, { userID: carol.userID, type: FAVOURITES, uuid: 'msg-42', ...body }, {
      token: device1.token,
      operationID,
    });
    const got = await eventually(
      () => {
        const found = heard.find((h) => h.operationID === operationID && h.message.contentType === contentType);
        assert.ok(found, `heard: ${JSON.stringify(heard.map((h) => [h.message.contentType, h.operationID]))}`);
        return found;
      },
      { what: `notification ${contentType} on device 2` },
    );
    assert.equal(got.message.sendID, carol.userID);
    assert.equal(got.message.recvID, carol.userID);
    assert.deepEqual(tipsOf(got.message), { fromUserID: carol.userID, toUserID: carol.userID });
  }

  await change('/user/process_user_command_add', { value: 'pinned' }, UserCommandAdd);
  let list = await commands(carol.userID, device2.token);
  assert.deepEqual(
    list.map((c) => [c.type, c.uuid, c.value]),
    [[FAVOURITES, 'msg-42', 'pinned']],
  );

  await change('/user/process_user_command_update', { value: 'starred' }, UserCommandUpdate);
  list = await commands(carol.userID, device2.token);
  assert.deepEqual(list.map((c) => c.value), ['starred']);

  await change('/user/process_user_command_delete', {}, UserCommandDelete);
  assert.deepEqual(await commands(carol.userID, device2.token), []);

  // Device 2 was told of nothing else, and both SDK instances still answer.
  assert.equal(heard.length, 3, `heard: ${JSON.stringify(heard.map((h) => h.message.contentType))}`);
  assert.equal((await device1.call('getSelfUserInfo')).userID, carol.userID);
  assert.equal((await device2.call('getSelfUserInfo')).userID, carol.userID);
});
