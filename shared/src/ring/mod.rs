//! Lock-free single-producer/single-consumer rings: in-process
//! ([`spsc::channel`]) and over shared memory between the planes
//! ([`shm::ShmRegion`]).

pub mod handover;
pub mod shm;
pub mod spsc;

pub use handover::{HandoverError, CONTROL_STATE_BYTES};
pub use shm::{DataplaneInfo, ShmBacking, ShmError, ShmRegion};
pub use spsc::{channel, Consumer, Producer, RingError};
