// RoomService over Twirp with JSON bodies, driven by the official
// livekit-server-sdk RoomServiceClient against `ringcast --dev`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import { DEV_KEY, DEV_SECRET, startServer, tail } from './harness.mjs';

const T = { timeout: 30_000 };
const AUTH_CODES = ['unauthenticated', 'permission_denied'];

function assertAuthRejection(err) {
  assert.ok([401, 403].includes(err.status), `status ${err.status}: ${err.message}`);
  assert.ok(AUTH_CODES.includes(err.code), `code ${err.code}: ${err.message}`);
  return true;
}

describe('RoomService (livekit-server-sdk, JSON)', T, () => {
  let server;
  let client;

  before(async () => {
    server = await startServer({ name: 'room_service' });
    client = new RoomServiceClient(server.url, DEV_KEY, DEV_SECRET);
  });

  after(async (t) => {
    if (server) await server.stop();
  });

  // One server for the file, so each test uses its own room names.

  test('createRoom returns the requested settings', T, async () => {
    const before = Math.floor(Date.now() / 1000);
    const room = await client.createRoom({ name: 'js-alpha', emptyTimeout: 77, maxParticipants: 5, metadata: 'm0' });
    assert.equal(room.name, 'js-alpha');
    assert.match(room.sid, /^RM_.+/);
    assert.equal(room.emptyTimeout, 77);
    assert.equal(room.maxParticipants, 5);
    assert.equal(room.metadata, 'm0');
    const created = Number(room.creationTime);
    assert.ok(created >= before - 5 && created <= Date.now() / 1000 + 5, `creationTime ${room.creationTime}`);
  });

  test('listRooms lists every room, or only the named ones', T, async () => {
    const made = [];
    for (const name of ['js-l1', 'js-l2', 'js-l3']) made.push(await client.createRoom({ name }));
    const all = (await client.listRooms()).map((r) => r.name);
    for (const name of ['js-l1', 'js-l2', 'js-l3']) assert.ok(all.includes(name), `${name} missing from ${all}`);

    const byName = await client.listRooms(['js-l2']);
    assert.deepEqual(byName.map((r) => r.name), ['js-l2']);
    assert.equal(byName[0].sid, made[1].sid);

    const two = (await client.listRooms(['js-l1', 'js-l3', 'js-none'])).map((r) => r.name).sort();
    assert.deepEqual(two, ['js-l1', 'js-l3']);
    assert.deepEqual(await client.listRooms(['js-none']), []);
  });

  test('updateRoomMetadata returns and stores the new metadata', T, async () => {
    const created = await client.createRoom({ name: 'js-meta', metadata: 'v1' });
    const updated = await client.updateRoomMetadata('js-meta', 'v2 ✓');
    assert.equal(updated.name, 'js-meta');
    assert.equal(updated.sid, created.sid);
    assert.equal(updated.metadata, 'v2 ✓');
    const [listed] = await client.listRooms(['js-meta']);
    assert.equal(listed.metadata, 'v2 ✓');
  });

  test('deleteRoom removes the room', T, async () => {
    await client.createRoom({ name: 'js-drop' });
    await client.deleteRoom('js-drop');
    assert.deepEqual(await client.listRooms(['js-drop']), []);
  });

  test('deleteRoom of a missing room is not_found', T, async () => {
    await assert.rejects(client.deleteRoom('js-ghost'), (err) => {
      assert.equal(err.status, 404, err.message);
      assert.equal(err.code, 'not_found');
      return true;
    });
  });

  test('a client with the wrong secret is rejected with 401', T, async () => {
    const bad = new RoomServiceClient(server.url, DEV_KEY, 'not-the-secret-0123456789abcdefghij');
    await assert.rejects(bad.listRooms(), (err) => {
      assert.equal(err.status, 401, err.message);
      return true;
    });
    await assert.rejects(bad.createRoom({ name: 'js-bad' }), (err) => err.status === 401);
  });

  test('a join-only token cannot list or create rooms', T, async () => {
    const at = new AccessToken(DEV_KEY, DEV_SECRET, { identity: 'alice' });
    at.addGrant({ roomJoin: true, room: 'js-r1' });
    const joinOnly = new RoomServiceClient(server.url, undefined, undefined, { token: await at.toJwt() });
    await assert.rejects(joinOnly.listRooms(), assertAuthRejection);
    await assert.rejects(joinOnly.createRoom({ name: 'js-r1' }), assertAuthRejection);
  });

  test('errors are Twirp JSON with the exact content type', T, async () => {
    const resp = await fetch(`${server.url}/twirp/livekit.RoomService/ListRooms`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    assert.ok([401, 403].includes(resp.status), `status ${resp.status}`);
    assert.equal(resp.headers.get('content-type'), 'application/json');
    const body = await resp.json();
    assert.ok(AUTH_CODES.includes(body.code), JSON.stringify(body));
  });

  test('the server is still alive', T, async () => {
    const resp = await fetch(`${server.url}/`);
    assert.equal(resp.status, 200, tail(server.logPath));
  });
});
