// Offline smoke check of the harness (no server needed): the SDK loads under Node, getSDK() returns
// an instance with the API the scenarios use, the WebSocket shim is installed, and the process exits
// after cleanup(). Run: node tests/e2e/lib/smoke.mjs
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import {
  NodeBrowserWebSocket,
  cleanup,
  createClient,
  makeJwt,
  singleConversationID,
  uniqueUserID,
} from './harness.mjs';

const REQUIRED_METHODS = [
  'login',
  'logout',
  'getLoginStatus',
  'getSelfUserInfo',
  'createTextMessage',
  'sendMessage',
  'revokeMessage',
  'getAdvancedHistoryMessageList',
  'getConversationListSplit',
  'getOneConversation',
  'getTotalUnreadMsgCount',
  'markConversationMessageAsRead',
];
const REQUIRED_EVENTS = [
  'OnConnectSuccess',
  'OnConnectFailed',
  'OnSyncServerFinish',
  'OnSyncServerFailed',
  'OnUserTokenInvalid',
  'OnUserTokenExpired',
  'OnKickedOffline',
  'OnRecvNewMessages',
  'OnNewRecvMessageRevoked',
  'OnRecvC2CReadReceipt',
  'OnConversationChanged',
  'OnNewConversation',
  'OnTotalUnreadMessageCountChanged',
];

assert.equal(globalThis.WebSocket, NodeBrowserWebSocket, 'the WebSocket shim is installed');
const probe = new NodeBrowserWebSocket('ws://127.0.0.1:9');
assert.equal(probe.binaryType, 'arraybuffer');
probe.onerror = () => {};
probe.terminate();

const client = createClient('smoke');
for (const method of REQUIRED_METHODS) {
  assert.equal(typeof client.sdk[method], 'function', `SDK method ${method}`);
}
for (const event of REQUIRED_EVENTS) {
  assert.equal(CbEvents[event], event, `SDK event ${event}`);
}
// The API refuses calls before login with a plain error object, which the harness turns into an error.
await assert.rejects(client.call('getSelfUserInfo'), (err) => err.name === 'SdkCallError' && err.errCode !== 0);

assert.match(uniqueUserID('smoke A'), /^e2esmokeA[a-z0-9]+$/);
assert.equal(singleConversationID('b', 'a'), 'si_a_b');
assert.equal(makeJwt({ a: 1 }, 's').split('.').length, 3);

await cleanup();
console.error(`smoke ok: ${REQUIRED_METHODS.length} methods, ${REQUIRED_EVENTS.length} events`);
