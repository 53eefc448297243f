// Test harness: runs the official OpenIM JS SDK (@openim/client-sdk 0.0.14) under Node against a
// running openim server, and talks to the server's REST API directly for setup (admin token, users,
// user tokens).
//
// Environment:
//   OPENIM_API_ADDR   REST base address, e.g. http://127.0.0.1:10002
//   OPENIM_WS_ADDR    message gateway address, e.g. ws://127.0.0.1:10001
//   OPENIM_SECRET     the server's secret (get_admin_token; also the JWT signing key)
//   OPENIM_WS_ADDR_2, OPENIM_API_ADDR_2  optional second node of a cluster: SDK instances then alternate
//                     between the two nodes (the first on node 1, the second on node 2, ...)
//   OPENIM_E2E_SDK_LOGLEVEL  SDK log level 0 (trace) .. 5 (silent); default 4 (errors only)
//   OPENIM_E2E_VERBOSE       "1" keeps the SDK's console.log/info/warn/debug chatter
//
// Everything that waits has a timeout: a broken server makes a test fail, never hang.

import { createHmac, randomBytes } from 'node:crypto';
import { WebSocket as WsWebSocket } from 'ws';
import { getSDK, CbEvents } from '@openim/client-sdk';

// ------------------------------------------------------------------------------------------------
// configuration

export const config = {
  apiAddr: (process.env.OPENIM_API_ADDR || 'http://127.0.0.1:10002').replace(/\/+$/, ''),
  wsAddr: (process.env.OPENIM_WS_ADDR || 'ws://127.0.0.1:10001').replace(/\/+$/, ''),
  secret: process.env.OPENIM_SECRET || '',
  wsAddr2: (process.env.OPENIM_WS_ADDR_2 || '').replace(/\/+$/, ''),
  apiAddr2: (process.env.OPENIM_API_ADDR_2 || process.env.OPENIM_API_ADDR || 'http://127.0.0.1:10002').replace(/\/+$/, ''),
  sdkLogLevel: Number.parseInt(process.env.OPENIM_E2E_SDK_LOGLEVEL ?? '4', 10),
  verbose: process.env.OPENIM_E2E_VERBOSE === '1',
};

export const ADMIN_USER_ID = 'imAdmin';
export const PLATFORM_WEB = 5;

/** Content types / statuses the scenarios assert on (values from the SDK's own enums). */
export const ContentType = Object.freeze({ Text: 101, RevokeNotification: 2101 });
export const MessageStatus = Object.freeze({ Sending: 1, Succeed: 2, Failed: 3 });
export const SessionType = Object.freeze({ Single: 1, Group: 3 });
export const LoginStatus = Object.freeze({ Logout: 1, Logging: 2, Logged: 3 });

function log(...parts) {
  process.stderr.write(`[e2e ${new Date().toISOString()}] ${parts.join(' ')}\n`);
}

// The SDK prints a banner on every getSDK(), dumps objects with console.warn during sync and logs
// through loglevel; keep the test output readable unless asked otherwise. console.error stays.
if (!config.verbose) {
  const quiet = () => {};
  console.log = quiet;
  console.info = quiet;
  console.warn = quiet;
  console.debug = quiet;
}

// The SDK leaves some promise chains un-awaited (e.g. revoke handling, conversation refresh); when
// one of them rejects (often because a server reply lacked something the SDK dereferences), log it
// with its stack. node:test reports it as a failure of the running test as well.
export const unhandledRejections = [];
process.on('unhandledRejection', (reason) => {
  unhandledRejections.push(reason);
  const text = reason instanceof Error ? reason.stack : JSON.stringify(reason);
  log('unhandled rejection inside the SDK or a test:', text);
});

// ------------------------------------------------------------------------------------------------
// HTTP diagnostics: the SDK reports a failed REST call as a bare Error (often with an empty
// message), e.g. "OnSyncServerFailed errCode 10006 Internal Error". Record every REST reply that is
// not HTTP 2xx with errCode 0, so failures can name the endpoint and the server's error.

export const httpFailures = [];
const originalFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const res = await originalFetch(input, init);
  const url = typeof input === 'string' ? input : input?.url ?? String(input);
  const apiAddr = [config.apiAddr, config.apiAddr2].find((addr) => url.startsWith(addr));
  if (apiAddr === undefined) return res;
  let detail = '';
  let failed = !res.ok;
  try {
    const body = await res.clone().text();
    const envelope = JSON.parse(body);
    if (envelope && typeof envelope === 'object' && envelope.errCode !== 0) {
      failed = true;
      detail = `errCode ${envelope.errCode} ${envelope.errMsg ?? ''} ${envelope.errDlt ?? ''}`.trim();
    }
  } catch {
    failed = true;
    detail = 'body is not a JSON envelope';
  }
  if (failed) {
    const path = url.slice(apiAddr.length);
    const record = { path, status: res.status, detail, operationID: init?.headers?.operationID, at: Date.now() };
    httpFailures.push(record);
    log(`REST ${path} -> HTTP ${res.status} ${detail}`);
  }
  return res;
};

/** Summary of REST failures recorded since index `since`. */
export function httpFailureSummary(since = 0) {
  const list = httpFailures.slice(since);
  return list.length ? ` REST failures: ${list.map((f) => `${f.path} HTTP ${f.status} ${f.detail}`).join('; ')}` : '';
}

// ------------------------------------------------------------------------------------------------
// browser-like WebSocket for the SDK

const liveSockets = new Set();
let shuttingDown = false;

/**
 * What the SDK expects from `window.WebSocket`: `new WebSocket(url)`, the on* handler properties,
 * readyState/OPEN, send(string | Uint8Array), close(). `ws` provides all of that; the SDK decodes
 * binary frames only when they arrive as ArrayBuffer (a Node Buffer breaks it with
 * "e.arrayBuffer is not a function"), so every instance uses binaryType 'arraybuffer'.
 *
 * A browser dispatches each frame as its own task, so promise continuations run between two
 * frames. `ws` by default emits every frame of one TCP read in the same tick; the SDK relies on
 * the browser behaviour (the 1003 ack must be processed before the echo push that follows it), so
 * events are made asynchronous (allowSynchronousEvents: false).
 */
export class NodeBrowserWebSocket extends WsWebSocket {
  constructor(url, protocols) {
    super(url, protocols, { handshakeTimeout: 10_000, allowSynchronousEvents: false });
    this.binaryType = 'arraybuffer';
    // An 'error' without a listener would be thrown by EventEmitter; the SDK's onerror may be unset
    // at that moment.
    this.on('error', () => {});
    liveSockets.add(this);
    this.on('close', () => liveSockets.delete(this));
    if (shuttingDown) {
      // A reconnect timer fired after cleanup: do not let it open a connection that keeps Node alive.
      setImmediate(() => this.terminate());
    }
  }

  // As in a browser (WHATWG: a received message is dropped unless readyState is OPEN when its task
  // runs): once the SDK called close() - logout, kick - frames still in flight are not delivered to
  // an SDK instance that has already reset itself.
  emit(event, ...args) {
    if (event === 'message' && this.readyState !== WsWebSocket.OPEN) return false;
    return super.emit(event, ...args);
  }
}

export function installWebSocketShim() {
  globalThis.WebSocket = NodeBrowserWebSocket;
}
installWebSocketShim();

// ------------------------------------------------------------------------------------------------
// small utilities

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function newOperationID() {
  return `e2e${Date.now()}${randomBytes(4).toString('hex')}`;
}

/** Run id shared by every ID this process creates, so one run's users are easy to spot. */
export const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

/**
 * A fresh user ID: letters and digits only (the SDK puts IDs into the WS URL without encoding, and
 * the server accepts letters, digits and '_').
 */
export function uniqueUserID(prefix) {
  const clean = String(prefix).replace(/[^A-Za-z0-9]/g, '');
  return `e2e${clean}${RUN_ID}${randomBytes(3).toString('hex')}`;
}

/** Conversation ID of a one-to-one chat, as both the server and the SDK build it. */
export function singleConversationID(userA, userB) {
  const [x, y] = [userA, userB].sort();
  return `si_${x}_${y}`;
}

/** Promise.race with a timeout that is cleared either way. */
export async function withTimeout(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Retry `fn` until it returns without throwing (assertions inside are fine); return its value.
 * On timeout, rethrow the last error with `what` prefixed.
 */
export async function eventually(fn, { timeoutMs = 10_000, intervalMs = 200, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      return await withTimeout(Promise.resolve().then(fn), Math.max(1000, deadline - Date.now()), what);
    } catch (err) {
      lastError = err;
    }
    if (Date.now() + intervalMs > deadline) break;
    await sleep(intervalMs);
  }
  const err = new Error(`${what} not reached within ${timeoutMs} ms; last error: ${lastError?.message ?? lastError}`);
  err.cause = lastError;
  throw err;
}

/** Text of a text message as the SDK presents it (MessageItem.textElem.content). */
export function textOf(message) {
  return message?.textElem?.content;
}

// ------------------------------------------------------------------------------------------------
// JWT helper for the negative login scenarios (HS256, claims as the server issues them)

function base64url(input) {
  return Buffer.from(input).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

export function makeJwt(claims, secret) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${header}.${payload}`)
    .digest('base64')
    .replace(/=+$/, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  return `${header}.${payload}.${signature}`;
}

// ------------------------------------------------------------------------------------------------
// REST API

export class ApiError extends Error {
  constructor(path, errCode, errMsg, errDlt, httpStatus) {
    super(`POST ${path} -> errCode ${errCode} (${errMsg}) ${errDlt ?? ''} [HTTP ${httpStatus}]`);
    this.name = 'ApiError';
    this.path = path;
    this.errCode = errCode;
    this.errMsg = errMsg;
    this.errDlt = errDlt;
    this.httpStatus = httpStatus;
  }
}

/**
 * POST a JSON body to the REST API with the OpenIM headers; return `data` when errCode is 0,
 * throw ApiError otherwise.
 */
export async function apiPost(path, body, { token, operationID = newOperationID(), timeoutMs = 10_000 } = {}) {
  const headers = { 'Content-Type': 'application/json', operationID };
  if (token) headers.token = token;
  let res;
  try {
    res = await fetch(`${config.apiAddr}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new Error(`POST ${config.apiAddr}${path} failed: ${err.message}`);
  }
  const text = await res.text();
  let envelope;
  try {
    envelope = JSON.parse(text);
  } catch {
    throw new ApiError(path, undefined, 'response is not JSON', text.slice(0, 300), res.status);
  }
  if (typeof envelope !== 'object' || envelope === null || !('errCode' in envelope)) {
    throw new ApiError(path, undefined, 'response is not an OpenIM envelope', text.slice(0, 300), res.status);
  }
  if (envelope.errCode !== 0 || !res.ok) {
    throw new ApiError(path, envelope.errCode, envelope.errMsg, envelope.errDlt, res.status);
  }
  return envelope.data;
}

let adminTokenPromise;

/** Admin token via POST /auth/get_admin_token {secret, userID: "imAdmin"} (cached per process). */
export async function getAdminToken(secret = config.secret) {
  if (!secret) throw new Error('OPENIM_SECRET is not set (the server secret is needed for the admin token)');
  const fetchToken = async () => {
    const data = await apiPost('/auth/get_admin_token', { secret, userID: ADMIN_USER_ID });
    if (!data || typeof data.token !== 'string' || data.token.length === 0) {
      throw new Error(`/auth/get_admin_token returned no token: ${JSON.stringify(data)}`);
    }
    return data.token;
  };
  if (secret !== config.secret) return fetchToken();
  adminTokenPromise ??= fetchToken().catch((err) => {
    adminTokenPromise = undefined;
    throw err;
  });
  return adminTokenPromise;
}

/** POST /user/user_register {users:[{userID, nickname, faceURL}]}. */
export async function registerUsers(adminToken, users) {
  await apiPost(
    '/user/user_register',
    { users: users.map(({ userID, nickname, faceURL = '' }) => ({ userID, nickname, faceURL })) },
    { token: adminToken },
  );
  return users;
}

/** POST /auth/get_user_token {userID, platformID}; returns the token string. */
export async function getUserToken(adminToken, userID, platformID = PLATFORM_WEB) {
  const data = await apiPost('/auth/get_user_token', { userID, platformID }, { token: adminToken });
  if (!data || typeof data.token !== 'string' || data.token.length === 0) {
    throw new Error(`/auth/get_user_token returned no token for ${userID}: ${JSON.stringify(data)}`);
  }
  return data.token;
}

/**
 * Register fresh users for one test: `await createUsers('chat', ['alice', 'bob'])` returns
 * `{alice: {userID, nickname, faceURL}, bob: {...}}` with unique IDs.
 */
export async function createUsers(topic, roles) {
  const users = roles.map((role) => {
    const userID = uniqueUserID(`${topic}${role}`);
    return { role, userID, nickname: `${role} ${userID.slice(-6)}`, faceURL: `https://example.invalid/${userID}.png` };
  });
  await registerUsers(await getAdminToken(), users);
  return Object.fromEntries(users.map((u) => [u.role, u]));
}

// ------------------------------------------------------------------------------------------------
// event recorder

const ALL_EVENTS = Object.values(CbEvents);

/**
 * Subscribes to every SDK event and keeps them in order. Each record is the object the SDK emits,
 * `{event, data, errCode, errMsg, operationID}`, plus `index` and `at` (ms).
 */
export class EventRecorder {
  constructor(sdk, label) {
    this.label = label;
    this.records = [];
    this.waiters = new Set();
    for (const name of ALL_EVENTS) {
      sdk.on(name, (payload) => this.#push(name, payload));
    }
  }

  #push(name, payload) {
    const record = { ...(payload ?? {}), event: payload?.event ?? name, index: this.records.length, at: Date.now() };
    this.records.push(record);
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Index to pass as `since` to look only at events recorded after this point. */
  mark() {
    return this.records.length;
  }

  all(eventName, predicate = () => true, { since = 0 } = {}) {
    return this.records.slice(since).filter((r) => r.event === eventName && predicate(r));
  }

  count(eventName, predicate = () => true, opts = {}) {
    return this.all(eventName, predicate, opts).length;
  }

  summary(since = 0) {
    const counts = new Map();
    for (const r of this.records.slice(since)) counts.set(r.event, (counts.get(r.event) ?? 0) + 1);
    const detail = this.records
      .slice(since)
      .filter((r) => r.errCode)
      .map((r) => `${r.event}(errCode ${r.errCode} ${r.errMsg})`);
    return `[${[...counts].map(([k, v]) => `${k}x${v}`).join(', ')}]${detail.length ? ` errors: ${detail.join(', ')}` : ''}`;
  }

  /**
   * Resolve when `condition()` returns a truthy value (checked now and after every event); reject
   * after timeoutMs with the list of events seen.
   */
  waitUntil(condition, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        let value;
        try {
          value = condition();
        } catch (err) {
          cleanupWaiter();
          reject(err);
          return;
        }
        if (value) {
          cleanupWaiter();
          resolve(value);
        }
      };
      const cleanupWaiter = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`[${this.label}] timed out after ${timeoutMs} ms waiting for ${what}; events: ${this.summary()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /**
   * First record of `eventName` (already recorded or future) for which `predicate(record)` is true.
   * The predicate receives the whole record; the SDK's payload is `record.data`.
   */
  waitFor(eventName, predicate = () => true, timeoutMs = 10_000, { since = 0 } = {}) {
    return this.waitUntil(
      () => this.records.slice(since).find((r) => r.event === eventName && predicate(r)),
      timeoutMs,
      eventName,
    );
  }
}

// ------------------------------------------------------------------------------------------------
// SDK clients

export class SdkCallError extends Error {
  constructor(method, response, context = '') {
    const errCode = response?.errCode;
    const errMsg = response?.errMsg ?? (response instanceof Error ? response.message : JSON.stringify(response));
    super(`SDK ${method} failed: errCode ${errCode} ${errMsg}${context}`);
    this.name = 'SdkCallError';
    this.method = method;
    this.errCode = errCode;
    this.errMsg = errMsg;
    this.response = response;
  }
}

const clients = new Set();
let clientsCreated = 0;

/** The node an SDK instance uses: node 1, or every second instance on node 2 when one is given. */
function nodeFor(index) {
  if (config.wsAddr2 && index % 2 === 1) return { wsAddr: config.wsAddr2, apiAddr: config.apiAddr2 };
  return { wsAddr: config.wsAddr, apiAddr: config.apiAddr };
}

/** One SDK instance (getSDK() returns a new one per call) with its event recorder. */
export class Client {
  constructor(label) {
    this.label = label;
    this.sdk = getSDK();
    this.events = new EventRecorder(this.sdk, label);
    this.wsManagers = new Set();
    this.callTimeoutMs = 20_000;
    this.userID = undefined;
    this.token = undefined;
    this.node = nodeFor(clientsCreated++);
    clients.add(this);
  }

  /**
   * Call an SDK API method and return its `data`. The SDK resolves `{errCode: 0, data, ...}` and
   * rejects with a plain `{errCode, errMsg, ...}` object; the latter becomes an SdkCallError.
   * Calls waiting on a WS reply have no timeout in the SDK, so one is added here.
   * Pass arguments exactly as the SDK method takes them (the SDK appends the operationID itself).
   */
  async call(method, ...args) {
    if (typeof this.sdk[method] !== 'function') throw new Error(`the SDK has no method ${method}`);
    let response;
    const httpSince = httpFailures.length;
    try {
      response = await withTimeout(this.sdk[method](...args), this.callTimeoutMs, `[${this.label}] SDK ${method}`);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('timed out')) throw err;
      throw new SdkCallError(method, err, httpFailureSummary(httpSince));
    }
    if (!response || response.errCode !== 0) throw new SdkCallError(method, response, httpFailureSummary(httpSince));
    return response.data;
  }

  /**
   * Start the SDK login and return once login() settled (the socket opened or failed). Does not
   * wait for the handshake result; use waitConnected() or the recorder for that.
   */
  async startLogin({ userID, token, platformID = PLATFORM_WEB }) {
    this.userID = userID;
    this.token = token;
    const pending = this.sdk.login({
      userID,
      token,
      platformID,
      wsAddr: this.node.wsAddr,
      apiAddr: this.node.apiAddr,
      logLevel: config.sdkLogLevel,
    });
    // login() builds its WebSocketManager synchronously; keep it so cleanup can stop its timers
    // even after the SDK dropped its own reference (reset on kick / logout).
    if (this.sdk.wsManager) this.wsManagers.add(this.sdk.wsManager);
    try {
      return { ok: true, response: await withTimeout(pending, 15_000, `[${this.label}] login()`) };
    } catch (err) {
      return { ok: false, error: err };
    }
  }

  /**
   * Resolve when the SDK reports OnConnectSuccess and then OnSyncServerFinish (events after
   * `since`); reject on OnConnectFailed / OnSyncServerFailed / token events or on timeout.
   */
  waitConnected({ since = 0, timeoutMs = 15_000, httpSince = 0 } = {}) {
    const failures = new Set([
      CbEvents.OnConnectFailed,
      CbEvents.OnSyncServerFailed,
      CbEvents.OnUserTokenInvalid,
      CbEvents.OnUserTokenExpired,
      CbEvents.OnKickedOffline,
    ]);
    return this.events.waitUntil(
      () => {
        const recent = this.events.records.slice(since);
        const failure = recent.find((r) => failures.has(r.event));
        if (failure) {
          throw new Error(
            `[${this.label}] login failed: ${failure.event} errCode ${failure.errCode} ${failure.errMsg}; events: ${this.events.summary(since)}.${httpFailureSummary(httpSince)}`,
          );
        }
        const connected = recent.findIndex((r) => r.event === CbEvents.OnConnectSuccess);
        return connected >= 0 && recent.slice(connected).some((r) => r.event === CbEvents.OnSyncServerFinish);
      },
      timeoutMs,
      'OnConnectSuccess + OnSyncServerFinish',
    );
  }

  /** Every message delivered through OnRecvNewMessages so far, flattened, in arrival order. */
  received({ since = 0 } = {}) {
    return this.events.all(CbEvents.OnRecvNewMessages, () => true, { since }).flatMap((r) => r.data ?? []);
  }

  /** First message received (OnRecvNewMessages) that satisfies `predicate(message)`. */
  waitForMessage(predicate, timeoutMs = 10_000, what = 'a new message') {
    return this.events.waitUntil(() => this.received().find(predicate), timeoutMs, `OnRecvNewMessages with ${what}`);
  }

  /** Create a text message and send it to `recvID`; return the SDK's sent message. */
  async sendText(recvID, text) {
    const message = await this.call('createTextMessage', text);
    return this.call('sendMessage', { recvID, groupID: '', message });
  }

  /** One page of getAdvancedHistoryMessageList. */
  history(conversationID, { count = 100, startClientMsgID = '' } = {}) {
    return this.call('getAdvancedHistoryMessageList', { conversationID, count, startClientMsgID, viewType: 0 });
  }

  /** The conversation list (getConversationListSplit, first `count` entries). */
  conversations(count = 100) {
    return this.call('getConversationListSplit', { offset: 0, count });
  }

  async logout() {
    try {
      await withTimeout(this.sdk.logout(), 5_000, `[${this.label}] logout()`);
    } catch {
      // logging out an SDK that is already logged out (kicked, token refused) is refused by the SDK
    }
    this.#stopTimers();
  }

  /** Stop every timer and socket this SDK instance owns so Node can exit. */
  #stopTimers() {
    if (this.sdk.wsManager) this.wsManagers.add(this.sdk.wsManager);
    for (const manager of this.wsManagers) {
      try {
        manager.shouldReconnect = false;
        // A reconnect already scheduled calls manager.connect() without checking shouldReconnect.
        manager.connect = () => Promise.reject(new Error('stopped by the e2e harness'));
        manager.stopHeartbeat?.();
        manager.ws?.terminate?.();
      } catch (err) {
        log(`[${this.label}] stopping the SDK socket failed: ${err.message}`);
      }
    }
    // The SDK's typing manager owns two TTL caches with a setInterval each, created in the
    // constructor and never cleared by logout.
    const typing = this.sdk.messageTrigger?.typingManager;
    for (const value of Object.values(typing ?? {})) {
      if (value && typeof value.dispose === 'function') {
        try {
          value.dispose();
        } catch {
          // ignore
        }
      }
    }
  }

  async dispose() {
    await this.logout();
    clients.delete(this);
  }
}

/**
 * Get a token for `userID` (admin API), create an SDK instance, attach the recorder and log in;
 * resolve with the Client once the SDK is connected and synced.
 */
export async function loginSDK({ userID, platformID = PLATFORM_WEB, token, label, timeoutMs = 20_000 }) {
  const userToken = token ?? (await getUserToken(await getAdminToken(), userID, platformID));
  const client = new Client(label ?? userID);
  const since = client.events.mark();
  const httpSince = httpFailures.length;
  const started = await client.startLogin({ userID, token: userToken, platformID });
  if (!started.ok) {
    const e = started.error;
    throw new Error(
      `[${client.label}] login() failed: ${e?.errCode ?? ''} ${e?.errMsg ?? e?.message ?? JSON.stringify(e)}; events: ${client.events.summary()}`,
    );
  }
  await client.waitConnected({ since, timeoutMs, httpSince });
  return client;
}

/** Create an SDK client without logging in (for scenarios that expect the login to fail). */
export function createClient(label) {
  return new Client(label);
}

/**
 * Log out every SDK instance created in this process and stop their sockets and timers, so the
 * Node process can exit. Register it with `after(cleanup)` in each scenario file.
 */
export async function cleanup() {
  await Promise.all([...clients].map((c) => c.dispose()));
  shuttingDown = true;
  for (const socket of liveSockets) {
    try {
      socket.terminate();
    } catch {
      // ignore
    }
  }
  // Last resort: if something still holds the event loop (an SDK timer this harness does not
  // know about), say what it is and leave instead of hanging the run.
  const watchdog = setTimeout(() => {
    log('process still alive 15 s after cleanup; active resources:', JSON.stringify(process.getActiveResourcesInfo()));
    process.exit(process.exitCode ?? 0);
  }, 15_000);
  watchdog.unref();
}
