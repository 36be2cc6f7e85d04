//! Twirp RoomService at `/twirp/livekit.RoomService/<Method>`, JSON and protobuf.
