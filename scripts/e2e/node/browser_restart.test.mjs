// The dataplane as its own process with livekit-client in headless
// Chromium: `ringcast dataplane` runs the media workers and holds the
// listeners, `ringcast --dataplane-shm` is the control plane. Killing the
// control plane (SIGKILL) and starting another must not stop the media: the
// subscribing page keeps receiving the publisher's audio (its inbound RTP
// packet count never stalls for more than a second), resumes its session
// (same participant sid, signal reconnecting -> connected, never
// disconnected), and the new control plane lists the room. Both variants.
//
// Run:  RINGCAST_BIN=target/debug/ringcast node --test scripts/e2e/node/browser_restart.test.mjs

import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { RoomServiceClient } from 'livekit-server-sdk';
import { failureReport, joinToken, launchBrowser, openPage } from './browser/browser.mjs';
import { startStaticServer } from './browser/static_server.mjs';
import { DEV_KEY, DEV_SECRET, freeTcpPort, freeUdpPort, startServer } from './harness.mjs';

const MODES = [
  { name: '/rtc/v1 single PC', singlePeerConnection: true },
  { name: '/rtc dual PC', singlePeerConnection: false },
];
const MAX_STALL_MS = 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('control-plane restart under livekit-client 2.23 in headless Chromium', { timeout: 300_000 }, () => {
  let site;
  let browser;

  before(async () => {
    site = await startStaticServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await site?.close();
  });

  for (const mode of MODES) {
    test(`the subscriber keeps receiving audio across a control-plane kill (${mode.name})`, { timeout: 120_000 }, async (t) => {
      const port = await freeTcpPort();
      const udpPort = await freeUdpPort();
      const shm = `/dev/shm/ringcast-node-${process.pid}-${udpPort}`;
      const common = { port, udpPort, name: `browser_restart_${mode.singlePeerConnection ? 'v1' : 'v0'}` };
      const procs = [];
      const pages = [];
      const results = {};
      let control;
      let sampling = false;
      try {
        const dataplane = await startServer({ ...common, args: ['--dataplane-shm', shm, 'dataplane'], waitReady: false });
        procs.push(dataplane);
        control = await startServer({ ...common, args: ['--dataplane-shm', shm] });
        procs.push(control);
        const room = `restart-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
        for (const who of ['ann', 'ben']) {
          const p = await openPage(browser, site.url, who);
          pages.push(p);
          const r = await p.page.evaluate(
            ([url, tok, opts]) => window.rc.connect(url, tok, opts),
            [control.wsUrl, await joinToken(room, who), { singlePeerConnection: mode.singlePeerConnection }],
          );
          assert.equal(r.ok, true, `${who} connects: ${JSON.stringify(r.error)}`);
          await p.page.evaluate(() => window.rcMedia.autoAttach());
        }
        const [ann, ben] = pages;
        const pub = await ann.page.evaluate(() => window.rcMedia.publishCameraAndMic());
        assert.equal(pub.ok, true, `ann publishes: ${pub.error}`);
        const benSid = (await ben.page.evaluate(() => window.rc.snapshot())).localSid;

        // Sample ben's inbound audio packets every 100 ms across the restart.
        const samples = [];
        sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const s = await ben.page.evaluate(() => window.rcMedia.inbound('ann')).catch(() => null);
            samples.push({ t: Date.now(), packets: s?.audio?.packets ?? 0 });
            await sleep(100);
          }
        })();
        const flowing = async () => {
          const deadline = Date.now() + 20_000;
          while (Date.now() < deadline) {
            if ((samples.at(-1)?.packets ?? 0) > 100) return true;
            await sleep(100);
          }
          return false;
        };
        assert.ok(await flowing(), 'ben receives ann\'s audio before the restart');
        await sleep(1500);

        const killedAt = Date.now();
        await control.kill();
        await sleep(300);
        control = await startServer({ ...common, args: ['--dataplane-shm', shm] });
        procs.push(control);
        // The log reaches its file through a pipe: give it a moment.
        const tookBack = () => /took back the previous control plane's state/.test(control.log());
        for (let i = 0; i < 50 && !tookBack(); i++) await sleep(100);
        assert.ok(tookBack(), 'the new control plane took the state back');
        // Until ben is connected again (resumed), then a little longer.
        const deadline = Date.now() + 20_000;
        let state;
        while (Date.now() < deadline) {
          state = await ben.page.evaluate(() => window.rc.snapshot());
          const changes = state.events.filter((e) => e.type === 'ConnectionStateChanged').map((e) => e.state);
          const away = Math.max(changes.lastIndexOf('signalReconnecting'), changes.lastIndexOf('reconnecting'));
          if (away >= 0 && changes.indexOf('connected', away) > away) break;
          await sleep(200);
        }
        await sleep(3000);
        sampling = false;
        await sampler;
        results.samples = samples.filter((s) => s.t >= killedAt - 1000);
        results.ben = state = await ben.page.evaluate(() => window.rc.snapshot());

        // The longest time the packet count stood still, from a second before the kill.
        let stall = 0;
        let since = null;
        let last = -1;
        for (const s of results.samples) {
          if (s.packets > last) {
            since = s.t;
            last = s.packets;
          } else if (since !== null) {
            stall = Math.max(stall, s.t - since);
          }
        }
        results.stallMs = stall;
        const changes = state.events.filter((e) => e.type === 'ConnectionStateChanged').map((e) => e.state);
        assert.ok(!state.events.some((e) => e.type === 'Disconnected'), `ben was never disconnected: ${JSON.stringify(changes)}`);
        assert.ok(changes.includes('signalReconnecting'), `ben resumed its signaling: ${JSON.stringify(changes)}`);
        assert.ok(!changes.includes('reconnecting'), `no full reconnect (new PeerConnections): ${JSON.stringify(changes)}`);
        assert.equal(changes.at(-1), 'connected', `ben is connected again: ${JSON.stringify(changes)}`);
        assert.equal(state.localSid, benSid, 'the same session, not a rejoin');
        assert.ok(stall <= MAX_STALL_MS, `ben's audio stalled for ${stall} ms across the restart`);

        const rooms = new RoomServiceClient(control.url, DEV_KEY, DEV_SECRET);
        const listed = await rooms.listParticipants(room);
        assert.deepEqual(listed.map((p) => p.identity).sort(), ['ann', 'ben'], 'the new control plane knows the room');
      } catch (e) {
        t.diagnostic(failureReport({ pages, server: control, results }));
        throw e;
      } finally {
        // A failed assertion must not leave the sampler looping (the test
        // process would never exit).
        sampling = false;
        await Promise.allSettled(pages.map((p) => p.page.evaluate(() => window.rc.disconnect())));
        await Promise.allSettled(pages.map((p) => p.close()));
        for (const p of procs.reverse()) await p.stop().catch(() => {});
        for (const f of [shm, `${shm}.sock`]) {
          try {
            unlinkSync(f);
          } catch {}
        }
      }
    });
  }
});
