/*
 * libFuzzer target for the tls-alpn-01 certificate rules (worker/acme_cert.c): any bytes, as
 * the DER certificate a TLS peer sent, must be judged or rejected without crashing or reading
 * outside the input, against both a domain and an IP expectation; the CN stays NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acme_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(const uint8_t *data, size_t size, const struct acme_cert_expect *e)
{
    char cn[ACME_CERT_CN_MAX];
    char why[256];
    enum acme_cert_verdict v = acme_cert_check_der(data, size, e, cn, sizeof(cn), why,
                                                   sizeof(why));

    if (memchr(cn, '\0', sizeof(cn)) == NULL || memchr(why, '\0', sizeof(why)) == NULL) abort();
    if (v != ACME_CERT_OK && acme_cert_error_type(v)[0] == '\0') abort();
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acme_cert_expect e;

    memset(&e, 0, sizeof(e));
    /* the seeds are made for this name and digest (make_corpus.py) */
    e.name = "a.example.com";
    if (acme_cert_parse_hash("7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79de23cbe2da9a",
                             e.hash) != 0) {
        abort();
    }
    judge(data, size, &e);
    e.name = NULL;
    e.af = AF_INET;
    e.ip[0] = 192;
    e.ip[1] = 0;
    e.ip[2] = 2;
    e.ip[3] = 7;
    judge(data, size, &e);
    return 0;
}
