//! Starting the server: state, listeners, the dataplane, shutdown.
