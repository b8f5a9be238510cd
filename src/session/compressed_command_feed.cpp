// Compressed-session decoding in front of the command tracker (see compressed_command_feed.hpp).
#include "tether/session/compressed_command_feed.hpp"

#include "tether/codec/command.hpp"

namespace tether::session {

std::optional<CompressionAlgorithm> agreed_compression(codec::Capabilities agreed) {
    if ((agreed & codec::cap::compress) != 0) return CompressionAlgorithm::zlib;
    if ((agreed & codec::cap::zstd_compression) != 0) return CompressionAlgorithm::zstd;
    return std::nullopt;
}

void CompressedCommandFeed::on_client_bytes(CommandTracker& tracker, codec::Bytes chunk, Clock::time_point now) {
    codec::Bytes inner;
    while (tracker.synced() && from_client_.next(chunk, inner)) tracker.on_client_bytes(inner, now);
    if (from_client_.failed() && tracker.synced()) tracker.abandon(from_client_.error());
}

void CompressedCommandFeed::on_server_bytes(CommandTracker& tracker, codec::Bytes chunk) {
    codec::Bytes inner;
    while (tracker.synced() && from_server_.next(chunk, inner)) tracker.on_server_bytes(inner);
    if (from_server_.failed() && tracker.synced()) tracker.abandon(from_server_.error());
}

void CompressedCommandFeed::append_com_quit(std::vector<std::byte>& out) {
    std::vector<std::byte> packet;
    codec::append_com_quit(packet);
    codec::append_stored_frame(out, 0, packet);
}

}  // namespace tether::session
