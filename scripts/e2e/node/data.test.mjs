// Data channels across SDKs: the npm livekit-client (2.23) in headless
// Chromium and the Python `livekit` SDK exchange data through ringcast, both
// ways, on the single-PC /rtc/v1 path and the dual-PC /rtc path
// (LIVEKIT_PROTOCOL.md §5: JS puts destinations in the UserPacket and reads
// data on its subscriber channels in dual-PC mode; Python reads binary only).
//
// The Python side is scripts/e2e/node/python/data_peer.py run with the repo's
// .venv (or $RINGCAST_PYTHON).
//
// Run:  RINGCAST_BIN=target/debug/ringcast node --test scripts/e2e/node/data.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { failureReport, joinToken, launchBrowser, openPage } from './browser/browser.mjs';
import { startStaticServer } from './browser/static_server.mjs';
import { REPO, startServer } from './harness.mjs';

const TEST = { timeout: 90_000 };
const PYTHON = process.env.RINGCAST_PYTHON || join(REPO, '.venv', 'bin', 'python');
const PEER = join(REPO, 'scripts', 'e2e', 'node', 'python', 'data_peer.py');

/** Runs the Python peer; resolves to { code, result, stderr }. */
function runPythonPeer(wsUrl, token, { dualPc, expect }) {
  return new Promise((resolve) => {
    const args = [PEER, wsUrl, token, '--expect', expect, '--timeout', '30'];
    if (dualPc) args.push('--dual-pc');
    const child = spawn(PYTHON, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').filter(Boolean).pop() ?? '';
      let result = null;
      try {
        result = JSON.parse(line);
      } catch {
        result = { unparsed: out.slice(-2000) };
      }
      resolve({ code, result, stderr: err.slice(-4000) });
    });
  });
}

/**
 * In the page: joins with livekit-client directly, records DataReceived, and
 * publishes "hello from web" (topic "web") every 300 ms until a packet from
 * every identity in `expect` arrives; then a few more, so the others surely
 * get one. Then "dm" messages only for `dmTo` (JS puts destinations inside
 * the UserPacket, §5.5), and last a broadcast "end".
 */
async function browserExchange(page, { url, token, singlePeerConnection, expect, dmTo }) {
  return page.evaluate(
    async ({ url, token, singlePeerConnection, expect, dmTo }) => {
      const LK = window.LivekitClient;
      const room = new LK.Room({ singlePeerConnection });
      const got = [];
      room.on(LK.RoomEvent.DataReceived, (payload, participant, kind, topic) => {
        got.push({ text: new TextDecoder().decode(payload), from: participant?.identity ?? null, kind, topic });
      });
      const enc = new TextEncoder();
      try {
        await room.connect(url, token);
        const deadline = performance.now() + 30_000;
        const heardAll = () => expect.every((id) => got.some((g) => g.from === id));
        while (!heardAll() && performance.now() < deadline) {
          await room.localParticipant.publishData(enc.encode('hello from web'), { reliable: true, topic: 'web' });
          await new Promise((r) => setTimeout(r, 300));
        }
        for (let i = 0; i < 5; i++) {
          await room.localParticipant.publishData(enc.encode('hello from web'), { reliable: true, topic: 'web' });
          await new Promise((r) => setTimeout(r, 300));
        }
        for (let i = 0; i < 3; i++) {
          await room.localParticipant.publishData(enc.encode('only for you'), {
            reliable: true,
            topic: 'dm',
            destinationIdentities: dmTo,
          });
        }
        await new Promise((r) => setTimeout(r, 300));
        for (let i = 0; i < 10; i++) {
          await room.localParticipant.publishData(enc.encode('bye'), { reliable: true, topic: 'end' });
          await new Promise((r) => setTimeout(r, 300));
        }
        return { ok: true, got };
      } catch (e) {
        return { ok: false, error: String(e?.message ?? e), got };
      } finally {
        await room.disconnect().catch(() => {});
      }
    },
    { url, token, singlePeerConnection, expect, dmTo },
  );
}

describe('data between livekit-client in Chromium and the Python SDK', { timeout: 300_000 }, () => {
  let server;
  let site;
  let browser;

  before(async () => {
    server = await startServer({ name: 'data' });
    site = await startStaticServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await site?.close();
    await server?.stop();
  });

  for (const singlePeerConnection of [true, false]) {
    test(`browser and Python exchange data both ways (singlePeerConnection: ${singlePeerConnection})`, TEST, async (t) => {
      const roomName = `data-${singlePeerConnection ? 'v1' : 'v0'}`;
      const results = {};
      let p;
      try {
        p = await openPage(browser, site.url, 'web');
        const webToken = await joinToken(roomName, 'web');
        const pyToken = await joinToken(roomName, 'py');
        const eveToken = await joinToken(roomName, 'eve');
        const [web, py, eve] = await Promise.all([
          browserExchange(p.page, {
            url: server.wsUrl,
            token: webToken,
            singlePeerConnection,
            expect: ['py', 'eve'],
            dmTo: ['py'],
          }),
          runPythonPeer(server.wsUrl, pyToken, { dualPc: !singlePeerConnection, expect: 'web' }),
          runPythonPeer(server.wsUrl, eveToken, { dualPc: !singlePeerConnection, expect: 'web' }),
        ]);
        results.web = web;
        results.py = py;
        results.eve = eve;
        assert.equal(web.ok, true, 'browser side failed');
        const fromPy = web.got.find((g) => g.from === 'py');
        assert.ok(fromPy, 'browser never got the Python message');
        assert.equal(fromPy.text, 'hello from python');
        assert.equal(fromPy.topic, 'py');
        assert.ok(!web.got.some((g) => g.from === 'web'), 'the browser got its own message back');
        assert.equal(py.code, 0, 'Python peer failed');
        assert.equal(eve.code, 0, 'second Python peer failed');
        for (const r of [py.result, eve.result]) {
          assert.equal(r.ok, true);
          assert.deepEqual([r.got, r.from, r.topic], ['hello from web', 'web', 'web']);
          assert.equal(r.ended, true, 'the closing broadcast did not arrive');
        }
        // The browser's destinationIdentities (inside the UserPacket) are honoured.
        assert.ok(py.result.topics.includes('dm'), 'py did not get its direct message');
        assert.ok(!eve.result.topics.includes('dm'), 'eve got a message for py');
      } catch (e) {
        t.diagnostic(failureReport({ pages: [p], server, results }));
        throw e;
      } finally {
        await p?.close();
      }
    });
  }
});
