/*
 * libFuzzer target for the DNS message reader (worker/dns_msg.c): parses the header, walks
 * the answer section and runs every RDATA helper on every record, plus name reads at offsets
 * taken from the input. Must never read outside the buffer, crash or loop forever.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dns_msg msg;
    struct dns_msg_iter it;
    struct dns_msg_rr rr;
    char name[DNS_MSG_NAME_MAX];
    unsigned char txt[65536];
    size_t end, txtlen;
    int rc, n = 0;

    if (size >= 2) {
        /* a name read at an arbitrary offset named by the first two bytes */
        size_t off = ((size_t)data[0] << 8 | data[1]) % size;
        if (dns_msg_read_name(data, size, off, name, sizeof(name), &end) == 0 &&
            (end <= off || end > size || strlen(name) >= sizeof(name)))
            abort();
    }
    if (dns_msg_parse(&msg, data, size) != 0) return 0;
    (void)dns_msg_qr(&msg);
    (void)dns_msg_tc(&msg);
    (void)dns_msg_ad(&msg);
    (void)dns_msg_rcode_name(dns_msg_rcode(&msg));
    if (msg.answer_off > size) abort();
    dns_msg_answers(&msg, &it);
    while ((rc = dns_msg_next(&it, &rr)) == 1) {
        struct dns_msg_caa caa;
        if (rr.rdata < data || rr.rdata + rr.rdlen > data + size) abort();
        (void)dns_msg_name_equal(rr.owner, "example.com.");
        if (dns_msg_rr_target(&msg, &rr, name, sizeof(name)) == 0 && strlen(name) >= sizeof(name))
            abort();
        if (dns_msg_txt_concat(rr.rdata, rr.rdlen, txt, sizeof(txt), &txtlen) == 0 &&
            txtlen > rr.rdlen)
            abort();
        (void)dns_msg_addr_text(rr.type, rr.rdata, rr.rdlen, name, sizeof(name));
        if (dns_msg_caa_parse(rr.rdata, rr.rdlen, &caa) == 0 &&
            (caa.taglen < 1 || caa.tag < rr.rdata || caa.value + caa.valuelen > rr.rdata + rr.rdlen))
            abort();
        if (++n > 65535) abort(); /* ancount is 16 bits: more records means a loop */
    }
    return 0;
}
