use crate::config::Config;

/// All rooms of this node. (Skeleton: filled in by the rooms work.)
#[derive(Debug, Default)]
pub struct RoomRegistry {}

impl RoomRegistry {
    pub fn new(_config: &Config) -> Self {
        Self {}
    }
}
