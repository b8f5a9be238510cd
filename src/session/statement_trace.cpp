// The latest statement of a session (see statement_trace.hpp).
#include "tether/session/statement_trace.hpp"

#include <algorithm>
#include <deque>

#include "tether/codec/fingerprint.hpp"
#include "tether/codec/wire.hpp"

namespace tether::session {

namespace {

// A PREPARE's text that tether did not see whole, or forgot.
constexpr const char* prepared_unknown_text = "(prepared statement: text not kept)";
constexpr const char* unreadable_query_text = "(query with query attributes: text not read)";
// Prepares waiting for their answer whose fingerprint is kept; more keep their
// place in line without one (no driver pipelines that many).
constexpr std::size_t max_pending_prepares = 64;

// The buffer is reused by every statement of the session; it grows to what the
// longest one needed (at most max_statement_bytes), so a session of short
// statements keeps a short buffer.
std::vector<std::byte>& start_capture(std::vector<std::byte>& buffer, codec::Bytes first, std::uint32_t length) {
    const std::size_t wanted = std::min<std::size_t>(length, StatementTrace::max_statement_bytes);
    if (buffer.capacity() < wanted) buffer.reserve(wanted);
    buffer.assign(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(std::min(first.size(), StatementTrace::max_statement_bytes)));
    return buffer;
}

}  // namespace

struct StatementTrace::Prepared {
    struct Entry {
        std::uint32_t id = 0;
        std::string fingerprint;
    };
    std::vector<Entry> kept;  // in the order the server confirmed them: oldest first
    std::size_t bytes = 0;
    std::vector<std::byte> raw;  // the text of the prepare being captured
    std::uint32_t raw_length = 0;
    std::deque<std::optional<std::string>> pending;  // one per prepare in flight, oldest first

    void remember(std::uint32_t id, std::string fingerprint) {
        auto same = std::find_if(kept.begin(), kept.end(), [&](const Entry& e) { return e.id == id; });
        if (same != kept.end()) {
            bytes -= same->fingerprint.size();
            kept.erase(same);
        }
        bytes += fingerprint.size();
        kept.push_back({id, std::move(fingerprint)});
        while (!kept.empty() && (kept.size() > max_prepared || bytes > max_prepared_bytes)) {
            bytes -= kept.front().fingerprint.size();
            kept.erase(kept.begin());
        }
    }

    const std::string* find(std::uint32_t id) const {
        if (id == last_prepared_id) {
            // The newest prepare: one still waiting for its answer, if any.
            if (!pending.empty()) return pending.back() ? &*pending.back() : nullptr;
            return kept.empty() ? nullptr : &kept.back().fingerprint;
        }
        for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
            if (it->id == id) return &it->fingerprint;
        }
        return nullptr;
    }
};

StatementTrace::StatementTrace() = default;
StatementTrace::~StatementTrace() = default;
StatementTrace::StatementTrace(StatementTrace&&) noexcept = default;
StatementTrace& StatementTrace::operator=(StatementTrace&&) noexcept = default;

StatementTrace::Prepared& StatementTrace::prepared() {
    if (!prepared_) prepared_ = std::make_unique<Prepared>();
    return *prepared_;
}

std::vector<std::byte>& StatementTrace::start_query(codec::Bytes first, std::uint32_t length) {
    latest_ = Latest::query;
    query_length_ = length;
    return start_capture(raw_, first, length);
}

void StatementTrace::unreadable_query() {
    latest_ = Latest::unreadable_query;
    raw_.clear();
}

std::vector<std::byte>& StatementTrace::start_prepare(codec::Bytes first, std::uint32_t length) {
    Prepared& p = prepared();
    p.raw_length = length;
    return start_capture(p.raw, first, length);
}

void StatementTrace::prepare_text_complete() {
    Prepared& p = prepared();
    std::optional<std::string> fingerprint;
    if (p.pending.size() < max_pending_prepares) {
        fingerprint = codec::fingerprint(codec::as_text(p.raw), p.raw_length > p.raw.size());
    }
    std::vector<std::byte>().swap(p.raw);  // prepares are rare: their text is not kept around
    p.pending.push_back(std::move(fingerprint));
}

void StatementTrace::prepare_answered(std::optional<std::uint32_t> statement_id) {
    if (!prepared_ || prepared_->pending.empty()) return;
    std::optional<std::string> fingerprint = std::move(prepared_->pending.front());
    prepared_->pending.pop_front();
    if (statement_id && fingerprint) prepared_->remember(*statement_id, std::move(*fingerprint));
}

void StatementTrace::executed(std::uint32_t statement_id) {
    const std::string* fingerprint = prepared_ ? prepared_->find(statement_id) : nullptr;
    if (fingerprint == nullptr) {
        latest_ = Latest::prepared_unknown;
        return;
    }
    latest_ = Latest::prepared;
    latest_prepared_.assign(*fingerprint);
}

void StatementTrace::closed(std::uint32_t statement_id) {
    if (!prepared_) return;
    auto& kept = prepared_->kept;
    auto it = std::find_if(kept.begin(), kept.end(), [&](const Prepared::Entry& e) { return e.id == statement_id; });
    if (it == kept.end()) return;
    prepared_->bytes -= it->fingerprint.size();
    kept.erase(it);
}

void StatementTrace::forget_prepared() {
    if (!prepared_) return;
    prepared_->kept.clear();
    prepared_->bytes = 0;
}

std::optional<std::string> StatementTrace::fingerprint() const {
    switch (latest_) {
        case Latest::none: return std::nullopt;
        case Latest::query: return codec::fingerprint(codec::as_text(raw_), query_length_ > raw_.size());
        case Latest::unreadable_query: return std::string(unreadable_query_text);
        case Latest::prepared: return latest_prepared_;
        case Latest::prepared_unknown: return std::string(prepared_unknown_text);
    }
    return std::nullopt;
}

std::size_t StatementTrace::prepared_count() const { return prepared_ ? prepared_->kept.size() : 0; }
std::size_t StatementTrace::prepared_bytes() const { return prepared_ ? prepared_->bytes : 0; }

}  // namespace tether::session
