// Simulcast layer choice with livekit-client 2.23 in headless Chromium:
// - the publisher pauses its top layer (encoding `f` inactive): the
//   subscriber falls back to the next one (the dataplane reports the SSRC
//   stopped), and gets 720p again when it resumes;
// - the subscriber asks for a smaller size (setVideoDimensions, i.e.
//   UpdateTrackSettings width/height): it gets the smallest layer at least
//   that large;
// - the subscriber disables the track (setEnabled(false)): forwarding of a
//   single-layer camera pauses and resumes on setEnabled(true); a simulcast
//   one that switched layers pauses and resumes without freezing.
// Judged by the subscriber's WebRTC stats (frameHeight, framesDecoded).
//
// Run:  RINGCAST_BIN=target/debug/ringcast node --test scripts/e2e/node/browser_layers.test.mjs

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** In the publisher's page: (de)activates the camera's simulcast encoding `rid`. */
function setEncodingActive(page, rid, active) {
  return page.evaluate(
    async ([rid, active]) => {
      const LK = window.LivekitClient;
      const pub = window.rc.room().localParticipant.getTrackPublication(LK.Track.Source.Camera);
      const sender = pub?.track?.sender;
      if (!sender) return { ok: false, error: 'no camera sender' };
      const params = sender.getParameters();
      const enc = params.encodings.find((e) => e.rid === rid);
      if (!enc) return { ok: false, error: `no encoding ${rid}: ${JSON.stringify(params.encodings)}` };
      enc.active = active;
      await sender.setParameters(params);
      return { ok: true, rids: params.encodings.map((e) => [e.rid, e.active]) };
    },
    [rid, active],
  );
}

/** In the subscriber's page: calls `method(arg)` on `identity`'s camera publication. */
function onCameraPublication(page, identity, method, arg) {
  return page.evaluate(
    ([identity, method, arg]) => {
      const LK = window.LivekitClient;
      const p = window.rc.room().remoteParticipants.get(identity);
      const pub = p?.getTrackPublication(LK.Track.Source.Camera);
      if (!pub) return { ok: false, error: 'no camera publication' };
      pub[method](arg);
      return { ok: true };
    },
    [identity, method, arg],
  );
}

describe('simulcast layer choice with livekit-client 2.23 in headless Chromium', { timeout: 400_000 }, () => {
  let server;
  let site;
  let browser;

  before(async () => {
    server = await startServer({ name: 'browser_layers' });
    site = await startStaticServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await site?.close();
    await server?.stop();
  });

  for (const mode of MODES) {
    test(`paused top layer falls back and returns; a smaller size gets a smaller layer (${mode.name})`, { timeout: 150_000 }, async (t) => {
      const room = `layers-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
      const pages = [];
      const results = {};
      try {
        for (const who of ['ann', 'ben']) {
          const p = await openPage(browser, site.url, who);
          pages.push(p);
          const r = await p.page.evaluate(
            ([url, tok, opts]) => window.rc.connect(url, tok, opts),
            [server.wsUrl, await joinToken(room, who), { singlePeerConnection: mode.singlePeerConnection }],
          );
          assert.equal(r.ok, true, `${who} connects: ${JSON.stringify(r.error)}`);
        }
        const [ann, ben] = pages;
        await ben.page.evaluate(() => window.rcMedia.autoAttach());
        const pub = await ann.page.evaluate(() => window.rcMedia.publishCameraAndMic());
        assert.equal(pub.ok, true, `ann publishes: ${pub.error}`);
        const seen = () => ben.page.evaluate(() => window.rcMedia.inbound('ann')).then((s) => s.video ?? {});

        results.top = await until(seen, (v) => v.height >= 720, 30_000);
        assert.ok(results.top.height >= 720, `ben gets the top layer: ${JSON.stringify(results.top)}`);

        // The publisher pauses f: after the dataplane's 1.5 s of silence ben
        // is switched to h (at its next keyframe).
        results.pauseF = await setEncodingActive(ann.page, 'f', false);
        assert.equal(results.pauseF.ok, true, results.pauseF.error);
        results.fallback = await until(seen, (v) => v.height > 0 && v.height <= 360, 15_000);
        assert.ok(results.fallback.height === 360, `fell back to h: ${JSON.stringify(results.fallback)}`);
        const before = results.fallback.framesDecoded;
        await sleep(1000);
        results.stillFlowing = await seen();
        assert.ok(results.stillFlowing.framesDecoded > before + 10, `frames keep coming on h: ${JSON.stringify(results.stillFlowing)}`);

        results.resumeF = await setEncodingActive(ann.page, 'f', true);
        assert.equal(results.resumeF.ok, true, results.resumeF.error);
        results.back = await until(seen, (v) => v.height >= 720, 20_000);
        assert.ok(results.back.height >= 720, `back on f: ${JSON.stringify(results.back)}`);

        // The subscriber asks for 320x180: the q layer.
        assert.equal((await onCameraPublication(ben.page, 'ann', 'setVideoDimensions', { width: 320, height: 180 })).ok, true);
        results.small = await until(seen, (v) => v.height > 0 && v.height <= 180, 15_000);
        assert.equal(results.small.height, 180, `q for 320x180: ${JSON.stringify(results.small)}`);

        // Disabled and enabled again after layer switches: the down-track is
        // not paused (it could not resume with continuous sequence numbers)
        // and the video never freezes.
        assert.equal((await onCameraPublication(ben.page, 'ann', 'setEnabled', false)).ok, true);
        await sleep(1500);
        assert.equal((await onCameraPublication(ben.page, 'ann', 'setEnabled', true)).ok, true);
        const mark = (await seen()).framesDecoded;
        results.afterToggle = await until(seen, (v) => v.framesDecoded > mark + 20, 15_000);
        assert.ok(results.afterToggle.framesDecoded > mark + 20, `no freeze after disable/enable: ${JSON.stringify(results.afterToggle)}`);
        t.diagnostic(`heights: ${results.top.height} -> ${results.fallback.height} -> ${results.back.height} -> ${results.small.height}`);
      } catch (e) {
        t.diagnostic(failureReport({ pages, server, results }));
        throw e;
      } finally {
        await Promise.allSettled(pages.map((p) => p.page.evaluate(() => window.rc.disconnect())));
        await Promise.allSettled(pages.map((p) => p.close()));
      }
    });

    // Without simulcast the down-track never switches layers, so a pause
    // is a RemoveDownTrack and the resume an AddDownTrack from the same
    // source (its sequence numbers go on forward).
    test(
      `setEnabled(false) pauses a single-layer camera and setEnabled(true) resumes it (${mode.name})`,
      { timeout: 120_000 },
      async (t) => {
        const room = `enable-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
        const pages = [];
        const results = {};
        try {
          for (const who of ['ann', 'ben']) {
            const p = await openPage(browser, site.url, who);
            pages.push(p);
            const r = await p.page.evaluate(
              ([url, tok, opts]) => window.rc.connect(url, tok, opts),
              [server.wsUrl, await joinToken(room, who), { singlePeerConnection: mode.singlePeerConnection }],
            );
            assert.equal(r.ok, true, `${who} connects: ${JSON.stringify(r.error)}`);
          }
          const [ann, ben] = pages;
          await ben.page.evaluate(() => window.rcMedia.autoAttach());
          const pub = await ann.page.evaluate(async () => {
            const LK = window.LivekitClient;
            try {
              await window.rc
                .room()
                .localParticipant.setCameraEnabled(true, { resolution: LK.VideoPresets.h360.resolution }, { simulcast: false });
              return { ok: true };
            } catch (e) {
              return { ok: false, error: String(e) };
            }
          });
          assert.equal(pub.ok, true, `ann publishes: ${pub.error}`);
          const seen = () => ben.page.evaluate(() => window.rcMedia.inbound('ann')).then((s) => s.video ?? {});
          results.flowing = await until(seen, (v) => v.framesDecoded > 30, 30_000);
          assert.ok(results.flowing.framesDecoded > 30, `ben decodes: ${JSON.stringify(results.flowing)}`);

          // Disabled: nothing decoded any more; enabled: frames again.
          assert.equal((await onCameraPublication(ben.page, 'ann', 'setEnabled', false)).ok, true);
          await sleep(1000);
          const paused0 = (await seen()).framesDecoded;
          await sleep(2000);
          results.paused = await seen();
          assert.ok(results.paused.framesDecoded - paused0 <= 2, `paused: ${paused0} -> ${JSON.stringify(results.paused)}`);
          assert.equal((await onCameraPublication(ben.page, 'ann', 'setEnabled', true)).ok, true);
          results.resumed = await until(seen, (v) => v.framesDecoded > results.paused.framesDecoded + 20, 15_000);
          assert.ok(
            results.resumed.framesDecoded > results.paused.framesDecoded + 20,
            `resumed: ${JSON.stringify(results.resumed)}`,
          );
          t.diagnostic(`frames paused ${paused0}->${results.paused.framesDecoded}, resumed ${results.resumed.framesDecoded}`);
        } catch (e) {
          t.diagnostic(failureReport({ pages, server, results }));
          throw e;
        } finally {
          await Promise.allSettled(pages.map((p) => p.page.evaluate(() => window.rc.disconnect())));
          await Promise.allSettled(pages.map((p) => p.close()));
        }
      },
    );
  }
});
