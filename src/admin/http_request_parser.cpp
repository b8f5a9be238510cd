// HTTP request parsing with llhttp (see http_request_parser.hpp).
#include "tether/admin/http_request_parser.hpp"

#include <llhttp.h>

#include <algorithm>
#include <cctype>

namespace tether::admin {

std::string_view HttpRequest::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

struct HttpRequestParser::State {
    llhttp_t parser{};
    llhttp_settings_t settings{};
    HttpRequest current;
    std::string header_field;
    std::string header_value;
    bool in_value = false;
    std::size_t head_bytes = 0;
    std::vector<HttpRequest>* out = nullptr;
    const char* limit_error = nullptr;
};

namespace {


bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

struct HttpRequestParser::Callbacks {
    static State& of(llhttp_t* p) { return *static_cast<State*>(p->data); }

    static int count_head(State& s, std::size_t n) {
        s.head_bytes += n;
        if (s.head_bytes > max_head_bytes) {
            s.limit_error = "request head too large";
            return -1;
        }
        return 0;
    }
    static void flush_header(State& s) {
        if (!s.in_value) return;
        if (iequals(s.header_field, "authorization")) s.current.authorization = s.header_value;
        s.header_field.clear();
        s.header_value.clear();
        s.in_value = false;
    }
    static int on_message_begin(llhttp_t* p) {
        auto& s = of(p);
        s.current = HttpRequest{};
        s.head_bytes = 0;
        s.header_field.clear();
        s.header_value.clear();
        s.in_value = false;
        return 0;
    }
    static int on_url(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = of(p);
        s.current.target.append(at, n);
        return count_head(s, n);
    }
    static int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = of(p);
        flush_header(s);
        s.header_field.append(at, n);
        return count_head(s, n);
    }
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = of(p);
        s.in_value = true;
        s.header_value.append(at, n);
        return count_head(s, n);
    }
    static int on_headers_complete(llhttp_t* p) {
        auto& s = of(p);
        flush_header(s);
        s.current.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
        s.current.keep_alive = llhttp_should_keep_alive(p) != 0;
        return 0;
    }
    static int on_body(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = of(p);
        if (s.current.body.size() + n > max_body_bytes) {
            s.limit_error = "request body too large";
            return -1;
        }
        s.current.body.append(at, n);
        return 0;
    }
    static int on_message_complete(llhttp_t* p) {
        auto& s = of(p);
        s.out->push_back(std::move(s.current));
        s.current = HttpRequest{};
        return 0;
    }
};

HttpRequestParser::HttpRequestParser() : state_(std::make_unique<State>()) {
    llhttp_settings_init(&state_->settings);
    state_->settings.on_message_begin = &Callbacks::on_message_begin;
    state_->settings.on_url = &Callbacks::on_url;
    state_->settings.on_header_field = &Callbacks::on_header_field;
    state_->settings.on_header_value = &Callbacks::on_header_value;
    state_->settings.on_headers_complete = &Callbacks::on_headers_complete;
    state_->settings.on_body = &Callbacks::on_body;
    state_->settings.on_message_complete = &Callbacks::on_message_complete;
    llhttp_init(&state_->parser, HTTP_REQUEST, &state_->settings);
    state_->parser.data = state_.get();
}

HttpRequestParser::~HttpRequestParser() = default;

bool HttpRequestParser::feed(std::string_view data, std::vector<HttpRequest>& out) {
    if (!error_.empty()) return false;
    state_->out = &out;
    llhttp_errno_t rc = llhttp_execute(&state_->parser, data.data(), data.size());
    // An Upgrade or CONNECT request was complete and is answered as any other;
    // the admin server upgrades nothing, so the connection just continues. llhttp
    // stopped at that request's end: the rest of this read is the next request.
    while (rc == HPE_PAUSED_UPGRADE) {
        const char* rest = llhttp_get_error_pos(&state_->parser);
        llhttp_resume_after_upgrade(&state_->parser);
        rc = llhttp_execute(&state_->parser, rest, static_cast<std::size_t>(data.data() + data.size() - rest));
    }
    state_->out = nullptr;
    if (rc == HPE_OK) return true;
    error_ = state_->limit_error != nullptr ? state_->limit_error : llhttp_errno_name(rc);
    return false;
}

}  // namespace tether::admin
