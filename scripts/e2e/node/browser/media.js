// In-page media helpers for the browser media suite: publish the fake
// camera and microphone, attach every subscribed track to an element (so
// Chromium decodes audio too), and report what the receivers decoded from
// WebRTC stats. Exposed as `window.rcMedia`; every method resolves to
// plain JSON.
(() => {
  'use strict';
  const LK = window.LivekitClient;
  const { RoomEvent, Track } = LK;
  const attached = new Set();

  function attach(track) {
    if (attached.has(track.sid)) return;
    attached.add(track.sid);
    const el = track.attach();
    el.muted = false;
    document.body.appendChild(el);
    if (el.play) el.play().catch(() => {});
  }

  async function receiverStats(track) {
    const out = {};
    const stats = await track.receiver?.getStats?.();
    if (!stats) return out;
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      out.packets = s.packetsReceived;
      out.lost = s.packetsLost;
      out.nacks = s.nackCount;
      out.plis = s.pliCount;
      if (s.kind === 'video') {
        out.framesDecoded = s.framesDecoded;
        out.width = s.frameWidth;
        out.height = s.frameHeight;
      } else {
        out.samples = s.totalSamplesReceived;
        out.energy = s.totalAudioEnergy;
        out.concealed = s.concealedSamples;
      }
    });
    return out;
  }

  window.rcMedia = {
    /** Attaches every subscribed track, now and later. */
    autoAttach() {
      const room = window.rc.room();
      if (!room) return { ok: false, error: 'no room' };
      room.on(RoomEvent.TrackSubscribed, (track) => attach(track));
      for (const p of room.remoteParticipants.values()) {
        for (const pub of p.trackPublications.values()) if (pub.track) attach(pub.track);
      }
      return { ok: true };
    },

    /** Publishes the fake camera (720p capture) and microphone. */
    async publishCameraAndMic() {
      const room = window.rc.room();
      try {
        await room.localParticipant.setMicrophoneEnabled(true);
        await room.localParticipant.setCameraEnabled(true, { resolution: LK.VideoPresets.h720.resolution });
        return { ok: true };
      } catch (e) {
        return { ok: false, error: String(e) };
      }
    },

    /** What this page decodes from `identity`'s tracks, by kind. */
    async inbound(identity) {
      const room = window.rc.room();
      const p = room?.remoteParticipants.get(identity);
      const result = { video: null, audio: null };
      if (!p) return result;
      for (const pub of p.trackPublications.values()) {
        if (!pub.track) continue;
        const s = await receiverStats(pub.track);
        if (pub.kind === Track.Kind.Video) result.video = s;
        if (pub.kind === Track.Kind.Audio) result.audio = s;
      }
      return result;
    },
  };
})();
