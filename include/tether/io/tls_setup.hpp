// The TLS contexts of both legs, made from the configuration, and the reload
// of the client leg's certificate (file changes and SIGHUP).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tether/config/config.hpp"
#include "tether/session/tls_legs.hpp"
#include "tether/tls/certificate_reloader.hpp"
#include "tether/tls/client_context.hpp"
#include "tether/tls/server_context.hpp"

namespace tether::io {

class TlsSetup {
public:
    // No TLS on either leg (what a Proxy has until it is given a loaded setup).
    TlsSetup() = default;
    // Loads the files the configuration names; a message naming the flag when
    // one does not load (tether exits 2 with it).
    static std::optional<TlsSetup> load(const config::Config& config, std::string& error);

    // null when that leg has no TLS.
    [[nodiscard]] const std::shared_ptr<const tls::ServerContext>& server() const { return server_; }
    [[nodiscard]] const std::shared_ptr<tls::ClientContext>& client() const { return client_; }
    [[nodiscard]] session::ClientTls client_mode() const { return client_mode_; }
    [[nodiscard]] session::UpstreamTls upstream_mode() const { return upstream_mode_; }
    // Under verify-ca and verify-identity: the server leg must be trusted.
    [[nodiscard]] bool upstream_verifies() const { return upstream_verifies_; }

    // Checks the certificate files (force: load them whatever they say, on
    // SIGHUP) and logs what happened: a new pair is used by connections that
    // start from now on; a pair that does not load is logged, the old one kept.
    void reload(bool force);

private:
    std::shared_ptr<const tls::ServerContext> server_;
    std::shared_ptr<tls::ClientContext> client_;
    std::unique_ptr<tls::CertificateReloader> reloader_;
    session::ClientTls client_mode_ = session::ClientTls::disabled;
    session::UpstreamTls upstream_mode_ = session::UpstreamTls::disabled;
    bool upstream_verifies_ = false;
};

}  // namespace tether::io
