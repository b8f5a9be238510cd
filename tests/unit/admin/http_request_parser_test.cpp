// HttpRequestParser: incremental HTTP/1.x parsing for the admin endpoint.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tether/admin/http_request_parser.hpp"

using tether::admin::HttpRequest;
using tether::admin::HttpRequestParser;

namespace {

std::vector<HttpRequest> parse_all(std::string_view bytes) {
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    const bool ok = parser.feed(bytes, out);
    REQUIRE_MESSAGE(ok, parser.error());
    return out;
}

}  // namespace

TEST_CASE("HttpRequestParser parses a simple GET") {
    const auto requests = parse_all("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].target == "/metrics");
    CHECK(requests[0].path() == "/metrics");
    CHECK(requests[0].authorization.empty());
    CHECK(requests[0].body.empty());
    CHECK(requests[0].keep_alive);
}

TEST_CASE("HttpRequestParser yields nothing until the head is complete") {
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    CHECK(parser.feed("GET /healthz HTTP/1.1\r\nHost: x\r\n", out));
    CHECK(out.empty());
    CHECK(parser.feed("\r\n", out));
    REQUIRE(out.size() == 1);
    CHECK(out[0].target == "/healthz");
    CHECK(parser.error().empty());
}

TEST_CASE("HttpRequestParser keeps the query in the target and strips it from the path") {
    const auto requests = parse_all("GET /connections?limit=5&x=y HTTP/1.1\r\n\r\n");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].target == "/connections?limit=5&x=y");
    CHECK(requests[0].path() == "/connections");
}

TEST_CASE("HttpRequestParser works out keep-alive from the version and Connection header") {
    CHECK(parse_all("GET / HTTP/1.1\r\n\r\n").at(0).keep_alive);
    CHECK_FALSE(parse_all("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").at(0).keep_alive);
    CHECK_FALSE(parse_all("GET / HTTP/1.0\r\n\r\n").at(0).keep_alive);
    CHECK(parse_all("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").at(0).keep_alive);
}

TEST_CASE("HttpRequestParser yields two pipelined requests from one feed") {
    const auto requests = parse_all(
        "GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer one\r\n\r\n"
        "GET /readyz?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].path() == "/metrics");
    CHECK(requests[0].authorization == "Bearer one");
    CHECK(requests[0].keep_alive);
    CHECK(requests[1].path() == "/readyz");
    CHECK(requests[1].target == "/readyz?x=1");
    // Nothing leaks from the first request into the second.
    CHECK(requests[1].authorization.empty());
    CHECK_FALSE(requests[1].keep_alive);
}

TEST_CASE("HttpRequestParser gives the same result for a request split at every byte") {
    const std::string wire =
        "POST /connections?q=1 HTTP/1.1\r\nHost: admin\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"
        "Content-Length: 11\r\nX-Other: y\r\n\r\nhello world"
        "GET /healthz HTTP/1.1\r\n\r\n";
    for (std::size_t split = 0; split <= wire.size(); ++split) {
        CAPTURE(split);
        HttpRequestParser parser;
        std::vector<HttpRequest> out;
        REQUIRE(parser.feed(std::string_view(wire).substr(0, split), out));
        REQUIRE(parser.feed(std::string_view(wire).substr(split), out));
        REQUIRE(out.size() == 2);
        CHECK(out[0].method == "POST");
        CHECK(out[0].target == "/connections?q=1");
        CHECK(out[0].authorization == "Basic dXNlcjpwYXNz");
        CHECK(out[0].body == "hello world");
        CHECK(out[1].method == "GET");
        CHECK(out[1].target == "/healthz");
        CHECK(out[1].authorization.empty());
    }
}

TEST_CASE("HttpRequestParser fed one byte at a time") {
    const std::string wire = "GET /metrics HTTP/1.1\r\nauthorization: Bearer t0k3n\r\nAccept: */*\r\n\r\n";
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    for (char c : wire) REQUIRE(parser.feed(std::string_view(&c, 1), out));
    REQUIRE(out.size() == 1);
    CHECK(out[0].target == "/metrics");
    CHECK(out[0].authorization == "Bearer t0k3n");
}

TEST_CASE("HttpRequestParser captures the Authorization header whatever its case") {
    CHECK(parse_all("GET / HTTP/1.1\r\nAuthorization: Bearer abc\r\n\r\n").at(0).authorization == "Bearer abc");
    CHECK(parse_all("GET / HTTP/1.1\r\nAUTHORIZATION: Bearer abc\r\n\r\n").at(0).authorization == "Bearer abc");
    CHECK(parse_all("GET / HTTP/1.1\r\nX-Authorization: no\r\nAuthorization-X: no\r\n\r\n").at(0).authorization ==
          "");
}

TEST_CASE("HttpRequestParser reads a body by Content-Length") {
    const auto requests = parse_all("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].body == "abcde");
}

TEST_CASE("HttpRequestParser refuses a head larger than max_head_bytes") {
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    const std::string big(HttpRequestParser::max_head_bytes + 1, 'a');
    const std::string wire = "GET / HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n";
    CHECK_FALSE(parser.feed(wire, out));
    CHECK(out.empty());
    CHECK(parser.error() == "request head too large");
}

TEST_CASE("HttpRequestParser refuses an oversized head that arrives in small pieces") {
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    REQUIRE(parser.feed("GET / HTTP/1.1\r\n", out));
    bool ok = true;
    for (int i = 0; i < 1000 && ok; ++i) ok = parser.feed("X-Header-" + std::to_string(i) + ": 0123456789abcdef\r\n", out);
    CHECK_FALSE(ok);
    CHECK(out.empty());
    CHECK(parser.error() == "request head too large");
}

TEST_CASE("HttpRequestParser refuses a URL longer than max_head_bytes") {
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    const std::string wire = "GET /" + std::string(HttpRequestParser::max_head_bytes + 10, 'x') + " HTTP/1.1\r\n\r\n";
    CHECK_FALSE(parser.feed(wire, out));
    CHECK(parser.error() == "request head too large");
}

TEST_CASE("HttpRequestParser accepts a head just under the limit, and the limit is per request") {
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    // Counted: URL, header names and values.
    const std::string value(HttpRequestParser::max_head_bytes - 1 - 5, 'v');
    const std::string wire = "GET / HTTP/1.1\r\nX-Big: " + value + "\r\n\r\n";
    REQUIRE(parser.feed(wire, out));
    REQUIRE(parser.feed(wire, out));
    CHECK(out.size() == 2);
}

TEST_CASE("HttpRequestParser refuses a body larger than max_body_bytes") {
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    const std::size_t n = HttpRequestParser::max_body_bytes + 1;
    const std::string wire =
        "POST / HTTP/1.1\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + std::string(n, 'b');
    CHECK_FALSE(parser.feed(wire, out));
    CHECK(out.empty());
    CHECK(parser.error() == "request body too large");
}

TEST_CASE("HttpRequestParser refuses a MySQL greeting and fails for good") {
    // The first bytes of a MySQL 8.0 server greeting: someone pointed a client at the wrong port.
    const unsigned char greeting[] = {0x4a, 0x00, 0x00, 0x00, 0x0a, '8', '.', '0', '.', '3', '6', 0x00,
                                      0x08, 0x00, 0x00, 0x00, 0x3b, 0x5d, 0x1a, 0x2c, 0x00, 0xff, 0xff};
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    CHECK_FALSE(parser.feed(std::string_view(reinterpret_cast<const char*>(greeting), sizeof greeting), out));
    CHECK(out.empty());
    CHECK_FALSE(parser.error().empty());
    // Once failed, even a valid request is refused.
    CHECK_FALSE(parser.feed("GET / HTTP/1.1\r\n\r\n", out));
    CHECK(out.empty());
}

TEST_CASE("HttpRequestParser refuses other garbage") {
    const char* cases[] = {
        "\x16\x03\x01\x02",  // the start of a TLS ClientHello
        "HELLO\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    };
    for (const std::string wire : cases) {
        CAPTURE(wire);
        HttpRequestParser parser;
        std::vector<HttpRequest> out;
        CHECK_FALSE(parser.feed(wire, out));
        CHECK(out.empty());
        CHECK_FALSE(parser.error().empty());
    }
}

TEST_CASE("HttpRequestParser answers a request that asks to Upgrade like any other") {
    // The admin endpoint speaks only HTTP/1.1; a server may ignore Upgrade
    // (RFC 9110 7.8). The request is well formed and not too large, so feed()
    // must not report failure: the I/O layer would answer it and then also
    // send a 400 on the same connection.
    HttpRequestParser parser;
    std::vector<HttpRequest> out;
    const bool ok = parser.feed("GET /metrics HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", out);
    CHECK(ok);
    CHECK(parser.error().empty());
    REQUIRE(out.size() == 1);
    CHECK(out[0].path() == "/metrics");
}

TEST_CASE("HttpRequestParser keeps parsing what follows an Upgrade or CONNECT request in the same read") {
    // Found by tests/fuzz/fuzz_http: llhttp stops at the end of such a request,
    // and the bytes after it in the same read were dropped, so a pipelined
    // request was lost or, cut mid-request, answered 400, depending only on
    // where the reads split the stream.
    for (std::string_view first : {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                                   "CONNECT db:3306 HTTP/1.1\r\nHost: db\r\n\r\n"}) {
        CAPTURE(first);
        const std::string bytes = std::string(first) + "GET /healthz HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n";
        for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
            CAPTURE(cut);
            HttpRequestParser parser;
            std::vector<HttpRequest> out;
            CHECK(parser.feed(std::string_view(bytes).substr(0, cut), out));
            CHECK(parser.feed(std::string_view(bytes).substr(cut), out));
            CHECK(parser.error().empty());
            REQUIRE(out.size() == 3);
            CHECK(out[1].path() == "/healthz");
            CHECK(out[2].path() == "/readyz");
        }
    }
}
