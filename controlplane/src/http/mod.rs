//! HTTP routes: health check, `/rtc/validate`, CORS, and the router that
//! mounts twirp and the signaling WebSockets.
