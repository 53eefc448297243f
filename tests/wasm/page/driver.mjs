// Drives the unmodified @openim/wasm-client-sdk (openim-sdk-core compiled to WebAssembly) for the tests.
//
// The SDK is a singleton per page. Every callback event is recorded in window.driver.events, so the
// Python side can wait for one (OnConnectSuccess, OnRecvNewMessages, ...) without racing the SDK.
// Each SDK call resolves to {ok: <data>} or {err: {errCode, errMsg}}: Selenium gets plain JSON.
import { getSDK, CbEvents } from '/sdk/lib/index.es.js';

const sdk = getSDK({ coreWasmPath: '/openIM.wasm', sqlWasmPath: '/sql-wasm.wasm', debug: false });
const events = [];
for (const name of Object.values(CbEvents)) {
  sdk.on(name, (payload) => events.push({ event: name, errCode: payload?.errCode ?? 0, data: payload?.data ?? null }));
}

async function call(method, ...args) {
  try {
    const resp = await sdk[method](...args);
    return { ok: resp && typeof resp === 'object' && 'data' in resp ? resp.data : resp };
  } catch (e) {
    return { err: { errCode: e?.errCode ?? -1, errMsg: String(e?.errMsg ?? e?.message ?? e) } };
  }
}

window.driver = {
  events,
  call,
  // createTextMessage + sendMessage in one step; the sent message (with its seq and serverMsgID) back.
  async sendText(text, recvID, groupID) {
    const created = await call('createTextMessage', text);
    if (created.err) return created;
    return call('sendMessage', { recvID: recvID || '', groupID: groupID || '', message: created.ok });
  },
};
document.getElementById('status').textContent = 'ready';
