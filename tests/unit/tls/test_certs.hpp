// Where the certificates made by tests/support/make_test_certs are.
#pragma once

#include <string>

#include "tether/tls/client_context.hpp"
#include "tether/tls/server_context.hpp"

namespace tether::test {

// NAME.pem / NAME.key in the certificate directory (TETHER_TLS_CERTS).
std::string cert_file(const std::string& name);
std::string key_file(const std::string& name);

// Options for a certificate and key file, everything else at its default.
tls::ServerOptions server_options(const std::string& certificate_file, const std::string& key_file);

// A server context for certificate NAME; fails the test if it does not load.
std::shared_ptr<const tls::ServerContext> server_context(const std::string& name,
                                                         tls::ProtocolVersion min = tls::ProtocolVersion::tls1_2);
// A client context in MODE trusting CA (empty: none), expecting SERVER_NAME.
std::shared_ptr<tls::ClientContext> client_context(tls::ClientMode mode, const std::string& ca = "ca",
                                                   const std::string& server_name = "localhost");

}  // namespace tether::test
