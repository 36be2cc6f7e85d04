//! `ringcast dataplane`: the media workers as their own process. It
//! creates the region at the given path (a file, normally under /dev/shm),
//! starts the workers on it, binds the HTTP/WebSocket listeners and hands
//! them to each control plane that attaches, and runs until SIGINT/SIGTERM.

use std::path::Path;

use ringcast_shared::ring::{ShmBacking, ShmRegion};

use super::listeners;
use crate::config::Config;
use crate::server::{bind_http_listeners, dataplane_config, ServerError};

/// Runs the dataplane process until a shutdown signal.
pub fn run(config: &Config, shm_path: &Path) -> Result<(), ServerError> {
    let starter = crate::server::dataplane_starter()
        .ok_or_else(|| ServerError::Dataplane("this binary has no dataplane".into()))?;
    let dp = dataplane_config(config);
    let region = ShmRegion::create(
        &ShmBacking::Path(shm_path.to_path_buf()),
        dp.workers,
        dp.ring_capacity,
    )
    .map_err(|e| ServerError::Dataplane(e.to_string()))?;
    let bound = bind_http_listeners(config)?;
    let sock = listeners::socket_path(shm_path);
    listeners::serve(&sock, bound)?;
    let guard = starter(&dp, &region).map_err(ServerError::Dataplane)?;
    tracing::info!(region = %shm_path.display(), handover = %sock.display(), workers = dp.workers, "dataplane process running; attach a control plane with --dataplane-shm");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(crate::server::shutdown_signal());
    drop(guard);
    let _ = std::fs::remove_file(&sock);
    let _ = std::fs::remove_file(shm_path);
    tracing::info!("dataplane process stopped");
    Ok(())
}
