/*
 * fuzz_client_auth.c: the whole server engine as fuzz_server.c drives it,
 * with every configuration asking for a client certificate, so inputs reach
 * the client's Certificate and CertificateVerify (client_auth.c) and path
 * validation through the crypto provider.
 *
 * Input layout and invariants: fuzz_server.c's. The verification mode is
 * picked by bits 0-1 of byte 0 (required, optional, optional_no_ca,
 * required with ZT_VERIFY_DEFER), bit 2 adds ZT_VERIFY_KEEP_CHAIN; the
 * trusted CA is t/unit/certs/client-ca.crt, certificates are judged at a
 * fixed time (2030-01-01: this harness's wall clock, also for tickets). Seeds in corpus/fuzz_client_auth/ are whole
 * sessions of openssl s_client and gnutls-cli with the client certificates
 * of t/unit/certs, recorded with record_server.c built with
 * -DFZ_CLIENT_AUTH: replayed, they verify the client's CertificateVerify
 * again and complete the handshake.
 */
#include <stdlib.h>

#include "internal.h"

#ifndef FZ_CLIENT_AUTH
#define FZ_CLIENT_AUTH 1
#endif

static const char fz_client_ca[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBljCCATygAwIBAgICEAAwCgYIKoZIzj0EAwIwMTEZMBcGA1UEAwwQemlndGxz\n"
    "IGNsaWVudCBDQTEUMBIGA1UECgwLemlndGxzIHRlc3QwIBcNMjUwMTAxMDAwMDAw\n"
    "WhgPMjEyNTAxMDEwMDAwMDBaMDExGTAXBgNVBAMMEHppZ3RscyBjbGllbnQgQ0Ex\n"
    "FDASBgNVBAoMC3ppZ3RscyB0ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
    "IC8g2vwbV1CmTYtWQHmap6jgS0tsGVhkfbGaSm05h1mWInUBFOZVzDenadZbbbFT\n"
    "NYfF3vb2EbXpyP35zT74jaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E\n"
    "BAMCAQYwHQYDVR0OBBYEFPNa0j6/UcUv/CmUxAvMzfxDQoS6MAoGCCqGSM49BAMC\n"
    "A0gAMEUCICKVlEp7PDg2Rcel6O0tppqVG3DRf50Q+EF/GUf8svYqAiEAla8IjZgX\n"
    "XW23VgwGKj13gDLt6OP88hVbSgcaSmiy1PY=\n"
    "-----END CERTIFICATE-----\n"
    ;

static uint64_t fz_ca_wall(void *arg)
{
    (void)arg;
    return 1893456000000ull; /* 2030-01-01 */
}

static void fz_client_auth(zt_config *cfg, unsigned sel)
{
    static const zt_verify_mode modes[4] = {
        ZT_VERIFY_REQUIRED, ZT_VERIFY_OPTIONAL, ZT_VERIFY_OPTIONAL_NO_CA,
        ZT_VERIFY_REQUIRED};
    unsigned flags = ((sel & 3) == 3 ? ZT_VERIFY_DEFER : 0) |
                     ((sel & 4) ? ZT_VERIFY_KEEP_CHAIN : 0);
    static const uint16_t recorded[] = {ZT_GROUP_X25519, ZT_GROUP_SECP256R1};
    char err[256];

    if (zt_config_set_verify_client(cfg, modes[sel & 3], flags) != ZT_OK ||
        zt_config_add_client_ca_mem(cfg, fz_client_ca,
                                    sizeof(fz_client_ca) - 1, 1, err,
                                    sizeof(err)) != ZT_OK)
        abort();
    zt_config_set_wall_clock(cfg, fz_ca_wall, NULL);
    /* The seeds were recorded when the default groups were x25519,
     * secp256r1: EncryptedExtensions must advertise exactly those for the
     * recorded Finished and CertificateVerify to verify again. */
    if (!(sel & 2) && zt_config_set_advertised_groups(cfg, recorded, 2) !=
                          ZT_OK)
        abort();
}

#include "fuzz_server.c"
