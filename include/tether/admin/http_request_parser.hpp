// Incremental HTTP/1.x request parsing for the admin endpoint, on llhttp.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tether::admin {

struct HttpRequest {
    std::string method;
    std::string target;  // path and query as sent
    std::string authorization;
    std::string body;
    bool keep_alive = true;

    [[nodiscard]] std::string_view path() const;
};

// Fed the bytes of one connection as they arrive; yields every complete
// request. Requests larger than the limits, or that are not HTTP, make the
// parser fail for good: the connection answers 400 and closes.
class HttpRequestParser {
public:
    static constexpr std::size_t max_head_bytes = 16 * 1024;
    static constexpr std::size_t max_body_bytes = 64 * 1024;

    HttpRequestParser();
    ~HttpRequestParser();
    HttpRequestParser(const HttpRequestParser&) = delete;
    HttpRequestParser& operator=(const HttpRequestParser&) = delete;

    // Appends the requests completed by `data` to `out`. Returns false once the
    // input is malformed or too large (see error()).
    bool feed(std::string_view data, std::vector<HttpRequest>& out);
    [[nodiscard]] const std::string& error() const { return error_; }

    struct Callbacks;

private:
    struct State;
    std::unique_ptr<State> state_;
    std::string error_;
};

}  // namespace tether::admin
