// Media between official clients in real browsers: two headless Chromium
// pages (livekit-client 2.23, fake camera and microphone) each decode the
// other's video and receive its audio, on /rtc/v1 (single PC) and /rtc
// (dual PC). Judged by the receivers' own WebRTC stats.
//
// Run:  RINGCAST_BIN=target/debug/ringcast node --test scripts/e2e/node/browser_media.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { failureReport, joinToken, launchBrowser, openPage } from './browser/browser.mjs';
import { startStaticServer } from './browser/static_server.mjs';
import { startServer } from './harness.mjs';

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

describe('browser media with livekit-client 2.23 in headless Chromium', { timeout: 300_000 }, () => {
  let server;
  let site;
  let browser;

  before(async () => {
    server = await startServer({ name: 'browser_media' });
    site = await startStaticServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await site?.close();
    await server?.stop();
  });

  for (const mode of MODES) {
    test(`two pages decode each other's camera and hear each other (${mode.name})`, { timeout: 120_000 }, async (t) => {
      const room = `media-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
      const pages = [];
      const results = {};
      try {
        for (const who of ['ann', 'ben']) {
          const p = await openPage(browser, site.url, who);
          pages.push(p);
          const token = await joinToken(room, who);
          const r = await p.page.evaluate(
            ([url, tok, opts]) => window.rc.connect(url, tok, opts),
            [server.wsUrl, token, { singlePeerConnection: mode.singlePeerConnection }],
          );
          assert.equal(r.ok, true, `${who} connects: ${JSON.stringify(r.error)}`);
          await p.page.evaluate(() => window.rcMedia.autoAttach());
        }
        for (const p of pages) {
          const r = await p.page.evaluate(() => window.rcMedia.publishCameraAndMic());
          assert.equal(r.ok, true, `${p.label} publishes: ${r.error}`);
        }
        const [ann, ben] = pages;
        const decodes = (s) => s.video?.framesDecoded > 30 && s.audio?.samples > 48000;
        results.annSeesBen = await until(() => ann.page.evaluate(() => window.rcMedia.inbound('ben')), decodes, 30_000);
        results.benSeesAnn = await until(() => ben.page.evaluate(() => window.rcMedia.inbound('ann')), decodes, 30_000);
        for (const [k, s] of Object.entries({ ann: results.annSeesBen, ben: results.benSeesAnn })) {
          assert.ok(s.video?.framesDecoded > 30, `${k} decodes video: ${JSON.stringify(s)}`);
          assert.ok(s.video.width > 0 && s.video.height > 0, `${k} knows the frame size`);
          assert.ok(s.audio?.samples > 48000, `${k} receives audio: ${JSON.stringify(s)}`);
          assert.ok(s.audio.energy > 0, `${k} hears a signal, not silence`);
        }
        // The publisher's bandwidth estimate ramps up (TWCC feedback) and the
        // subscriber gets the top layer of the 720p capture.
        results.topLayer = await until(
          () => ann.page.evaluate(() => window.rcMedia.inbound('ben')),
          (s) => s.video?.height >= 720,
          15_000,
        );
        assert.ok(results.topLayer.video?.height >= 720, `top layer reached: ${JSON.stringify(results.topLayer)}`);
      } catch (e) {
        t.diagnostic(failureReport({ pages, server, results }));
        throw e;
      } finally {
        await Promise.allSettled(pages.map((p) => p.page.evaluate(() => window.rc.disconnect())));
        await Promise.allSettled(pages.map((p) => p.close()));
      }
    });
  }
});
