// File messages: A uploads a file through the SDK (part_size -> initiate -> PUT parts -> complete) and
// sends it as a file message; B receives the message and downloads the URL it carries, byte for byte.
// A second upload of the same bytes is instant (deduplicated by hash) and still downloadable.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MessageStatus, cleanup, createUsers, loginSDK } from '../lib/harness.mjs';

after(cleanup);

const FILE_MESSAGE = 105;

// The SDK reads each chunk with the browser's FileReader, which Node 20 lacks: the smallest faithful
// stand-in (readAsArrayBuffer, then onload with target.result, or onerror).
if (typeof globalThis.FileReader === 'undefined') {
  globalThis.FileReader = class FileReader {
    readAsArrayBuffer(blob) {
      blob.arrayBuffer().then(
        (result) => {
          this.result = result;
          this.onload?.({ target: this });
        },
        (error) => this.onerror?.(error),
      );
    }
  };
}

async function download(url) {
  const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, `GET ${url} -> HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

test('A sends a file; B gets the message and downloads the same bytes', { timeout: 90_000 }, async () => {
  const { alice, bob } = await createUsers('file', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);

  // 6 MiB + 123 bytes: two parts of the server's 5 MiB part size, the last one short.
  const bytes = randomBytes(6 * 1024 * 1024 + 123);
  const fileName = `report-${Date.now()}.bin`;
  const file = new File([bytes], fileName, { type: 'application/octet-stream' });
  const uuid = `file-${randomBytes(8).toString('hex')}`;

  const draft = await a.call('createFileMessageByFile', {
    file,
    uuid,
    fileName,
    fileSize: file.size,
    filePath: '',
    sourceUrl: '',
    fileType: 'bin',
  });
  assert.equal(draft.contentType, FILE_MESSAGE);

  const sent = await a.call('sendMessage', { recvID: bob.userID, groupID: '', message: draft });
  assert.equal(sent.status, MessageStatus.Succeed);
  const url = sent.fileElem.sourceUrl;
  assert.ok(url.includes(`/object/${alice.userID}/${fileName}`), `the upload URL names the object: ${url}`);

  const got = await b.waitForMessage((m) => m.clientMsgID === draft.clientMsgID, 15_000, 'the file message');
  assert.equal(got.contentType, FILE_MESSAGE);
  assert.equal(got.fileElem.fileName, fileName);
  assert.equal(got.fileElem.fileSize, bytes.length);
  assert.equal(got.fileElem.sourceUrl, url, 'B gets the URL A uploaded to');

  const downloaded = await download(got.fileElem.sourceUrl);
  assert.equal(downloaded.length, bytes.length);
  assert.ok(downloaded.equals(bytes), 'B downloads exactly the bytes A uploaded');

  // The same bytes under another name: no parts are sent (instant upload), the new URL works too.
  const again = await a.call('uploadFile', {
    file: new File([bytes], `copy-${fileName}`, { type: 'application/octet-stream' }),
    name: `copy-${fileName}`,
  });
  assert.ok(again.url.endsWith(`/object/${alice.userID}/copy-${fileName}`), again.url);
  assert.ok((await download(again.url)).equals(bytes));
});

test('a small file (one part) round-trips through uploadFile', { timeout: 60_000 }, async () => {
  const { carol } = await createUsers('file', ['carol']);
  const c = await loginSDK({ userID: carol.userID, label: 'carol' });
  const text = `hello ${Date.now()}\n`;
  const { url } = await c.call('uploadFile', { file: new File([text], 'note.txt', { type: 'text/plain' }) });
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(await res.text(), text);
});
