/*
 * Security configuration parsing and key loading (see secconf.h). Strict like config.c:
 * unknown keys, wrong types and bad values are errors naming the key path.
 */
#include "secconf.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int secconf_only_keys(const json_t *obj, const char *path, const char *const *allowed,
                             char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (int i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0) ok = true;
        if (!ok) {
            util_set_err(err, errlen, "%s.%s: unknown configuration key", path, key);
            return -1;
        }
    }
    return 0;
}

static int secconf_hex32(const char *s, unsigned char out[32])
{
    if (s == NULL || strlen(s) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
            else return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

unsigned secconf_route_parse(const char *s)
{
    if (s == NULL) return 0;
    if (strcmp(s, "mpic") == 0) return SECCONF_ROUTE_MPIC;
    if (strcmp(s, "healthz") == 0) return SECCONF_ROUTE_HEALTHZ;
    if (strcmp(s, "metrics") == 0) return SECCONF_ROUTE_METRICS;
    return 0;
}

static int secconf_parse_seal_key(struct secconf *sc, size_t i, const json_t *k, char *err,
                                  size_t errlen)
{
    static const char *const allowed[] = {"perspective", "id", "file", "open_only", NULL};
    struct secconf_seal_key *out = &sc->seal_keys[sc->nseal_keys];
    const char *code, *file;
    const json_t *id, *oo;
    char path[48];

    snprintf(path, sizeof(path), "seal.keys[%zu]", i);
    if (!json_is_object(k)) {
        util_set_err(err, errlen, "%s: must be an object", path);
        return -1;
    }
    if (secconf_only_keys(k, path, allowed, err, errlen) != 0) return -1;
    code = json_string_value(json_object_get(k, "perspective"));
    file = json_string_value(json_object_get(k, "file"));
    id = json_object_get(k, "id");
    oo = json_object_get(k, "open_only");
    if (!perspective_name_valid(code)) {
        util_set_err(err, errlen, "%s.perspective: a perspective code is required", path);
        return -1;
    }
    if (!json_is_integer(id) || json_integer_value(id) < 1 ||
        json_integer_value(id) > 0xffffffffLL) {
        util_set_err(err, errlen, "%s.id: an integer in [1, 4294967295] is required", path);
        return -1;
    }
    if (file == NULL || *file == '\0' || strlen(file) >= sizeof(out->file)) {
        util_set_err(err, errlen, "%s.file: a path shorter than %zu bytes is required", path,
                     sizeof(out->file));
        return -1;
    }
    if (oo != NULL && !json_is_boolean(oo)) {
        util_set_err(err, errlen, "%s.open_only: must be true or false", path);
        return -1;
    }
    for (int j = 0; j < sc->nseal_keys; j++) {
        if (sc->seal_keys[j].id == (uint32_t)json_integer_value(id) &&
            strcmp(sc->seal_keys[j].perspective, code) == 0) {
            util_set_err(err, errlen, "%s: duplicate key id %u for %s", path,
                         (unsigned)json_integer_value(id), code);
            return -1;
        }
    }
    util_strlcpy(out->perspective, code, sizeof(out->perspective));
    util_strlcpy(out->file, file, sizeof(out->file));
    out->id = (uint32_t)json_integer_value(id);
    out->open_only = json_is_true(oo);
    sc->nseal_keys++;
    return 0;
}

int secconf_parse_seal(struct secconf *sc, const json_t *v, char *err, size_t errlen)
{
    static const char *const allowed[] = {"required", "keys", NULL};
    const json_t *req, *keys, *k;
    size_t i;

    if (!json_is_object(v)) {
        util_set_err(err, errlen, "seal: must be an object");
        return -1;
    }
    if (secconf_only_keys(v, "seal", allowed, err, errlen) != 0) return -1;
    req = json_object_get(v, "required");
    keys = json_object_get(v, "keys");
    if (req != NULL && !json_is_boolean(req)) {
        util_set_err(err, errlen, "seal.required: must be true or false");
        return -1;
    }
    if (req != NULL) sc->seal_required = json_is_true(req);
    if (keys == NULL || json_is_null(keys)) return 0;
    if (!json_is_array(keys) || json_array_size(keys) > SEAL_MAX_KEYS) {
        util_set_err(err, errlen, "seal.keys: must be an array of at most %d keys",
                     SEAL_MAX_KEYS);
        return -1;
    }
    sc->nseal_keys = 0;
    json_array_foreach(keys, i, k) {
        if (secconf_parse_seal_key(sc, i, k, err, errlen) != 0) return -1;
    }
    return 0;
}

static int secconf_parse_api_key(struct secconf *sc, size_t i, const json_t *k, char *err,
                                 size_t errlen)
{
    static const char *const allowed[] = {"name", "sha256", "routes", NULL};
    struct secconf_api_key *out = &sc->api_keys[sc->napi_keys];
    const json_t *routes, *r;
    const char *name;
    char path[64];
    size_t j;

    snprintf(path, sizeof(path), "coordinator.api_auth.keys[%zu]", i);
    if (!json_is_object(k)) {
        util_set_err(err, errlen, "%s: must be an object", path);
        return -1;
    }
    if (secconf_only_keys(k, path, allowed, err, errlen) != 0) return -1;
    name = json_string_value(json_object_get(k, "name"));
    if (name == NULL || *name == '\0' || strlen(name) >= sizeof(out->name)) {
        util_set_err(err, errlen, "%s.name: a name shorter than %zu bytes is required", path,
                     sizeof(out->name));
        return -1;
    }
    if (secconf_hex32(json_string_value(json_object_get(k, "sha256")), out->sha256) != 0) {
        util_set_err(err, errlen, "%s.sha256: the SHA-256 of the key as 64 hex digits", path);
        return -1;
    }
    util_strlcpy(out->name, name, sizeof(out->name));
    routes = json_object_get(k, "routes");
    out->routes = SECCONF_ROUTE_ALL;
    if (routes != NULL) {
        if (!json_is_array(routes) || json_array_size(routes) > 3) {
            util_set_err(err, errlen, "%s.routes: an array of \"mpic\", \"healthz\", \"metrics\"",
                         path);
            return -1;
        }
        out->routes = 0;
        json_array_foreach(routes, j, r) {
            unsigned bit = secconf_route_parse(json_string_value(r));
            if (bit == 0) {
                util_set_err(err, errlen, "%s.routes[%zu]: one of \"mpic\", \"healthz\", "
                             "\"metrics\"", path, j);
                return -1;
            }
            out->routes |= bit;
        }
    }
    sc->napi_keys++;
    return 0;
}

int secconf_parse_api_auth(struct secconf *sc, const json_t *v, char *err, size_t errlen)
{
    static const char *const allowed[] = {"keys", "healthz", "metrics", NULL};
    const json_t *keys, *k, *h, *m;
    size_t i;

    if (!json_is_object(v)) {
        util_set_err(err, errlen, "coordinator.api_auth: must be an object");
        return -1;
    }
    if (secconf_only_keys(v, "coordinator.api_auth", allowed, err, errlen) != 0) return -1;
    h = json_object_get(v, "healthz");
    m = json_object_get(v, "metrics");
    if ((h != NULL && !json_is_boolean(h)) || (m != NULL && !json_is_boolean(m))) {
        util_set_err(err, errlen, "coordinator.api_auth.%s: must be true or false",
                     h != NULL && !json_is_boolean(h) ? "healthz" : "metrics");
        return -1;
    }
    if (h != NULL) sc->auth_healthz = json_is_true(h);
    if (m != NULL) sc->auth_metrics = json_is_true(m);
    keys = json_object_get(v, "keys");
    if (keys == NULL || json_is_null(keys)) return 0;
    if (!json_is_array(keys) || json_array_size(keys) > SECCONF_MAX_API_KEYS) {
        util_set_err(err, errlen, "coordinator.api_auth.keys: an array of at most %d keys",
                     SECCONF_MAX_API_KEYS);
        return -1;
    }
    sc->napi_keys = 0;
    json_array_foreach(keys, i, k) {
        if (secconf_parse_api_key(sc, i, k, err, errlen) != 0) return -1;
    }
    return 0;
}

/* Reads a secret text file with the key-file permission rules (0600, owner or root). */
static int secconf_read_secret(const char *path, char *out, size_t outlen, char *err,
                               size_t errlen)
{
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        util_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) ||
        (st.st_uid != geteuid() && st.st_uid != 0)) {
        util_set_err(err, errlen, "%s: must be a regular file of this user or root, mode 0600",
                     path);
        close(fd);
        return -1;
    }
    n = read(fd, out, outlen - 1);
    close(fd);
    if (n < 0 || (size_t)n >= outlen - 1) {
        util_set_err(err, errlen, "%s: unreadable or longer than %zu bytes", path, outlen - 2);
        return -1;
    }
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = '\0';
    return 0;
}

int secconf_load(struct secconf *sc, const struct perspective *ps, int nps, const char *self,
                 char *password, size_t passlen, char *err, size_t errlen)
{
    seal_keyring_clear(&sc->keyring);
    if (sc->redis_password_file[0] != '\0' &&
        secconf_read_secret(sc->redis_password_file, password, passlen, err, errlen) != 0)
        return -1;
    for (int i = 0; i < sc->nseal_keys; i++) {
        const struct secconf_seal_key *k = &sc->seal_keys[i];
        unsigned char key[SEAL_KEY_BYTES];
        bool known = false;
        for (int j = 0; j < nps; j++)
            if (strcmp(ps[j].code, k->perspective) == 0) known = true;
        if (!known) {
            util_set_err(err, errlen, "seal.keys[%d].perspective: \"%s\" is not configured", i,
                         k->perspective);
            goto fail;
        }
        if (self != NULL && strcmp(self, k->perspective) != 0) continue; /* not ours */
        if (seal_key_load_file(k->file, key, err, errlen) != 0) goto fail;
        if (seal_keyring_add(&sc->keyring, k->perspective, k->id, key, k->open_only) != 0) {
            OPENSSL_cleanse(key, sizeof(key));
            util_set_err(err, errlen, "seal.keys[%d]: cannot add the key", i);
            goto fail;
        }
        OPENSSL_cleanse(key, sizeof(key));
    }
    if (sc->nseal_keys == 0) {
        if (sc->seal_required) {
            util_set_err(err, errlen, "seal.required: true but seal.keys lists no key");
            return -1;
        }
        return 0;
    }
    for (int j = 0; j < nps; j++) {
        if (self != NULL && strcmp(self, ps[j].code) != 0) continue;
        if (!seal_keyring_can_seal(&sc->keyring, ps[j].code)) {
            util_set_err(err, errlen, "seal.keys: perspective %s has no key that seals (every "
                         "perspective needs one once sealing is configured)", ps[j].code);
            goto fail;
        }
    }
    return 0;
fail:
    seal_keyring_clear(&sc->keyring);
    return -1;
}
