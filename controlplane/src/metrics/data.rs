//! Data-channel forwarding metrics: packets in/out of the control plane's
//! router, drops by reason, and the data rings' depth and full refusals.

use std::fmt::Write;

use ringcast_shared::stats::RingStats;

use crate::data::DataCountersSnapshot;

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing into a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Appends the data families to `out`. `rings[w]` is worker `w`'s
/// (data-in, data-out) ring stats.
pub fn render_into(out: &mut String, c: &DataCountersSnapshot, rings: &[(RingStats, RingStats)]) {
    family(
        out,
        "ringcast_data_packets_total",
        "counter",
        "Data packets: received from participants (in), copies queued for recipients (out), RoomService SendData calls (server).",
    );
    for (dir, v) in [
        ("in", c.packets_in),
        ("out", c.packets_out),
        ("server", c.server_packets),
    ] {
        let _ = writeln!(
            out,
            "ringcast_data_packets_total{{direction=\"{dir}\"}} {v}"
        );
    }
    family(
        out,
        "ringcast_data_bytes_total",
        "counter",
        "Data packet bytes received from participants (in) and queued for recipients (out).",
    );
    for (dir, v) in [("in", c.bytes_in), ("out", c.bytes_out)] {
        let _ = writeln!(out, "ringcast_data_bytes_total{{direction=\"{dir}\"}} {v}");
    }
    family(
        out,
        "ringcast_data_packets_dropped_total",
        "counter",
        "Data packets (or copies for one recipient) not forwarded, by reason.",
    );
    for (reason, v) in &c.dropped {
        let _ = writeln!(
            out,
            "ringcast_data_packets_dropped_total{{reason=\"{}\"}} {v}",
            reason.as_str()
        );
    }
    if rings.is_empty() {
        return;
    }
    family(
        out,
        "ringcast_data_ring_full_total",
        "counter",
        "Records refused because a data ring was full, per worker and direction.",
    );
    for (w, (rin, rout)) in rings.iter().enumerate() {
        let _ = writeln!(
            out,
            "ringcast_data_ring_full_total{{worker=\"{w}\",direction=\"in\"}} {}",
            rin.full_rejections
        );
        let _ = writeln!(
            out,
            "ringcast_data_ring_full_total{{worker=\"{w}\",direction=\"out\"}} {}",
            rout.full_rejections
        );
    }
}
