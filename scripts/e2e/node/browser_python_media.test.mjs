// Media across SDKs (issue #4): a Python `livekit` publisher is heard in the
// browser, and the browser's camera is decoded by the Python subscriber.
// livekit-client 2.23 in headless Chromium (fake camera and microphone)
// and scripts/e2e/node/python/media_peer.py (a 440 Hz tone; counts decoded
// frames with rtc.VideoStream) run on /rtc/v1 (single PC) and /rtc (dual PC).
// The browser is judged by its receiver's WebRTC stats.
//
// Run:  RINGCAST_BIN=target/debug/ringcast node --test scripts/e2e/node/browser_python_media.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { failureReport, joinToken, launchBrowser, openPage } from './browser/browser.mjs';
import { startStaticServer } from './browser/static_server.mjs';
import { REPO, startServer } from './harness.mjs';

const PYTHON = process.env.RINGCAST_PYTHON || join(REPO, '.venv', 'bin', 'python');
const PEER = join(REPO, 'scripts', 'e2e', 'node', 'python', 'media_peer.py');

const MODES = [
  { name: '/rtc/v1 single PC', singlePeerConnection: true },
  { name: '/rtc dual PC', singlePeerConnection: false },
];

async function until(fn, ok, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    v = await fn();
  }
  return v;
}

/**
 * Starts the Python peer. `result` resolves to its JSON line (once it has
 * decoded its frames, or given up); `stop()` ends its tone and waits for it
 * to leave, resolving to { code, stderr }.
 */
function startPythonPeer(wsUrl, token, { dualPc, expect }) {
  const args = [PEER, wsUrl, token, '--expect', expect, '--frames', '30', '--timeout', '40'];
  if (dualPc) args.push('--dual-pc');
  const child = spawn(PYTHON, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onLine;
  const result = new Promise((resolve) => (onLine = resolve));
  child.stdout.on('data', (d) => {
    out += d;
    const line = out.split('\n').find((l) => l.trim().startsWith('{'));
    if (line) {
      try {
        onLine(JSON.parse(line));
      } catch {
        onLine({ unparsed: line });
      }
    }
  });
  child.stderr.on('data', (d) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const closed = new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      onLine({ exited: code, out: out.slice(-2000) });
      resolve({ code, stderr: err.slice(-4000) });
    }),
  );
  return {
    result,
    stderr: () => err.slice(-4000),
    async stop() {
      child.stdin.end('stop\n');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const r = await closed;
      clearTimeout(t);
      return r;
    },
  };
}

describe('media between livekit-client in Chromium and the Python SDK', { timeout: 300_000 }, () => {
  let server;
  let site;
  let browser;

  before(async () => {
    server = await startServer({ name: 'browser_python_media' });
    site = await startStaticServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await site?.close();
    await server?.stop();
  });

  for (const mode of MODES) {
    test(`the browser hears the Python tone and Python decodes the browser camera (${mode.name})`, { timeout: 120_000 }, async (t) => {
      const room = `pymedia-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
      const results = {};
      let p;
      let peer;
      try {
        p = await openPage(browser, site.url, 'web');
        const r = await p.page.evaluate(
          ([url, tok, opts]) => window.rc.connect(url, tok, opts),
          [server.wsUrl, await joinToken(room, 'web'), { singlePeerConnection: mode.singlePeerConnection }],
        );
        assert.equal(r.ok, true, `web connects: ${JSON.stringify(r.error)}`);
        await p.page.evaluate(() => window.rcMedia.autoAttach());
        const pub = await p.page.evaluate(() => window.rcMedia.publishCameraAndMic());
        assert.equal(pub.ok, true, `web publishes: ${pub.error}`);

        peer = startPythonPeer(server.wsUrl, await joinToken(room, 'py'), {
          dualPc: !mode.singlePeerConnection,
          expect: 'web',
        });
        // Both directions at once: the page listens while Python decodes.
        const [heard, decoded] = await Promise.all([
          until(
            () => p.page.evaluate(() => window.rcMedia.inbound('py')),
            (s) => s.audio?.samples > 48000 && s.audio?.energy > 0,
            45_000,
          ),
          peer.result,
        ]);
        results.browserHearsPython = heard;
        results.pythonDecodes = decoded;
        assert.ok(heard.audio?.samples > 48000, `the browser receives the tone: ${JSON.stringify(heard)}`);
        assert.ok(heard.audio.energy > 0, 'the browser hears a signal, not silence');
        assert.equal(decoded.tone_published, true, `Python published: ${JSON.stringify(decoded)}`);
        assert.ok(decoded.frames > 20, `Python decodes the camera: ${JSON.stringify(decoded)}`);
        assert.ok(decoded.width > 0 && decoded.height > 0, `Python knows the frame size: ${JSON.stringify(decoded)}`);
        const end = await peer.stop();
        peer = null;
        results.pythonExit = end;
        assert.equal(end.code, 0, `Python peer failed: ${end.stderr}`);
        t.diagnostic(`py decoded ${decoded.frames} frames ${decoded.width}x${decoded.height}; web heard ${JSON.stringify(heard.audio)}`);
      } catch (e) {
        if (peer) results.pythonStderr = peer.stderr();
        t.diagnostic(failureReport({ pages: [p], server, results }));
        throw e;
      } finally {
        await peer?.stop().catch(() => {});
        await p?.page.evaluate(() => window.rc.disconnect()).catch(() => {});
        await p?.close().catch(() => {});
      }
    });
  }
});
