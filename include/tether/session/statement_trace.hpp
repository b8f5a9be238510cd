// The latest statement a session ran, kept so that an idle session still says
// which code path it came from (MySQL's processlist shows Info: NULL for it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tether/codec/packet.hpp"

namespace tether::session {

// What it costs and what it keeps:
// - COM_QUERY: the first max_statement_bytes of the text are copied (one
//   buffer per session, reused by every command, as long as the longest
//   statement needed it); the fingerprint is made from
//   them only when something reads it. The raw bytes never leave the session:
//   the next statement overwrites them, and only fingerprints are shown.
// - COM_STMT_PREPARE: the text is captured the same way and fingerprinted when
//   it is complete (a prepare is rare, an execute is not), so a session keeps its
//   prepared statements as fingerprints only: at most max_prepared of them and
//   max_prepared_bytes in all, the oldest forgotten first. COM_STMT_EXECUTE and
//   MariaDB's COM_STMT_BULK_EXECUTE make the executed statement's fingerprint
//   the latest (a bounded copy).
// - Other commands (COM_PING from a pool's validation, COM_INIT_DB, ...) leave
//   the latest statement as it was. COM_STMT_CLOSE forgets one statement,
//   COM_RESET_CONNECTION and an accepted COM_CHANGE_USER all of them, as the
//   server does.
class StatementTrace {
public:
    static constexpr std::size_t max_statement_bytes = 512;
    static constexpr std::size_t max_prepared = 256;
    static constexpr std::size_t max_prepared_bytes = 16 * 1024;
    // MariaDB's "the statement prepared last" (a PREPARE and its EXECUTE sent together).
    static constexpr std::uint32_t last_prepared_id = 0xFFFFFFFF;

    StatementTrace();
    ~StatementTrace();
    StatementTrace(StatementTrace&&) noexcept;
    StatementTrace& operator=(StatementTrace&&) noexcept;

    // A COM_QUERY's text starts with `first` (of `length` bytes in all). Returns
    // the buffer the rest is captured into, up to max_statement_bytes.
    std::vector<std::byte>& start_query(codec::Bytes first, std::uint32_t length);
    // A COM_QUERY whose text tether cannot find (query attributes before it).
    void unreadable_query();
    // A COM_STMT_PREPARE's text starts; the buffer is handed back as above,
    // and prepare_text_complete() follows once the packet has passed.
    std::vector<std::byte>& start_prepare(codec::Bytes first, std::uint32_t length);
    void prepare_text_complete();
    // The server answered the oldest prepare in flight: its statement id, or
    // nothing for an ERR.
    void prepare_answered(std::optional<std::uint32_t> statement_id);
    void executed(std::uint32_t statement_id);
    void closed(std::uint32_t statement_id);
    void forget_prepared();  // COM_RESET_CONNECTION, COM_CHANGE_USER

    // The latest statement's fingerprint (codec::fingerprint), made now;
    // nothing when the session has run no statement.
    [[nodiscard]] std::optional<std::string> fingerprint() const;

    // For tests: how many prepared statements are kept, and their bytes.
    [[nodiscard]] std::size_t prepared_count() const;
    [[nodiscard]] std::size_t prepared_bytes() const;
    // For tests: the bytes the latest statement's buffer holds on to.
    [[nodiscard]] std::size_t buffer_capacity() const { return raw_.capacity(); }

private:
    enum class Latest : std::uint8_t { none, query, unreadable_query, prepared, prepared_unknown };
    struct Prepared;

    Prepared& prepared();

    Latest latest_ = Latest::none;
    std::uint32_t query_length_ = 0;   // the whole text's length (raw_ may hold less)
    std::vector<std::byte> raw_;       // COM_QUERY: the text's first bytes
    std::string latest_prepared_;      // a prepared statement's fingerprint, when latest_ is prepared
    std::unique_ptr<Prepared> prepared_;  // on the heap from the first prepare: most sessions never prepare
};

}  // namespace tether::session
