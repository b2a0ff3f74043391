/*
 * Sealed envelopes (see seal.h). Layout, integers big-endian:
 *   "MPSL" | version u8 | dir u8 | key id u32 | expiry i64 | attempt u32 | check type u8 |
 *   rid | perspective len u8 | perspective | nonce[12] | ciphertext | tag[16]
 * rid: version 1, len u8 then the id's bytes; version 2, the 16 bytes of a 32-hex-digit id.
 * Everything before the nonce is the associated data. Parsing is bounds-checked and capped.
 */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define SEAL_FIXED_HDR (SEAL_MAGIC_LEN + 1 + 1 + 4 + 8 + 4 + 1) /* through check type */
#define SEAL_KEYFILE_MAX 256

static uint64_t seal_rejects[SEAL_STATUS_COUNT];

const char *seal_status_name(enum seal_status st)
{
    switch (st) {
    case SEAL_OK: return "ok";
    case SEAL_ERR_MALFORMED: return "malformed";
    case SEAL_ERR_UNSEALED: return "unsealed";
    case SEAL_ERR_UNKNOWN_KEY: return "unknown-key";
    case SEAL_ERR_AUTH: return "auth";
    case SEAL_ERR_MISMATCH: return "mismatch";
    case SEAL_ERR_EXPIRED: return "expired";
    case SEAL_ERR_REPLAY: return "replay";
    case SEAL_STATUS_COUNT: break;
    }
    return "unknown";
}

void seal_count_reject(enum seal_status st)
{
    if (st > SEAL_OK && st < SEAL_STATUS_COUNT) seal_rejects[st]++;
}

uint64_t seal_reject_count(enum seal_status st)
{
    return st < SEAL_STATUS_COUNT ? seal_rejects[st] : 0;
}

static int seal_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int seal_key_load_file(const char *path, unsigned char key[SEAL_KEY_BYTES], char *err,
                       size_t errlen)
{
    char buf[SEAL_KEYFILE_MAX];
    struct stat st;
    ssize_t n;
    size_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        util_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        util_set_err(err, errlen, "%s: not a regular file", path);
        goto fail;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        util_set_err(err, errlen, "%s: mode %04o gives group/other access; chmod 600 it", path,
                     (unsigned)(st.st_mode & 07777));
        goto fail;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        util_set_err(err, errlen, "%s: owned by uid %u, neither this user nor root", path,
                     (unsigned)st.st_uid);
        goto fail;
    }
    n = read(fd, buf, sizeof(buf));
    if (n < 0) {
        util_set_err(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    len = (size_t)n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--;
    if (len != 2 * SEAL_KEY_BYTES) {
        util_set_err(err, errlen, "%s: must hold exactly 64 hex digits (openssl rand -hex 32)",
                     path);
        goto fail;
    }
    for (size_t i = 0; i < SEAL_KEY_BYTES; i++) {
        int hi = seal_hexval(buf[2 * i]), lo = seal_hexval(buf[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            util_set_err(err, errlen, "%s: must hold exactly 64 hex digits", path);
            goto fail;
        }
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return 0;
fail:
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(key, SEAL_KEY_BYTES);
    close(fd);
    return -1;
}

/*
 * The cipher context for one seal or open: fetched once per thread and reused, because
 * EVP_chacha20_poly1305() makes every EVP_*Init fetch the implementation again and a fresh
 * context allocates its provider state each time. The context keeps the last key's state
 * between calls; the keys stay in the keyring for the life of the process anyway. NULL when
 * OpenSSL cannot provide the cipher.
 */
static EVP_CIPHER_CTX *seal_cipher_ctx(int enc)
{
    static _Thread_local EVP_CIPHER *cipher;
    static _Thread_local EVP_CIPHER_CTX *ctx;

    if (cipher == NULL) cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    if (ctx == NULL) ctx = EVP_CIPHER_CTX_new();
    if (cipher == NULL || ctx == NULL ||
        EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, SEAL_NONCE_BYTES, NULL) != 1)
        return NULL;
    return ctx;
}

static const struct seal_key *seal_find(const struct seal_keyring *kr, const char *perspective,
                                        uint32_t id)
{
    for (int i = 0; kr != NULL && i < kr->n; i++)
        if (kr->keys[i].id == id && strcmp(kr->keys[i].perspective, perspective) == 0)
            return &kr->keys[i];
    return NULL;
}

/* The newest (highest id) key of a perspective that may seal, or NULL. */
static const struct seal_key *seal_newest(const struct seal_keyring *kr, const char *perspective)
{
    const struct seal_key *best = NULL;
    for (int i = 0; kr != NULL && i < kr->n; i++) {
        const struct seal_key *k = &kr->keys[i];
        if (k->open_only || strcmp(k->perspective, perspective) != 0) continue;
        if (best == NULL || k->id > best->id) best = k;
    }
    return best;
}

int seal_keyring_add(struct seal_keyring *kr, const char *perspective, uint32_t id,
                     const unsigned char key[SEAL_KEY_BYTES], bool open_only)
{
    struct seal_key *k;
    if (kr->n >= SEAL_MAX_KEYS || !perspective_name_valid(perspective) ||
        seal_find(kr, perspective, id) != NULL)
        return -1;
    k = &kr->keys[kr->n++];
    util_strlcpy(k->perspective, perspective, sizeof(k->perspective));
    k->id = id;
    k->open_only = open_only;
    memcpy(k->key, key, SEAL_KEY_BYTES);
    return 0;
}

bool seal_keyring_can_seal(const struct seal_keyring *kr, const char *perspective)
{
    return seal_newest(kr, perspective) != NULL;
}

void seal_keyring_clear(struct seal_keyring *kr)
{
    OPENSSL_cleanse(kr->keys, sizeof(kr->keys));
    kr->n = 0;
}

static void seal_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t seal_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The id's 16 bytes when it is 32 lowercase hex digits (version 2 can carry it); else -1
 * (uppercase digits would not read back the same). */
static int seal_rid_pack(const char *rid, unsigned char raw[SEAL_RID_RAW_BYTES])
{
    if (strlen(rid) != 2 * SEAL_RID_RAW_BYTES) return -1;
    for (size_t i = 0; i < 2 * SEAL_RID_RAW_BYTES; i++) {
        int v = rid[i] >= 'A' && rid[i] <= 'F' ? -1 : seal_hexval(rid[i]);
        if (v < 0) return -1;
        if (i % 2 == 0)
            raw[i / 2] = (unsigned char)(v << 4);
        else
            raw[i / 2] |= (unsigned char)v;
    }
    return 0;
}

/* Writes ad's header in version ad->version into out (NULL: only measure); returns its
 * length. Version 2 requires an id seal_rid_pack accepts (seal_seal checks). */
static size_t seal_write_header(const struct seal_ad *ad, unsigned char *out)
{
    size_t rl = strlen(ad->rid), pl = strlen(ad->perspective);
    size_t ridfield = ad->version == SEAL_VERSION_COMPACT_RID ? SEAL_RID_RAW_BYTES : 1 + rl;
    uint64_t exp = (uint64_t)ad->expiry_ms;

    if (out != NULL) {
        unsigned char *p = out;
        memcpy(p, SEAL_MAGIC, SEAL_MAGIC_LEN);
        p += SEAL_MAGIC_LEN;
        *p++ = ad->version;
        *p++ = (unsigned char)ad->dir;
        seal_put32(p, ad->key_id);
        p += 4;
        seal_put32(p, (uint32_t)(exp >> 32));
        seal_put32(p + 4, (uint32_t)exp);
        p += 8;
        seal_put32(p, ad->attempt);
        p += 4;
        *p++ = (unsigned char)ad->check_type;
        if (ad->version == SEAL_VERSION_COMPACT_RID) {
            (void)seal_rid_pack(ad->rid, p);
        } else {
            *p = (unsigned char)rl;
            memcpy(p + 1, ad->rid, rl);
        }
        p += ridfield;
        *p++ = (unsigned char)pl;
        memcpy(p, ad->perspective, pl);
    }
    return SEAL_FIXED_HDR + ridfield + 1 + pl;
}

static bool seal_rid_valid(const char *rid, size_t len)
{
    if (len == 0 || len > MSG_RID_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = rid[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Parses the header; returns its length, or 0 when malformed. */
static size_t seal_parse_header(const unsigned char *b, size_t len, struct seal_ad *ad)
{
    size_t off = SEAL_FIXED_HDR, rl, pl;
    uint64_t exp;

    if (len < SEAL_FIXED_HDR + 2 ||
        (b[SEAL_MAGIC_LEN] != SEAL_VERSION && b[SEAL_MAGIC_LEN] != SEAL_VERSION_COMPACT_RID))
        return 0;
    if (b[5] != SEAL_DIR_JOB && b[5] != SEAL_DIR_RESULT) return 0;
    if (b[SEAL_FIXED_HDR - 1] != CHECK_TYPE_CAA && b[SEAL_FIXED_HDR - 1] != CHECK_TYPE_DCV)
        return 0;
    ad->version = b[SEAL_MAGIC_LEN];
    ad->dir = (enum seal_dir)b[5];
    ad->key_id = seal_get32(b + 6);
    exp = (uint64_t)seal_get32(b + 10) << 32 | seal_get32(b + 14);
    ad->expiry_ms = (int64_t)exp;
    ad->attempt = seal_get32(b + 18);
    ad->check_type = (enum check_type)b[SEAL_FIXED_HDR - 1];
    if (ad->version == SEAL_VERSION_COMPACT_RID) {
        if (off + SEAL_RID_RAW_BYTES + 1 > len) return 0;
        util_hex_encode(b + off, SEAL_RID_RAW_BYTES, ad->rid);
        off += SEAL_RID_RAW_BYTES;
    } else {
        rl = b[off++];
        if (off + rl + 1 > len || !seal_rid_valid((const char *)b + off, rl)) return 0;
        memcpy(ad->rid, b + off, rl);
        ad->rid[rl] = '\0';
        off += rl;
    }
    pl = b[off++];
    if (pl == 0 || pl >= PERSPECTIVE_CODE_MAX || off + pl > len) goto bad;
    memcpy(ad->perspective, b + off, pl);
    ad->perspective[pl] = '\0';
    if (strlen(ad->perspective) != pl || !perspective_name_valid(ad->perspective)) goto bad;
    return off + pl;
bad:
    ad->rid[0] = '\0';
    ad->perspective[0] = '\0';
    return 0;
}

enum seal_status seal_peek(const void *env, size_t len, struct seal_ad *ad)
{
    size_t hl;
    memset(ad, 0, sizeof(*ad));
    if (env == NULL || len < SEAL_MAGIC_LEN || memcmp(env, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
        return SEAL_ERR_UNSEALED;
    if (len > SEAL_MAX_BYTES) return SEAL_ERR_MALFORMED;
    hl = seal_parse_header(env, len, ad);
    if (hl == 0) return SEAL_ERR_MALFORMED;
    if (len < hl + SEAL_NONCE_BYTES + SEAL_TAG_BYTES) return SEAL_ERR_MALFORMED;
    return SEAL_OK;
}

int seal_seal(const struct seal_keyring *kr, struct seal_ad *ad, const void *pt, size_t ptlen,
              char **out, size_t *outlen)
{
    const struct seal_key *k = seal_newest(kr, ad->perspective);
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *buf = NULL, *nonce, *ct;
    unsigned char raw[SEAL_RID_RAW_BYTES];
    size_t hl, total;
    int l1 = 0, l2 = 0;

    if (k == NULL || !seal_rid_valid(ad->rid, strlen(ad->rid)) ||
        !perspective_name_valid(ad->perspective) || ptlen > MSG_MAX_BYTES)
        return -1;
    ad->key_id = k->id;
    /* jobs wait in Redis (17 bytes less each); results stay version 1, which coordinators
     * from before version 2 read (upgrade order: workers first, docs/security.md) */
    ad->version = ad->dir == SEAL_DIR_JOB && seal_rid_pack(ad->rid, raw) == 0
                      ? SEAL_VERSION_COMPACT_RID
                      : SEAL_VERSION;
    hl = seal_write_header(ad, NULL);
    total = hl + SEAL_NONCE_BYTES + ptlen + SEAL_TAG_BYTES;
    buf = util_xmalloc(total);
    seal_write_header(ad, buf);
    nonce = buf + hl;
    ct = nonce + SEAL_NONCE_BYTES;
    util_random_bytes(nonce, SEAL_NONCE_BYTES); /* CSPRNG: unique per key in practice */
    ctx = seal_cipher_ctx(1);
    if (ctx == NULL || EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &l1, buf, (int)hl) != 1 ||
        EVP_EncryptUpdate(ctx, ct, &l1, pt, (int)ptlen) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + l1, &l2) != 1 || (size_t)(l1 + l2) != ptlen ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SEAL_TAG_BYTES, ct + ptlen) != 1)
        goto fail;
    *out = (char *)buf;
    *outlen = total;
    return 0;
fail:
    free(buf);
    return -1;
}

enum seal_status seal_open(const struct seal_keyring *kr, const void *env, size_t len,
                           enum seal_dir dir, const char *expect, int64_t now_ms,
                           struct seal_ad *ad, char **pt, size_t *ptlen)
{
    const unsigned char *b = env;
    const struct seal_key *k;
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *out = NULL, tag[SEAL_TAG_BYTES];
    size_t hl, ctlen;
    int l1 = 0, l2 = 0;
    enum seal_status st = seal_peek(env, len, ad);

    *pt = NULL;
    *ptlen = 0;
    if (st != SEAL_OK) return st;
    if (ad->dir != dir || (expect != NULL && strcmp(ad->perspective, expect) != 0))
        return SEAL_ERR_MISMATCH;
    k = seal_find(kr, ad->perspective, ad->key_id);
    if (k == NULL) return SEAL_ERR_UNKNOWN_KEY;
    hl = seal_write_header(ad, NULL);
    ctlen = len - hl - SEAL_NONCE_BYTES - SEAL_TAG_BYTES;
    memcpy(tag, b + len - SEAL_TAG_BYTES, SEAL_TAG_BYTES);
    out = util_xmalloc(ctlen + 1);
    ctx = seal_cipher_ctx(0);
    if (ctx == NULL || EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, b + hl) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &l1, b, (int)hl) != 1 ||
        EVP_DecryptUpdate(ctx, out, &l1, b + hl + SEAL_NONCE_BYTES, (int)ctlen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SEAL_TAG_BYTES, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, out + l1, &l2) != 1 || (size_t)(l1 + l2) != ctlen) {
        OPENSSL_cleanse(out, ctlen + 1);
        free(out);
        return SEAL_ERR_AUTH;
    }
    /* checked only after authentication: an attacker cannot make a fresh header pass */
    if (now_ms >= ad->expiry_ms) {
        free(out);
        return SEAL_ERR_EXPIRED;
    }
    out[ctlen] = '\0';
    *pt = (char *)out;
    *ptlen = ctlen;
    return SEAL_OK;
}
