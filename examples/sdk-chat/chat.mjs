// Two users chat through an openim server with the unmodified OpenIM JS SDK (see docs/quickstart.md).
//
//   node chat.mjs <userA> <tokenA> <userB> <tokenB>
//
// Addresses come from OPENIM_API_ADDR (default http://127.0.0.1:10002) and OPENIM_WS_ADDR
// (default ws://127.0.0.1:10001). A sends B a message, B answers, both print what they receive.
import { WebSocket as NodeWebSocket } from 'ws';
import { getSDK, CbEvents } from '@openim/client-sdk';

// Node has no browser WebSocket: give the SDK one that hands binary frames over as ArrayBuffers.
class BrowserLikeWebSocket extends NodeWebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.binaryType = 'arraybuffer';
  }
}
globalThis.WebSocket = BrowserLikeWebSocket;
// The SDK is chatty (a banner, sync details); this script prints with process.stdout instead.
for (const level of ['log', 'info', 'warn', 'debug']) console[level] = () => {};

const apiAddr = process.env.OPENIM_API_ADDR || 'http://127.0.0.1:10002';
const wsAddr = process.env.OPENIM_WS_ADDR || 'ws://127.0.0.1:10001';
const [userA, tokenA, userB, tokenB] = process.argv.slice(2);
if (!tokenB) {
  process.stderr.write('usage: node chat.mjs <userA> <tokenA> <userB> <tokenB>\n');
  process.exit(2);
}
const say = (line) => process.stdout.write(`${line}\n`);

function nextMessage(sdk) {
  return new Promise((resolve) => {
    const handler = ({ data }) => {
      sdk.off(CbEvents.OnRecvNewMessages, handler);
      resolve(data[0]);
    };
    sdk.on(CbEvents.OnRecvNewMessages, handler);
  });
}

async function login(userID, token) {
  const sdk = getSDK();
  const synced = new Promise((resolve, reject) => {
    sdk.on(CbEvents.OnSyncServerFinish, resolve);
    sdk.on(CbEvents.OnSyncServerFailed, () => reject(new Error(`${userID}: sync failed`)));
    sdk.on(CbEvents.OnConnectFailed, ({ errCode }) => reject(new Error(`${userID}: connect failed ${errCode}`)));
  });
  await sdk.login({ userID, token, platformID: 5, apiAddr, wsAddr });
  await synced;
  say(`${userID} logged in`);
  return sdk;
}

async function send(sdk, recvID, text) {
  const { data: message } = await sdk.createTextMessage(text);
  await sdk.sendMessage({ recvID, groupID: '', message });
}

const timeout = setTimeout(() => {
  process.stderr.write('no answer within 20 s\n');
  process.exit(1);
}, 20_000);

const a = await login(userA, tokenA);
const b = await login(userB, tokenB);
const bGets = nextMessage(b);
await send(a, userB, `hello ${userB}`);
const first = await bGets;
say(`${userB} received from ${first.sendID}: ${first.textElem.content}`);
const aGets = nextMessage(a);
await send(b, userA, `hi ${userA}, got it`);
const second = await aGets;
say(`${userA} received from ${second.sendID}: ${second.textElem.content}`);
clearTimeout(timeout);
await a.logout();
await b.logout();
process.exit(0);
