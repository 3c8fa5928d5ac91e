/*
 * pgw_keystore.c -- keys by NAME, for packs that sign and verify.
 *
 * A name is [A-Za-z0-9_.-]{1,64}, not starting with '.', so it can never
 * leave the keystore directory.  The file is <dir>/<name>.pem, else
 * <dir>/<name>.key, else <dir>/<name>; its content is either PEM (any
 * structure OpenSSL decodes: PKCS#8, PKCS#1 "RSA PRIVATE KEY", SPKI "PUBLIC
 * KEY", "RSA PUBLIC KEY") or bare base64 of the DER as channels hand keys
 * out (PKCS#1 / PKCS#8 private, SPKI / PKCS#1 public).  A file may also hold
 * an X.509 certificate (PEM "CERTIFICATE", or bare base64 DER) as channels
 * hand out platform certificates: its public key is the key, and the
 * certificate itself is kept for its serial number.  A PEM file may hold a
 * bundle of certificates (Alipay's alipayRootCert.crt): the first is the
 * key's certificate, and all of them are kept, in file order, for
 * pgw_keystore_certs (their fields, never a trust decision).  Encrypted keys are
 * refused (no passphrase prompt ever).  Keys are decoded once and cached as
 * EVP_PKEY for the life of the keystore (one keystore per pack version, so a
 * reload picks up rotated keys).  Key material never enters Lua.
 *
 * Symmetric API secrets (HMAC keys, AES keys, bearer API keys) live apart,
 * in <dir>/<name>.secret: the bytes of the file with one trailing "\n" or
 * "\r\n" removed, cached the same way and cleansed when the keystore is
 * freed.  They are the only keystore bytes that reach Lua (gw.secret);
 * asymmetric private keys never do.  No content is ever put in a message.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pgw_adapter.h"


#define PGW_KEY_FILE_MAX (64 * 1024)


struct pgw_keystore_entry {
    char name[65];
    EVP_PKEY *pkey;
    X509 *cert;                 /* set when the file held a certificate */
    STACK_OF(X509) *certs;      /* every certificate of the file, in order */
    struct pgw_keystore_entry *next;
};

struct pgw_keystore_secret {
    char name[65];
    char *data;                 /* NUL-terminated, len bytes */
    size_t len;
    struct pgw_keystore_secret *next;
};

struct pgw_keystore {
    char *dir;
    struct pgw_keystore_entry *keys;
    struct pgw_keystore_secret *secrets;
};


int
pgw_keystore_name_ok(const char *name)
{
    size_t i, n;

    if (name == NULL) {
        return 0;
    }
    n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '-' || c == '.')) {
            return 0;
        }
    }
    return 1;
}


struct pgw_keystore *
pgw_keystore_new(const char *dir)
{
    struct pgw_keystore *ks = calloc(1, sizeof(*ks));

    if (ks == NULL) {
        return NULL;
    }
    ks->dir = strdup(dir != NULL ? dir : ".");
    if (ks->dir == NULL) {
        free(ks);
        return NULL;
    }
    return ks;
}


void
pgw_keystore_free(struct pgw_keystore *ks)
{
    struct pgw_keystore_entry *e, *next;
    struct pgw_keystore_secret *sc, *snext;

    if (ks == NULL) {
        return;
    }
    for (e = ks->keys; e != NULL; e = next) {
        next = e->next;
        EVP_PKEY_free(e->pkey);
        X509_free(e->cert);
        sk_X509_pop_free(e->certs, X509_free);
        free(e);
    }
    for (sc = ks->secrets; sc != NULL; sc = snext) {
        snext = sc->next;
        OPENSSL_cleanse(sc->data, sc->len);
        free(sc->data);
        free(sc);
    }
    free(ks->dir);
    free(ks);
}


static int
pgw_keystore_no_pass(char *buf, size_t size, size_t *len, const OSSL_PARAM *params,
                     void *arg)
{
    (void) buf; (void) size; (void) params; (void) arg;
    *len = 0;
    return 0;
}


static int
pgw_keystore_no_pem_pass(char *buf, int size, int rwflag, void *u)
{
    (void) buf; (void) size; (void) rwflag; (void) u;
    return -1;
}


static EVP_PKEY *
pgw_keystore_decode(const unsigned char *data, size_t len, const char *input_type,
                    int selection)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = data;
    size_t left = len;

    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, input_type, NULL, NULL, selection,
                                         NULL, NULL);
    if (dctx == NULL) {
        return NULL;
    }
    OSSL_DECODER_CTX_set_passphrase_cb(dctx, pgw_keystore_no_pass, NULL);
    if (!OSSL_DECODER_from_data(dctx, &p, &left)) {
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}


/* A certificate: PEM or DER.  Sets *cert (the first certificate) and *certs
 * (all of them: a PEM bundle may hold several) and returns the first's
 * public key. */
static EVP_PKEY *
pgw_keystore_cert_parse(const unsigned char *data, size_t len, int pem, X509 **cert,
                        STACK_OF(X509) **certs)
{
    STACK_OF(X509) *all;
    X509 *x = NULL;
    EVP_PKEY *pkey;

    if (len > PGW_KEY_FILE_MAX) {
        return NULL;
    }
    all = sk_X509_new_null();
    if (all == NULL) {
        return NULL;
    }
    if (pem) {
        BIO *bio = BIO_new_mem_buf(data, (int) len);
        if (bio == NULL) {
            sk_X509_free(all);
            return NULL;
        }
        while ((x = PEM_read_bio_X509(bio, NULL, pgw_keystore_no_pem_pass, NULL)) != NULL) {
            if (sk_X509_push(all, x) <= 0) {
                X509_free(x);
                break;
            }
        }
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        x = d2i_X509(NULL, &p, (long) len);
        if (x != NULL && sk_X509_push(all, x) <= 0) {
            X509_free(x);
        }
    }
    ERR_clear_error();          /* the bundle's end reads as "no start line" */
    x = sk_X509_num(all) > 0 ? sk_X509_value(all, 0) : NULL;
    pkey = x != NULL ? X509_get_pubkey(x) : NULL;
    if (pkey == NULL || X509_up_ref(x) != 1) {
        EVP_PKEY_free(pkey);
        sk_X509_pop_free(all, X509_free);
        return NULL;
    }
    *cert = x;
    *certs = all;
    return pkey;
}


static EVP_PKEY *
pgw_keystore_parse(const char *text, size_t len, X509 **cert, STACK_OF(X509) **certs)
{
    EVP_PKEY *pkey;
    unsigned char *der;
    size_t derlen;

    *cert = NULL;
    *certs = NULL;
    if (memmem(text, len, "-----BEGIN", 10) != NULL) {
        if (memmem(text, len, "ENCRYPTED", 9) != NULL) {
            return NULL;
        }
        if (memmem(text, len, "CERTIFICATE-----", 16) != NULL) {
            return pgw_keystore_cert_parse((const unsigned char *) text, len, 1, cert,
                                           certs);
        }
        pkey = pgw_keystore_decode((const unsigned char *) text, len, "PEM",
                                   OSSL_KEYMGMT_SELECT_KEYPAIR);
        if (pkey == NULL) {
            pkey = pgw_keystore_decode((const unsigned char *) text, len, "PEM",
                                       OSSL_KEYMGMT_SELECT_PUBLIC_KEY);
        }
        return pkey;
    }

    der = malloc(len * 3 / 4 + 3);
    if (der == NULL) {
        return NULL;
    }
    if (pgw_b64_decode(text, len, der, &derlen) != 0 || derlen == 0) {
        free(der);
        return NULL;
    }
    pkey = pgw_keystore_decode(der, derlen, "DER", OSSL_KEYMGMT_SELECT_KEYPAIR);
    if (pkey == NULL) {
        pkey = pgw_keystore_decode(der, derlen, "DER", OSSL_KEYMGMT_SELECT_PUBLIC_KEY);
    }
    if (pkey == NULL) {
        pkey = pgw_keystore_cert_parse(der, derlen, 0, cert, certs);
    }
    OPENSSL_cleanse(der, derlen);
    free(der);
    return pkey;
}


static char *
pgw_keystore_read(const struct pgw_keystore *ks, const char *name, const char *const *ext,
                  size_t *len, char *path, size_t pathlen)
{
    char *buf = NULL;
    int i;

    for (i = 0; ext[i] != NULL && buf == NULL; i++) {
        FILE *f;
        long sz;

        snprintf(path, pathlen, "%s/%s%s", ks->dir, name, ext[i]);
        f = fopen(path, "rb");
        if (f == NULL) {
            continue;
        }
        if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && sz <= PGW_KEY_FILE_MAX
            && fseek(f, 0, SEEK_SET) == 0) {
            buf = malloc((size_t) sz + 1);
            if (buf != NULL && fread(buf, 1, (size_t) sz, f) == (size_t) sz) {
                buf[sz] = '\0';
                *len = (size_t) sz;
            } else {
                free(buf);
                buf = NULL;
            }
        }
        fclose(f);
        if (buf == NULL) {
            break;    /* exists but unreadable: do not try other names */
        }
    }
    return buf;
}


static struct pgw_keystore_entry *
pgw_keystore_entry(struct pgw_keystore *ks, const char *name, char *err, size_t errlen)
{
    static const char *const ext[] = {".pem", ".key", "", NULL};
    struct pgw_keystore_entry *e;
    char path[4096];
    char *text;
    size_t len = 0;
    EVP_PKEY *pkey;
    X509 *cert = NULL;
    STACK_OF(X509) *certs = NULL;

    if (ks == NULL) {
        snprintf(err, errlen, "no keystore available");
        return NULL;
    }
    if (!pgw_keystore_name_ok(name)) {
        snprintf(err, errlen, "invalid key name");
        return NULL;
    }
    for (e = ks->keys; e != NULL; e = e->next) {
        if (strcmp(e->name, name) == 0) {
            return e;
        }
    }

    text = pgw_keystore_read(ks, name, ext, &len, path, sizeof(path));
    if (text == NULL) {
        snprintf(err, errlen, "key '%s' not found in keystore %s", name, ks->dir);
        return NULL;
    }
    pkey = pgw_keystore_parse(text, len, &cert, &certs);
    OPENSSL_cleanse(text, len);
    free(text);
    if (pkey == NULL) {
        snprintf(err, errlen, "key '%s' (%s): not a PEM or base64 DER key or certificate",
                 name, path);
        return NULL;
    }

    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        EVP_PKEY_free(pkey);
        X509_free(cert);
        sk_X509_pop_free(certs, X509_free);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(e->name, name, strlen(name) + 1);
    e->pkey = pkey;
    e->cert = cert;
    e->certs = certs;
    e->next = ks->keys;
    ks->keys = e;
    return e;
}


EVP_PKEY *
pgw_keystore_get(struct pgw_keystore *ks, const char *name, char *err, size_t errlen)
{
    struct pgw_keystore_entry *e = pgw_keystore_entry(ks, name, err, errlen);

    return e != NULL ? e->pkey : NULL;
}


X509 *
pgw_keystore_cert(struct pgw_keystore *ks, const char *name, char *err, size_t errlen)
{
    struct pgw_keystore_entry *e = pgw_keystore_entry(ks, name, err, errlen);

    if (e == NULL) {
        return NULL;
    }
    if (e->cert == NULL) {
        snprintf(err, errlen, "key '%s' is not a certificate", name);
        return NULL;
    }
    return e->cert;
}


const STACK_OF(X509) *
pgw_keystore_certs(struct pgw_keystore *ks, const char *name, char *err, size_t errlen)
{
    struct pgw_keystore_entry *e = pgw_keystore_entry(ks, name, err, errlen);

    if (e == NULL) {
        return NULL;
    }
    if (e->certs == NULL) {
        snprintf(err, errlen, "key '%s' is not a certificate", name);
        return NULL;
    }
    return e->certs;
}


const char *
pgw_keystore_secret(struct pgw_keystore *ks, const char *name, size_t *len, char *err,
                    size_t errlen)
{
    static const char *const ext[] = {".secret", NULL};
    struct pgw_keystore_secret *sc;
    char path[4096];
    char *text;
    size_t n = 0;

    if (ks == NULL) {
        snprintf(err, errlen, "no keystore available");
        return NULL;
    }
    if (!pgw_keystore_name_ok(name)) {
        snprintf(err, errlen, "invalid secret name");
        return NULL;
    }
    for (sc = ks->secrets; sc != NULL; sc = sc->next) {
        if (strcmp(sc->name, name) == 0) {
            *len = sc->len;
            return sc->data;
        }
    }

    text = pgw_keystore_read(ks, name, ext, &n, path, sizeof(path));
    if (text == NULL) {
        snprintf(err, errlen, "secret '%s' not found in keystore %s", name, ks->dir);
        return NULL;
    }
    if (n > 0 && text[n - 1] == '\n') {
        n--;
        if (n > 0 && text[n - 1] == '\r') {
            n--;
        }
    }
    if (n == 0) {
        free(text);
        snprintf(err, errlen, "secret '%s' (%s) is empty", name, path);
        return NULL;
    }
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        OPENSSL_cleanse(text, n);
        free(text);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(sc->name, name, strlen(name) + 1);
    sc->data = text;
    sc->len = n;
    sc->next = ks->secrets;
    ks->secrets = sc;
    *len = n;
    return text;
}
