// "Official SDKs connect", in a real browser: the npm livekit-client (2.23)
// running in headless Chromium joins `ringcast --dev`, on the single-PC
// /rtc/v1 path (the SDK default) and on the dual-PC /rtc path.
//
// The page is served from its own origin (static_server.mjs), so the
// signalling WebSocket, the validate fetch and the media all cross origins
// as in a real deployment. The expectations are those of livekit-server.
//
// Run:  RINGCAST_BIN=target/debug/ringcast node --test scripts/e2e/node/browser_connect.test.mjs
// (default binary target/release/ringcast; Chromium at /usr/bin/chromium or
// $CHROMIUM_BIN). A failure prints the page consoles (SDK debug log), the
// page-side results and the server log tail; RINGCAST_E2E_VERBOSE=1 prints
// the results on success too.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ParticipantInfo_State, RoomServiceClient } from 'livekit-server-sdk';
import { failureReport, joinToken, launchBrowser, openPage } from './browser/browser.mjs';
import { startStaticServer } from './browser/static_server.mjs';
import { DEV_KEY, DEV_SECRET, startServer } from './harness.mjs';

const TEST = { timeout: 60_000 };
const CONNECT_TIMEOUT_MS = 25_000; // in-page bound on one room.connect()
const EVENT_TIMEOUT_MS = 10_000;
const BAD_TOKEN_REFUSED_WITHIN_MS = 20_000;

// Every test runs on both dataplane drivers; the value is the name in the
// server's startup log line (`driver=...`).
const DRIVERS = ['io_uring', 'portable'];
const DRIVER_LOG_NAME = { io_uring: 'Uring', portable: 'Portable' };

// Which PC carries the connection in each mode (livekit-client PCTransportManager).
const MODES = [
  {
    singlePeerConnection: true,
    path: '/rtc/v1',
    pcMode: 'publisher-only',
    primary: 'publisher',
    // the client's own `_reliable`, on its one PC
    reliableChannel: 'pubReliable',
  },
  // livekit-server sets subscriber_primary for a subscriber on /rtc, so the
  // client waits for the server-offered subscriber PC (LIVEKIT_PROTOCOL.md 2.7).
  // Its data arrives on the server-created `_reliable` there (fact 8).
  {
    singlePeerConnection: false,
    path: '/rtc',
    pcMode: 'subscriber-primary',
    primary: 'subscriber',
    reliableChannel: 'subReliable',
  },
];

/**
 * Runs `body(ctx)`; on failure prints page consoles, results and the server
 * log (also on success with RINGCAST_E2E_VERBOSE=1).
 */
async function withDiagnostics(t, server, body) {
  const ctx = { pages: [], results: {} };
  try {
    await body(ctx);
    if (process.env.RINGCAST_E2E_VERBOSE) t.diagnostic(failureReport({ server, results: ctx.results }));
  } catch (e) {
    t.diagnostic(failureReport({ pages: ctx.pages, server, results: ctx.results }));
    throw e;
  } finally {
    await Promise.allSettled(ctx.pages.map((p) => p.close()));
  }
}

function signalPaths(result) {
  return result.sockets.map((s) => s.path);
}

/** Polls the page's snapshot until `ok(snapshot)`; returns the last snapshot. */
async function pageWhen(p, ok, timeoutMs = EVENT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let snap = await p.page.evaluate(() => window.rc.snapshot());
  while (!ok(snap) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    snap = await p.page.evaluate(() => window.rc.snapshot());
  }
  return snap;
}

/** The server's own view of a room, via RoomService: identity -> state name. */
async function serverView(rooms, roomName) {
  const list = await rooms.listParticipants(roomName);
  return Object.fromEntries(list.map((p) => [p.identity, ParticipantInfo_State[p.state] ?? p.state]));
}

/** Polls serverView until `ok(view)` (bookkeeping may lag the signalling a little); returns the last view. */
async function serverViewWhen(rooms, roomName, ok, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  let view = await serverView(rooms, roomName);
  while (!ok(view) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    view = await serverView(rooms, roomName);
  }
  return view;
}

/**
 * Starts ringcast on one dataplane driver and checks from its log that this
 * driver really runs the media (DESIGN.md: tests run on both drivers).
 */
async function startOnDriver(driver) {
  const server = await startServer({
    name: `browser_connect-${driver}`,
    args: ['--config-body', `dataplane:\n  driver: ${driver}\n`],
  });
  const want = `driver=${DRIVER_LOG_NAME[driver]}`;
  const deadline = Date.now() + 5_000;
  while (!server.log().includes(want) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!server.log().includes(want)) {
    await server.stop();
    throw new Error(`dataplane did not start with driver ${driver} (no "${want}" in ${server.logPath})`);
  }
  return server;
}

// One suite per dataplane driver (the body below is indented as a top-level describe).
for (const driver of DRIVERS)
describe(`livekit-client 2.23 in headless Chromium, dataplane driver ${driver}`, { timeout: 300_000 }, () => {
  let server;
  let site;
  let browser;
  let rooms;

  before(async () => {
    server = await startOnDriver(driver);
    rooms = new RoomServiceClient(server.url, DEV_KEY, DEV_SECRET);
    site = await startStaticServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await site?.close();
    await server?.stop();
  });

  for (const mode of MODES) {
    const tag = `singlePeerConnection: ${mode.singlePeerConnection}`;

    test(`two browsers join one room over ${mode.path}, see each other arrive and leave (${tag})`, TEST, async (t) => {
      await withDiagnostics(t, server, async (ctx) => {
        const roomName = `browser-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
        const roomOptions = { singlePeerConnection: mode.singlePeerConnection };
        const a = await openPage(browser, site.url, 'A');
        ctx.pages.push(a);
        const b = await openPage(browser, site.url, 'B');
        ctx.pages.push(b);
        const tokenA = await joinToken(roomName, 'alice');
        const tokenB = await joinToken(roomName, 'bob');

        const connect = (p, token) =>
          p.page.evaluate(([url, tk, ro, ms]) => window.rc.connect(url, tk, ro, {}, ms), [
            server.wsUrl,
            token,
            roomOptions,
            CONNECT_TIMEOUT_MS,
          ]);

        // A joins an empty room.
        const joinedA = (ctx.results.joinedA = await connect(a, tokenA));
        assert.equal(joinedA.error, null, `A: room.connect failed: ${JSON.stringify(joinedA.error)}`);
        assert.equal(joinedA.ok, true);
        assert.equal(joinedA.state, 'connected');
        assert.equal(joinedA.localIdentity, 'alice');
        assert.match(joinedA.localSid, /^PA_.+/);
        assert.equal(joinedA.roomName, roomName);
        assert.ok(joinedA.serverVersion, 'JoinResponse.server_info.version is empty');
        // connect() resolves only after the primary PC connected (ICE + DTLS);
        // check it directly as well, and that no fallback to another path happened.
        assert.deepEqual(signalPaths(joinedA), [mode.path], `signalling sockets opened: ${JSON.stringify(joinedA.sockets)}`);
        assert.equal(joinedA.pc.mode, mode.pcMode, 'peer connection topology');
        assert.equal(joinedA.pc[mode.primary], 'connected', `primary (${mode.primary}) PC state`);
        assert.deepEqual(joinedA.remotes, []);
        // Once its transport is up the server marks A ACTIVE and says so.
        const activeA = (ctx.results.activeA = await a.page.evaluate(
          (ms) => window.rc.waitForActive(null, ms),
          EVENT_TIMEOUT_MS,
        ));
        assert.equal(activeA.ok, true, 'the server never reported A as ACTIVE to A');
        // The reliable data channel on the primary PC opens (SCTP over DTLS).
        const channelsA = (ctx.results.channelsA = await pageWhen(a, (x) => x.dataChannels[mode.reliableChannel] === 'open'));
        assert.equal(channelsA.dataChannels[mode.reliableChannel], 'open', `A ${mode.reliableChannel} data channel`);

        // B joins and learns about A from its JoinResponse.
        const joinedB = (ctx.results.joinedB = await connect(b, tokenB));
        assert.equal(joinedB.error, null, `B: room.connect failed: ${JSON.stringify(joinedB.error)}`);
        assert.equal(joinedB.state, 'connected');
        assert.equal(joinedB.localIdentity, 'bob');
        assert.notEqual(joinedB.localSid, joinedA.localSid);
        assert.deepEqual(signalPaths(joinedB), [mode.path]);
        assert.equal(joinedB.pc[mode.primary], 'connected', `B primary (${mode.primary}) PC state`);
        assert.deepEqual(joinedB.remotes, ['alice'], 'B sees A already in the room');
        assert.deepEqual(joinedB.remoteActive, { alice: true }, 'B learns that A is ACTIVE');

        // A is told that B arrived.
        const arrived = (ctx.results.arrived = await a.page.evaluate(
          ([id, ms]) => window.rc.waitForEvent('ParticipantConnected', id, ms),
          ['bob', EVENT_TIMEOUT_MS],
        ));
        assert.equal(arrived.ok, true, 'A never got ParticipantConnected for bob');
        assert.equal(arrived.event.sid, joinedB.localSid, 'A knows B by the sid B was given');
        assert.deepEqual(arrived.remotes, ['bob']);
        const bobActive = (ctx.results.bobActive = await a.page.evaluate(
          ([id, ms]) => window.rc.waitForActive(id, ms),
          ['bob', EVENT_TIMEOUT_MS],
        ));
        assert.equal(bobActive.ok, true, 'A never learnt that B is ACTIVE');
        ctx.results.serverWithBoth = await serverView(rooms, roomName);
        assert.deepEqual(Object.keys(ctx.results.serverWithBoth).sort(), ['alice', 'bob'], 'RoomService lists both');

        // B leaves; A is told, and stays connected.
        const left = (ctx.results.left = await b.page.evaluate(() => window.rc.disconnect()));
        assert.equal(left.ok, true, `B: disconnect failed: ${JSON.stringify(left.error)}`);
        assert.equal(left.state, 'disconnected');
        const gone = (ctx.results.gone = await a.page.evaluate(
          ([id, ms]) => window.rc.waitForEvent('ParticipantDisconnected', id, ms),
          ['bob', EVENT_TIMEOUT_MS],
        ));
        assert.equal(gone.ok, true, 'A never got ParticipantDisconnected for bob');
        assert.deepEqual(gone.remotes, []);
        assert.equal(gone.state, 'connected', 'A stays connected after B left');
        ctx.results.serverAfterLeave = await serverViewWhen(rooms, roomName, (v) => !('bob' in v));
        assert.deepEqual(Object.keys(ctx.results.serverAfterLeave), ['alice'], 'RoomService no longer lists B');
        assert.ok(
          !gone.events.some((ev) => ev.type === 'Disconnected'),
          `A was disconnected: ${JSON.stringify(gone.events)}`,
        );

        const done = (ctx.results.done = await a.page.evaluate(() => window.rc.disconnect()));
        assert.equal(done.ok, true, `A: disconnect failed: ${JSON.stringify(done.error)}`);
        assert.equal(done.state, 'disconnected');
      });
    });

    test(`RoomService reports a connected browser participant as ACTIVE (${tag})`, TEST, async (t) => {
      await withDiagnostics(t, server, async (ctx) => {
        const roomName = `browser-active-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
        const p = await openPage(browser, site.url, 'C');
        ctx.pages.push(p);
        const token = await joinToken(roomName, 'carol');
        const joined = (ctx.results.joined = await p.page.evaluate(
          ([url, tk, ro, ms]) => window.rc.connect(url, tk, ro, {}, ms),
          [server.wsUrl, token, { singlePeerConnection: mode.singlePeerConnection }, CONNECT_TIMEOUT_MS],
        ));
        assert.equal(joined.error, null, `room.connect failed: ${JSON.stringify(joined.error)}`);
        const active = (ctx.results.active = await p.page.evaluate(
          (ms) => window.rc.waitForActive(null, ms),
          EVENT_TIMEOUT_MS,
        ));
        assert.equal(active.ok, true, 'the server never reported the participant as ACTIVE to it');
        // LiveKit's ListParticipants returns the same ParticipantInfo the client got.
        ctx.results.server = await serverViewWhen(rooms, roomName, (v) => v.carol === 'ACTIVE');
        assert.deepEqual(ctx.results.server, { carol: 'ACTIVE' });
        const left = (ctx.results.left = await p.page.evaluate(() => window.rc.disconnect()));
        assert.equal(left.ok, true);
      });
    });

    test(`rejoining with the same identity evicts the old session as DUPLICATE_IDENTITY (${tag})`, TEST, async (t) => {
      // Every full reconnect of an SDK is such a rejoin (LIVEKIT_PROTOCOL.md 11.18).
      await withDiagnostics(t, server, async (ctx) => {
        const roomName = `browser-dup-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
        const roomOptions = { singlePeerConnection: mode.singlePeerConnection };
        const first = await openPage(browser, site.url, 'D1');
        ctx.pages.push(first);
        const second = await openPage(browser, site.url, 'D2');
        ctx.pages.push(second);
        const connect = async (p) =>
          p.page.evaluate(([url, tk, ro, ms]) => window.rc.connect(url, tk, ro, {}, ms), [
            server.wsUrl,
            await joinToken(roomName, 'dave'),
            roomOptions,
            CONNECT_TIMEOUT_MS,
          ]);

        const old = (ctx.results.old = await connect(first));
        assert.equal(old.error, null, `first session: ${JSON.stringify(old.error)}`);
        const fresh = (ctx.results.fresh = await connect(second));
        assert.equal(fresh.error, null, `second session refused: ${JSON.stringify(fresh.error)}`);
        assert.equal(fresh.state, 'connected');
        assert.notEqual(fresh.localSid, old.localSid, 'the rejoin is a new participant');
        assert.deepEqual(fresh.remotes, [], 'the new session does not see its old self');

        const evicted = (ctx.results.evicted = await first.page.evaluate(
          (ms) => window.rc.waitForEvent('Disconnected', null, ms),
          EVENT_TIMEOUT_MS,
        ));
        assert.equal(evicted.ok, true, 'the old session was never disconnected');
        assert.equal(evicted.event.reasonName, 'DUPLICATE_IDENTITY');
        assert.equal(evicted.state, 'disconnected');
        ctx.results.server = await serverViewWhen(rooms, roomName, (v) => Object.keys(v).length === 1);
        assert.deepEqual(Object.keys(ctx.results.server), ['dave'], 'one dave left on the server');

        const still = (ctx.results.still = await second.page.evaluate(() => window.rc.snapshot()));
        assert.equal(still.state, 'connected', 'the new session survives the eviction');
        await second.page.evaluate(() => window.rc.disconnect());
      });
    });

    test(`a token signed with the wrong secret is refused quickly as NotAllowed (${tag})`, TEST, async (t) => {
      await withDiagnostics(t, server, async (ctx) => {
        const roomName = `browser-badtoken-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
        const p = await openPage(browser, site.url, 'X');
        ctx.pages.push(p);
        const bad = await joinToken(roomName, 'mallory', { secret: 'not-the-dev-secret' });

        const refused = (ctx.results.refused = await p.page.evaluate(
          ([url, tk, ro, ms]) => window.rc.connect(url, tk, ro, {}, ms),
          [server.wsUrl, bad, { singlePeerConnection: mode.singlePeerConnection }, CONNECT_TIMEOUT_MS],
        ));
        assert.equal(refused.ok, false, 'connect with a bad token succeeded');
        assert.equal(refused.error.isConnectionError, true, `not a ConnectionError: ${JSON.stringify(refused.error)}`);
        // The browser cannot see the upgrade status; the SDK learns it from
        // GET <path>/validate, which must answer 401 with CORS headers.
        assert.equal(refused.error.reasonName, 'NotAllowed', `error: ${JSON.stringify(refused.error)}`);
        assert.ok([401, 403].includes(refused.error.status), `status ${refused.error.status}`);
        assert.ok(refused.ms < BAD_TOKEN_REFUSED_WITHIN_MS, `refusal took ${refused.ms} ms`);
        assert.notEqual(refused.state, 'connected');
        assert.deepEqual(
          refused.fetches.map((f) => [f.path, f.status]),
          [[`${mode.path}/validate`, refused.error.status]],
          'one validate call, answered (readable cross-origin)',
        );
      });
    });
  }
});

