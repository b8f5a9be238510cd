// The TLS contexts of both legs (see tls_setup.hpp).
#include "tether/io/tls_setup.hpp"

#include <variant>

#include "tether/util/log.hpp"

namespace tether::io {

namespace {

tls::ProtocolVersion min_version(const config::TlsConfig& tls) {
    return tls::parse_protocol_version(tls.min_version).value_or(tls::ProtocolVersion::tls1_2);
}

tls::ClientMode client_mode_of(config::UpstreamTlsMode mode) {
    switch (mode) {
        case config::UpstreamTlsMode::disabled: return tls::ClientMode::disabled;
        case config::UpstreamTlsMode::preferred: return tls::ClientMode::preferred;
        case config::UpstreamTlsMode::required: return tls::ClientMode::required;
        case config::UpstreamTlsMode::verify_ca: return tls::ClientMode::verify_ca;
        case config::UpstreamTlsMode::verify_identity: return tls::ClientMode::verify_identity;
    }
    return tls::ClientMode::preferred;
}

tls::ServerOptions server_options(const config::TlsConfig& tls) {
    tls::ServerOptions options;
    options.certificate_file = tls.cert_file;
    options.key_file = tls.key_file;
    options.min_version = min_version(tls);
    options.ciphers = tls.ciphers;
    return options;
}

}  // namespace

std::optional<TlsSetup> TlsSetup::load(const config::Config& config, std::string& error) {
    const auto& tls = config.tls;
    TlsSetup setup;
    if (tls.client != config::ClientTlsMode::disabled) {
        // Made before the first load: a file replaced in between is seen at the first poll.
        setup.reloader_ = std::make_unique<tls::CertificateReloader>(server_options(tls));
        auto server = tls::ServerContext::load(server_options(tls));
        if (!server) {
            error = "--tls-cert/--tls-key: " + server.error();
            return std::nullopt;
        }
        setup.server_ = server.value();
        setup.client_mode_ = tls.client == config::ClientTlsMode::required ? session::ClientTls::required
                                                                             : session::ClientTls::preferred;
    }
    // A unix socket upstream is local: MySQL's clients use no TLS there either.
    if (tls.upstream != config::UpstreamTlsMode::disabled && config.upstream.kind == config::Address::Kind::tcp) {
        tls::ClientOptions options;
        options.mode = client_mode_of(tls.upstream);
        options.ca_file = tls.upstream_ca_file;
        options.certificate_file = tls.upstream_cert_file;
        options.key_file = tls.upstream_key_file;
        options.server_name = tls.upstream_server_name.empty() ? config.upstream.host : tls.upstream_server_name;
        options.min_version = min_version(tls);
        auto client = tls::ClientContext::load(options);
        if (!client) {
            error = "--upstream-tls " + std::string(config::mode_name(tls.upstream)) + ": " + client.error();
            return std::nullopt;
        }
        setup.client_ = client.value();
        setup.upstream_mode_ = tls.upstream == config::UpstreamTlsMode::preferred ? session::UpstreamTls::preferred
                                                                                  : session::UpstreamTls::required;
        setup.upstream_verifies_ = tls::verifies_peer(options.mode);
    }
    return setup;
}

void TlsSetup::reload(bool force) {
    if (!reloader_) return;
    auto outcome = reloader_->poll(force);
    if (auto* reloaded = std::get_if<tls::CertificateReloader::Reloaded>(&outcome)) {
        server_ = reloaded->context;
        log::info("tls_certificate_reloaded", {{"cert", server_->options().certificate_file}});
    } else if (auto* failed = std::get_if<tls::CertificateReloader::Failed>(&outcome)) {
        log::warn("tls_certificate_reload_failed", {{"error", failed->error}, {"kept", "the certificate in use"}});
    }
}

}  // namespace tether::io
