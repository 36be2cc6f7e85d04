//! Rooms in memory: creation, lookup, timeouts, participants.
