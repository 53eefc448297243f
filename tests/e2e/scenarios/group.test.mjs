// Groups with the official SDK: life cycle with messages in order at every member; invite, kick and
// quit changing who receives; mutes blocking sends; dismissal; an offline member converging at the
// next login through the version-log sync and the stored notification copies.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CbEvents } from '@openim/client-sdk';
import { ContentType, SessionType, cleanup, createUsers, eventually, loginSDK, sleep, textOf } from '../lib/harness.mjs';

after(cleanup);

const GroupNotification = Object.freeze({
  Created: 1501,
  MemberKicked: 1508,
  MemberInvited: 1509,
  GroupInfoSetName: 1520,
});

async function createGroup(owner, members, groupName) {
  const group = await owner.call('createGroup', {
    groupInfo: { groupName, groupType: 2 },
    memberUserIDs: members.map((m) => m.userID),
    adminUserIDs: [],
  });
  assert.ok(group.groupID, 'createGroup returns the group');
  return group;
}

async function sendGroupText(client, groupID, text) {
  const message = await client.call('createTextMessage', text);
  return client.call('sendMessage', { recvID: '', groupID, message });
}

async function sendFails(client, groupID, text) {
  try {
    await sendGroupText(client, groupID, text);
  } catch (err) {
    return err.errCode;
  }
  assert.fail(`[${client.label}] sending "${text}" should have been refused`);
}

function groupTexts(client, groupID, { since = 0 } = {}) {
  return client
    .received({ since })
    .filter((m) => m.groupID === groupID && m.contentType === ContentType.Text)
    .map(textOf);
}

async function members(client, groupID) {
  const list = await client.call('getGroupMemberList', { groupID, filter: 0, offset: 0, count: 50 });
  return list.map((m) => [m.userID, m.roleLevel]);
}

test('life cycle: create, everybody chats, every member gets every message in order', { timeout: 90_000 }, async () => {
  const { owner, bob, carol } = await createUsers('grplife', ['owner', 'bob', 'carol']);
  const o = await loginSDK({ userID: owner.userID, label: 'owner' });
  const b = await loginSDK({ userID: bob.userID, label: 'bob' });
  const c = await loginSDK({ userID: carol.userID, label: 'carol' });

  const group = await createGroup(o, [bob, carol], 'life cycle');
  assert.equal(group.ownerUserID, owner.userID);
  assert.equal(group.memberCount, 3);
  for (const client of [b, c]) {
    await client.events.waitFor(CbEvents.OnJoinedGroupAdded, (r) => r.data.groupID === group.groupID);
  }
  assert.deepEqual(await members(b, group.groupID), [
    [owner.userID, 100],
    [bob.userID, 20],
    [carol.userID, 20],
  ]);
  const joined = await b.call('getJoinedGroupListPage', { offset: 0, count: 20 });
  assert.deepEqual(
    joined.map((g) => [g.groupID, g.groupName, g.memberCount]),
    [[group.groupID, 'life cycle', 3]],
  );

  // Five messages from three senders, one after another.
  const script = [
    [o, 'one'],
    [b, 'two'],
    [c, 'three'],
    [o, 'four'],
    [b, 'five'],
  ];
  const texts = script.map(([, t]) => `${t} ${Date.now()}`);
  for (const [i, [client]] of script.entries()) await sendGroupText(client, group.groupID, texts[i]);

  for (const client of [o, b, c]) {
    const expected = texts.filter((_, i) => script[i][0] !== client); // the sender sees no echo of its own
    await client.events.waitUntil(
      () => groupTexts(client, group.groupID).length >= expected.length,
      10_000,
      `${expected.length} group messages`,
    );
    assert.deepEqual(groupTexts(client, group.groupID), expected, `[${client.label}] arrival order`);
    // The sender's own last message reaches its history with the echo that follows the ack.
    const page = await eventually(
      async () => {
        const p = await client.history(`sg_${group.groupID}`, { count: 50 });
        const got = p.messageList.filter((m) => m.contentType === ContentType.Text).map(textOf);
        assert.deepEqual(got, texts, `[${client.label}] history`);
        return p;
      },
      { what: `[${client.label}] history of all five messages` },
    );
    const stored = page.messageList.filter((m) => m.contentType === ContentType.Text);
    const seqs = stored.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'history in seq order');
    assert.ok(
      page.messageList.some((m) => m.contentType === GroupNotification.Created),
      'the 1501 copy is part of the history',
    );
    assert.equal(stored[0].sessionType, SessionType.Group);
  }
});

test('invite, kick and quit change who receives', { timeout: 90_000 }, async () => {
  const { owner, bob, carol, dave } = await createUsers('grpmove', ['owner', 'bob', 'carol', 'dave']);
  const o = await loginSDK({ userID: owner.userID, label: 'owner' });
  const b = await loginSDK({ userID: bob.userID, label: 'bob' });
  const c = await loginSDK({ userID: carol.userID, label: 'carol' });
  const d = await loginSDK({ userID: dave.userID, label: 'dave' });
  const group = await createGroup(o, [bob, carol], 'moves');
  await b.events.waitFor(CbEvents.OnJoinedGroupAdded, (r) => r.data.groupID === group.groupID);
  await c.events.waitFor(CbEvents.OnJoinedGroupAdded, (r) => r.data.groupID === group.groupID);

  await o.call('inviteUserToGroup', { groupID: group.groupID, reason: 'welcome', userIDList: [dave.userID] });
  await d.events.waitFor(CbEvents.OnJoinedGroupAdded, (r) => r.data.groupID === group.groupID);
  await b.events.waitFor(CbEvents.OnGroupMemberAdded, (r) => r.data.userID === dave.userID);
  const afterInvite = `after invite ${Date.now()}`;
  await sendGroupText(o, group.groupID, afterInvite);
  await d.waitForMessage((m) => textOf(m) === afterInvite, 10_000, 'the first message after the invitation');

  await o.call('kickGroupMember', { groupID: group.groupID, reason: 'bye', userIDList: [carol.userID] });
  await c.events.waitFor(CbEvents.OnJoinedGroupDeleted, (r) => r.data.groupID === group.groupID);
  await b.events.waitFor(CbEvents.OnGroupMemberDeleted, (r) => r.data.userID === carol.userID);

  await b.call('quitGroup', group.groupID);
  await b.events.waitFor(CbEvents.OnJoinedGroupDeleted, (r) => r.data.groupID === group.groupID);
  await o.events.waitFor(CbEvents.OnGroupMemberDeleted, (r) => r.data.userID === bob.userID);

  const bMark = b.events.mark();
  const cMark = c.events.mark();
  const afterLeave = `after kick and quit ${Date.now()}`;
  await sendGroupText(o, group.groupID, afterLeave);
  await d.waitForMessage((m) => textOf(m) === afterLeave, 10_000, 'the message after kick and quit');
  await sleep(1_000);
  assert.deepEqual(groupTexts(b, group.groupID, { since: bMark }), [], 'bob quit: nothing more');
  assert.deepEqual(groupTexts(c, group.groupID, { since: cMark }), [], 'carol was kicked: nothing more');
  assert.deepEqual(await members(o, group.groupID), [
    [owner.userID, 100],
    [dave.userID, 20],
  ]);
  assert.ok((await sendFails(c, group.groupID, 'still here?')) !== 0, 'a kicked member cannot send');
});

test('muting the group or a member blocks their sends', { timeout: 90_000 }, async () => {
  const { owner, bob } = await createUsers('grpmute', ['owner', 'bob']);
  const o = await loginSDK({ userID: owner.userID, label: 'owner' });
  const b = await loginSDK({ userID: bob.userID, label: 'bob' });
  const group = await createGroup(o, [bob], 'mutes');
  await b.events.waitFor(CbEvents.OnJoinedGroupAdded, (r) => r.data.groupID === group.groupID);
  await sendGroupText(b, group.groupID, 'before any mute');

  await o.call('changeGroupMute', { groupID: group.groupID, isMute: true });
  await b.events.waitFor(CbEvents.OnGroupInfoChanged, (r) => r.data.groupID === group.groupID && r.data.status === 3);
  assert.equal(await sendFails(b, group.groupID, 'group muted'), 1403);
  await sendGroupText(o, group.groupID, 'the owner still speaks');
  await o.call('changeGroupMute', { groupID: group.groupID, isMute: false });
  await b.events.waitFor(CbEvents.OnGroupInfoChanged, (r) => r.data.groupID === group.groupID && r.data.status === 0);
  await sendGroupText(b, group.groupID, 'group unmuted');

  await o.call('changeGroupMemberMute', { groupID: group.groupID, userID: bob.userID, mutedSeconds: 600 });
  await b.events.waitFor(
    CbEvents.OnGroupMemberInfoChanged,
    (r) => r.data.userID === bob.userID && r.data.muteEndTime > Date.now(),
  );
  assert.equal(await sendFails(b, group.groupID, 'member muted'), 1402);
  await o.call('changeGroupMemberMute', { groupID: group.groupID, userID: bob.userID, mutedSeconds: 0 });
  await b.events.waitFor(CbEvents.OnGroupMemberInfoChanged, (r) => r.data.userID === bob.userID && r.data.muteEndTime === 0);
  await sendGroupText(b, group.groupID, 'member unmuted');
});

test('dismissing the group tells the members and stops sends', { timeout: 60_000 }, async () => {
  const { owner, bob } = await createUsers('grpend', ['owner', 'bob']);
  const o = await loginSDK({ userID: owner.userID, label: 'owner' });
  const b = await loginSDK({ userID: bob.userID, label: 'bob' });
  const group = await createGroup(o, [bob], 'short lived');
  await b.events.waitFor(CbEvents.OnJoinedGroupAdded, (r) => r.data.groupID === group.groupID);
  await o.call('dismissGroup', group.groupID);
  await b.events.waitFor(CbEvents.OnGroupDismissed, (r) => r.data.groupID === group.groupID);
  assert.equal(await sendFails(b, group.groupID, 'anyone there?'), 1204);
});

test('a member offline while the group changed converges at the next login', { timeout: 90_000 }, async () => {
  const { owner, bob, carol, erin } = await createUsers('grpaway', ['owner', 'bob', 'carol', 'erin']);
  const o = await loginSDK({ userID: owner.userID, label: 'owner' });
  const group = await createGroup(o, [bob, carol], 'before');
  const bFirst = await loginSDK({ userID: bob.userID, label: 'bob-first' });
  assert.equal((await bFirst.call('getJoinedGroupListPage', { offset: 0, count: 20 }))[0].groupName, 'before');
  await bFirst.logout();

  // While bob is away: rename, invite erin, kick carol, three messages.
  await o.call('setGroupInfo', { groupID: group.groupID, groupName: 'after' });
  await o.call('inviteUserToGroup', { groupID: group.groupID, reason: '', userIDList: [erin.userID] });
  await o.call('kickGroupMember', { groupID: group.groupID, reason: '', userIDList: [carol.userID] });
  const texts = [1, 2, 3].map((i) => `while away ${i} ${Date.now()}`);
  for (const text of texts) await sendGroupText(o, group.groupID, text);

  const b = await loginSDK({ userID: bob.userID, label: 'bob-back' });
  const joined = await b.call('getJoinedGroupListPage', { offset: 0, count: 20 });
  assert.deepEqual(
    joined.map((g) => [g.groupID, g.groupName, g.memberCount]),
    [[group.groupID, 'after', 3]],
  );
  assert.deepEqual(await members(b, group.groupID), [
    [owner.userID, 100],
    [bob.userID, 20],
    [erin.userID, 20],
  ]);
  const conversationID = `sg_${group.groupID}`;
  const conversation = await eventually(
    async () => {
      const found = (await b.conversations()).find((x) => x.conversationID === conversationID);
      assert.ok(found, 'the group conversation is listed');
      return found;
    },
    { what: "bob's conversation list shows the group" },
  );
  assert.equal(conversation.groupID, group.groupID);
  assert.equal(textOf(JSON.parse(conversation.latestMsg)), texts[2]);
  const page = await b.history(conversationID, { count: 50 });
  const kinds = page.messageList.map((m) => m.contentType);
  for (const kind of [GroupNotification.GroupInfoSetName, GroupNotification.MemberInvited, GroupNotification.MemberKicked]) {
    assert.ok(kinds.includes(kind), `the ${kind} copy is in the history (${kinds.join(',')})`);
  }
  assert.deepEqual(
    page.messageList.filter((m) => m.contentType === ContentType.Text).map(textOf),
    texts,
  );

  // carol was kicked while offline: the group is gone from her list and later messages stay hidden.
  const c = await loginSDK({ userID: carol.userID, label: 'carol-back' });
  assert.deepEqual(await c.call('getJoinedGroupListPage', { offset: 0, count: 20 }), []);
  const carolPage = await c.history(conversationID, { count: 50 });
  assert.ok(
    carolPage.messageList.every((m) => !texts.includes(textOf(m))),
    'messages after the kick are not readable by carol',
  );
});
