// Friend request round trip with the SDK's FriendApi: A asks B, B sees the application (event and
// list), accepts, both get OnFriendAdded and list each other; then A blacklists B and B's message is
// refused with 1302, and a refused application reaches the applicant as OnFriendApplicationRejected.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import { cleanup, createUsers, eventually, loginSDK } from '../lib/harness.mjs';

after(cleanup);

const PAGE = { offset: 0, count: 20 };

test('A asks B, B accepts: both see the friendship', { timeout: 60_000 }, async () => {
  const { alice, bob } = await createUsers('friend', ['alice', 'bob']);
  const [a, b] = await Promise.all([
    loginSDK({ userID: alice.userID, label: 'alice' }),
    loginSDK({ userID: bob.userID, label: 'bob' }),
  ]);
  const sinceA = a.events.mark();
  const sinceB = b.events.mark();

  await a.call('addFriend', { toUserID: bob.userID, reqMsg: 'hello from alice' });

  // B is told through the 1203 notification (the SDK fetches the request and raises the event).
  const added = await b.events.waitFor(
    CbEvents.OnFriendApplicationAdded,
    (r) => r.data?.fromUserID === alice.userID,
    10_000,
    { since: sinceB },
  );
  assert.equal(added.data.toUserID, bob.userID);
  assert.equal(added.data.reqMsg, 'hello from alice');
  assert.equal(added.data.fromNickname, alice.nickname);
  assert.equal(added.data.handleResult, 0);
  // A raised the same event for itself, once (its own echo is recognised by the operationID).
  await a.events.waitFor(CbEvents.OnFriendApplicationAdded, (r) => r.data?.toUserID === bob.userID, 10_000, {
    since: sinceA,
  });

  const inbox = await b.call('getFriendApplicationListAsRecipient', PAGE);
  const request = inbox.find((r) => r.fromUserID === alice.userID);
  assert.ok(request, 'the application is in B\'s list as recipient');
  assert.equal(request.reqMsg, 'hello from alice');
  assert.ok(request.createTime > 1_700_000_000_000, 'request times are milliseconds');
  const outbox = await a.call('getFriendApplicationListAsApplicant', PAGE);
  assert.ok(outbox.some((r) => r.toUserID === bob.userID && r.handleResult === 0));

  await b.call('acceptFriendApplication', { toUserID: alice.userID, handleMsg: 'welcome' });

  // A: the 1201 notification -> OnFriendApplicationAccepted, and an incremental sync -> OnFriendAdded.
  const accepted = await a.events.waitFor(
    CbEvents.OnFriendApplicationAccepted,
    (r) => r.data?.toUserID === bob.userID,
    10_000,
    { since: sinceA },
  );
  assert.equal(accepted.data.handleResult, 1);
  assert.equal(accepted.data.handleMsg, 'welcome');
  const friendAtA = await a.events.waitFor(CbEvents.OnFriendAdded, (r) => r.data?.userID === bob.userID, 10_000, {
    since: sinceA,
  });
  assert.equal(friendAtA.data.nickname, bob.nickname);
  assert.equal(friendAtA.data.ownerUserID, alice.userID);
  // B: its own sync after accepting -> OnFriendAdded for A.
  await b.events.waitFor(CbEvents.OnFriendAdded, (r) => r.data?.userID === alice.userID, 10_000, { since: sinceB });

  const listA = await a.call('getFriendListPage', PAGE);
  assert.deepEqual(
    listA.map((f) => f.userID),
    [bob.userID],
  );
  assert.ok(Math.abs(listA[0].createTime - Date.now() / 1000) < 300, 'FriendInfo.createTime is in seconds');
  const listB = await b.call('getFriendListPage', PAGE);
  assert.deepEqual(
    listB.map((f) => f.userID),
    [alice.userID],
  );
  const checked = await a.call('checkFriend', [bob.userID]);
  assert.deepEqual(checked, [{ result: 1, userID: bob.userID }]);
  const specified = await a.call('getSpecifiedFriendsInfo', [bob.userID]);
  assert.equal(specified[0]?.userID, bob.userID);

  // A saw OnFriendAdded for B exactly once. B, the accepting side, syncs its friend list itself once
  // the accept call has answered, and skips the 1201 notification of its own operationID; a 1201
  // that arrives before that answer (the server pushes it as soon as it is stored, so under load it
  // can overtake the HTTP response) starts a second sync, and two syncs in flight from the same
  // version both report the insert. That is the SDK's race, not a second notification: B sees the
  // event once or, in that race, twice.
  await eventually(() => {
    assert.equal(a.events.count(CbEvents.OnFriendAdded, (r) => r.data?.userID === bob.userID, { since: sinceA }), 1);
    const atB = b.events.count(CbEvents.OnFriendAdded, (r) => r.data?.userID === alice.userID, { since: sinceB });
    assert.ok(atB === 1 || atB === 2, `B saw OnFriendAdded for A ${atB} times`);
  });

  // Friends chat; once A blacklists B, B's messages to A are refused with 1302.
  const first = await b.sendText(alice.userID, 'hi, friend');
  assert.ok(first.serverMsgID);
  const blackSince = a.events.mark();
  await a.call('addBlack', { toUserID: bob.userID, ex: '' });
  await a.events.waitFor(CbEvents.OnBlackAdded, (r) => r.data?.userID === bob.userID, 10_000, { since: blackSince });
  const blacks = await a.call('getBlackList', PAGE);
  assert.deepEqual(
    blacks.map((x) => x.userID),
    [bob.userID],
  );
  await assert.rejects(
    () => b.sendText(alice.userID, 'are you there?'),
    (err) => {
      assert.equal(err.errCode, 1302, `expected 1302, got ${err.message}`);
      return true;
    },
  );
  await a.call('removeBlack', bob.userID);
  const again = await b.sendText(alice.userID, 'back again');
  assert.ok(again.serverMsgID);
});

test('a refused application reaches the applicant', { timeout: 60_000 }, async () => {
  const { carol, dave } = await createUsers('friend', ['carol', 'dave']);
  const [c, d] = await Promise.all([
    loginSDK({ userID: carol.userID, label: 'carol' }),
    loginSDK({ userID: dave.userID, label: 'dave' }),
  ]);
  const sinceC = c.events.mark();
  await c.call('addFriend', { toUserID: dave.userID, reqMsg: 'may I?' });
  await d.events.waitFor(CbEvents.OnFriendApplicationAdded, (r) => r.data?.fromUserID === carol.userID, 10_000);
  await d.call('refuseFriendApplication', { toUserID: carol.userID, handleMsg: 'no thanks' });
  const rejected = await c.events.waitFor(
    CbEvents.OnFriendApplicationRejected,
    (r) => r.data?.toUserID === dave.userID,
    10_000,
    { since: sinceC },
  );
  assert.equal(rejected.data.handleResult, -1);
  assert.equal(rejected.data.handleMsg, 'no thanks');
  assert.deepEqual(await c.call('getFriendListPage', PAGE), []);
  assert.equal(c.events.count(CbEvents.OnFriendAdded, () => true, { since: sinceC }), 0);
});
