//! LiveKit-style ids: a prefix (`RM_`, `PA_`, `TR_`) and 12 random characters.
