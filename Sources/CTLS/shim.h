#ifndef USERSYNC_CTLS_SHIM_H
#define USERSYNC_CTLS_SHIM_H
/* libssl for the HTTP server's native TLS. Swift cannot call OpenSSL's macros
   (SSL_CTX_set_min_proto_version and friends are SSL_CTX_ctrl calls) nor easily pass the
   ALPN callback, so both are wrapped here. */
#include <openssl/ssl.h>
#include <openssl/err.h>

static inline int ctls_set_protocol_range(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return 0;
    return SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1;
}

/* Partial writes and a moving buffer let the event loop retry a write from its growing
   output array; released buffers keep idle connections small. */
static inline void ctls_set_modes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION
                                 | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_sess_set_cache_size(ctx, 1024);
}

/* ALPN: only http/1.1. A client that offers ALPN without it gets the
   no_application_protocol alert (RFC 7301 §3.2); one that offers none is served. */
static int ctls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                            const unsigned char *in, unsigned int inlen, void *arg) {
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *selected = NULL;
    (void)ssl; (void)arg;
    if (SSL_select_next_proto(&selected, outlen, ours, sizeof(ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

static inline void ctls_set_alpn_http11(SSL_CTX *ctx) { SSL_CTX_set_alpn_select_cb(ctx, ctls_alpn_select, NULL); }

#endif
