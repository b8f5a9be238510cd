// A compressed session's two directions, decoded in front of the command tracker.
#pragma once

#include <optional>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "tether/session/command_tracker.hpp"
#include "tether/session/compressed_stream_decoder.hpp"

namespace tether::session {

// The algorithm both sides agreed on in the login, if any: zlib when
// CLIENT_COMPRESS is set (also when ZSTD is set too, as MySQL does), else zstd.
std::optional<CompressionAlgorithm> agreed_compression(codec::Capabilities agreed);

// The relay forwards every frame unchanged; this feeds the tracker the packets
// inside them. A frame that cannot be decoded abandons the tracker (the
// session relays blindly from then on, counted as a desync with the reason):
// a tracking problem never closes a healthy session.
class CompressedCommandFeed {
public:
    explicit CompressedCommandFeed(CompressionAlgorithm algorithm) : from_client_(algorithm), from_server_(algorithm) {}

    void on_client_bytes(CommandTracker& tracker, codec::Bytes chunk, Clock::time_point now);
    void on_server_bytes(CommandTracker& tracker, codec::Bytes chunk);

    // Both directions between frames: tether may write a frame of its own.
    [[nodiscard]] bool at_frame_boundary() const {
        return from_client_.at_frame_boundary() && from_server_.at_frame_boundary();
    }
    [[nodiscard]] bool holds_inflater() const { return from_client_.holds_inflater() || from_server_.holds_inflater(); }

    // A COM_QUIT in a stored frame (compressed sequence id 0: a new command).
    static void append_com_quit(std::vector<std::byte>& out);

private:
    CompressedStreamDecoder from_client_;
    CompressedStreamDecoder from_server_;
};

}  // namespace tether::session
