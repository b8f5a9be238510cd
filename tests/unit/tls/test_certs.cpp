// Test certificate paths and contexts (see test_certs.hpp).
#include "test_certs.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

namespace tether::test {

namespace {
std::string directory() {
    const char* env = std::getenv("TETHER_TLS_CERTS");
    return env != nullptr && *env != '\0' ? env : TETHER_TLS_CERTS_DEFAULT;
}
}  // namespace

std::string cert_file(const std::string& name) { return directory() + "/" + name + ".pem"; }
std::string key_file(const std::string& name) { return directory() + "/" + name + ".key"; }

tls::ServerOptions server_options(const std::string& certificate_file, const std::string& key_file) {
    tls::ServerOptions options;
    options.certificate_file = certificate_file;
    options.key_file = key_file;
    return options;
}

std::shared_ptr<const tls::ServerContext> server_context(const std::string& name, tls::ProtocolVersion min) {
    auto options = server_options(cert_file(name), key_file(name));
    options.min_version = min;
    auto loaded = tls::ServerContext::load(options);
    REQUIRE_MESSAGE(loaded.has_value(), loaded.error());
    return loaded.value();
}

std::shared_ptr<tls::ClientContext> client_context(tls::ClientMode mode, const std::string& ca,
                                                   const std::string& server_name) {
    tls::ClientOptions options;
    options.mode = mode;
    if (!ca.empty()) options.ca_file = cert_file(ca);
    options.server_name = server_name;
    auto loaded = tls::ClientContext::load(options);
    REQUIRE_MESSAGE(loaded.has_value(), loaded.error());
    return loaded.value();
}

}  // namespace tether::test
