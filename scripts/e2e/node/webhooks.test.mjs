// Webhooks checked with livekit-server-sdk's WebhookReceiver: a room made
// with RoomServiceClient.createRoom arrives as a verified room_started, and
// deleteRoom as room_finished, signed with the webhook key.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';
import { DEV_KEY, DEV_SECRET, startServer } from './harness.mjs';

const T = { timeout: 30_000 };

/** A local HTTP receiver verifying each delivery as a LiveKit app would. */
async function startReceiver(secret = DEV_SECRET) {
  const receiver = new WebhookReceiver(DEV_KEY, secret);
  const events = [];
  const errors = [];
  const headers = [];
  const waiters = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const http = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      headers.push(req.headers);
      try {
        events.push(await receiver.receive(body, req.headers.authorization));
        res.writeHead(200).end('ok');
      } catch (e) {
        errors.push(String(e));
        res.writeHead(401).end();
      }
      wake();
    });
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    errors,
    headers,
    /** Resolves with the first event called `name` (10 s at most). */
    async waitFor(name) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const e = events.find((ev) => ev.event === name);
        if (e) return e;
        assert.deepEqual(errors, []);
        assert.ok(Date.now() < deadline, `no ${name} webhook; got ${events.map((x) => x.event)}`);
        await new Promise((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    close: () => new Promise((r) => http.close(r)),
  };
}

function webhookArgs(url) {
  return ['--config-body', `webhook:\n  api_key: ${DEV_KEY}\n  urls:\n    - ${url}\n`];
}

describe('webhooks (livekit-server-sdk WebhookReceiver)', T, () => {
  let server;
  let hooks;
  let client;

  before(async () => {
    hooks = await startReceiver();
    server = await startServer({ name: 'webhooks', args: webhookArgs(hooks.url) });
    client = new RoomServiceClient(server.url, DEV_KEY, DEV_SECRET);
  });

  after(async () => {
    if (server) await server.stop();
    if (hooks) await hooks.close();
  });

  test('createRoom sends a verified room_started', T, async () => {
    const room = await client.createRoom({ name: 'js-hook', emptyTimeout: 60 });
    const ev = await hooks.waitFor('room_started');
    assert.equal(ev.room.name, 'js-hook');
    assert.equal(ev.room.sid, room.sid);
    assert.equal(ev.room.emptyTimeout, 60);
    assert.match(ev.id, /^EV_.+/);
    const created = Number(ev.createdAt);
    assert.ok(Math.abs(created - Date.now() / 1000) < 30, `createdAt ${ev.createdAt}`);
    const h = hooks.headers[0];
    assert.equal(h['content-type'], 'application/webhook+json');
    assert.equal(h['user-agent'], 'LiveKit');
    assert.ok(!h.authorization.startsWith('Bearer'), 'raw JWT');
  });

  test('deleteRoom sends a verified room_finished after room_started', T, async () => {
    await client.createRoom({ name: 'js-gone' });
    await client.deleteRoom('js-gone');
    const ev = await hooks.waitFor('room_finished');
    assert.equal(ev.room.name, 'js-gone');
    const names = hooks.events.filter((e) => e.room?.name === 'js-gone').map((e) => e.event);
    assert.deepEqual(names, ['room_started', 'room_finished']);
  });
});

test('a receiver with another secret rejects the delivery', T, async () => {
  const wrong = await startReceiver('another-secret');
  const server = await startServer({ name: 'webhooks-wrong-secret', args: webhookArgs(wrong.url) });
  try {
    await new RoomServiceClient(server.url, DEV_KEY, DEV_SECRET).createRoom({ name: 'x' });
    const deadline = Date.now() + 10_000;
    while (wrong.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(wrong.events.length, 0);
    assert.ok(wrong.errors.length > 0, 'the signature check failed');
  } finally {
    await server.stop();
    await wrong.close();
  }
});
