// libFuzzer target for the admin HTTP request parser: arbitrary bytes, pipelined requests, any split into reads.
//
// Input: byte 0 seeds the read sizes, the rest is what a client sends on one
// connection. The bytes are fed once whole and once in reads of 1..64 bytes;
// both must yield the same requests and the same verdict, every request stays
// within the parser's limits, and a parser that failed stays failed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "tether/admin/http_request_parser.hpp"

namespace {

using tether::admin::HttpRequest;
using tether::admin::HttpRequestParser;

bool same_request(const HttpRequest& a, const HttpRequest& b) {
    return a.method == b.method && a.target == b.target && a.authorization == b.authorization && a.body == b.body &&
           a.keep_alive == b.keep_alive;
}

void check_bounds(const std::vector<HttpRequest>& requests) {
    for (const auto& r : requests) {
        FUZZ_CHECK(!r.method.empty());
        FUZZ_CHECK(r.target.size() + r.authorization.size() <= HttpRequestParser::max_head_bytes);
        FUZZ_CHECK(r.body.size() <= HttpRequestParser::max_body_bytes);
        FUZZ_CHECK(r.path().size() <= r.target.size());
    }
}

void check_stays_failed(HttpRequestParser& parser) {
    std::vector<HttpRequest> more;
    FUZZ_CHECK(!parser.error().empty());
    FUZZ_CHECK(!parser.feed("GET / HTTP/1.1\r\n\r\n", more));
    FUZZ_CHECK(more.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::uint32_t rng = data[0] | 0x100u;
    const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

    HttpRequestParser whole;
    std::vector<HttpRequest> whole_requests;
    const bool whole_ok = whole.feed(bytes, whole_requests);
    check_bounds(whole_requests);
    if (!whole_ok) check_stays_failed(whole);

    HttpRequestParser pieces;
    std::vector<HttpRequest> piece_requests;
    bool pieces_ok = true;
    for (std::size_t offset = 0; offset < bytes.size() && pieces_ok;) {
        rng = rng * 1103515245u + 12345u;
        const std::size_t n = std::min<std::size_t>(1 + (rng >> 16) % 64, bytes.size() - offset);
        const std::string read = bytes.substr(offset, n);  // its own allocation: overreads show
        pieces_ok = pieces.feed(read, piece_requests);
        offset += n;
    }
    check_bounds(piece_requests);
    if (!pieces_ok) check_stays_failed(pieces);

    FUZZ_CHECK(whole_ok == pieces_ok);
    FUZZ_CHECK(whole_requests.size() == piece_requests.size());
    for (std::size_t i = 0; i < whole_requests.size(); ++i) FUZZ_CHECK(same_request(whole_requests[i], piece_requests[i]));
    if (!whole_ok) FUZZ_CHECK(whole.error() == pieces.error());
    return 0;
}
