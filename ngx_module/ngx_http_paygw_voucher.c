
/*
 * Voucher ids minted at the edge (SPEC 3.3) and the local voucher answer.
 *
 *   V yyyymmddHHMMSSmmm NNN PPPPPPP SSS      (31 characters)
 *     UTC time to the millisecond, node id (paygw_node_id), process id,
 *     sequence within the millisecond
 *
 * Ids sort by time; two nginx processes on a node differ by pid (unique
 * among live processes, also across a reload where old and new workers
 * overlap), two nodes by node id.  Each process keeps a logical clock that
 * never goes back: when the wall clock steps backwards, or more than 1000
 * ids are needed within one millisecond, ids continue from the last
 * millisecond used, so an id is never repeated by a process.  paygwd takes
 * the id from the X-Paygw-Voucher-Id header ($paygw_voucher_id) for a new
 * order; an idempotent repeat answers the stored one.
 *
 * "paygw_local_voucher on" answers a verified prepay here, 202 with the
 * minted voucher and the request's out_trade_no, without the core: for
 * measuring and testing the front alone (nothing is stored).
 */


#include "ngx_http_paygw_module.h"

#include <jansson.h>


static uint64_t    ngx_http_paygw_voucher_last_ms;
static ngx_uint_t  ngx_http_paygw_voucher_seq;
static time_t      ngx_http_paygw_voucher_sec = -1;
static u_char      ngx_http_paygw_voucher_date[sizeof("yyyymmddHHMMSS")];

/* "NNNPPPPPPP", fixed for a process: node id and pid */
static ngx_pid_t   ngx_http_paygw_voucher_pid = -1;
static ngx_uint_t  ngx_http_paygw_voucher_node;
static u_char      ngx_http_paygw_voucher_proc[10];


static ngx_inline u_char *
ngx_http_paygw_voucher_digits(u_char *p, ngx_uint_t v, ngx_uint_t n)
{
    u_char  *d;

    for (d = p + n; d > p; v /= 10) {
        *--d = (u_char) ('0' + v % 10);
    }

    return p + n;
}


ngx_int_t
ngx_http_paygw_voucher_mint(ngx_uint_t node_id, u_char *out)
{
    time_t       sec;
    u_char      *p;
    uint64_t     ms;
    ngx_tm_t     tm;
    ngx_time_t  *tp;

    tp = ngx_timeofday();
    ms = (uint64_t) tp->sec * 1000 + tp->msec;

    if (ms > ngx_http_paygw_voucher_last_ms) {
        ngx_http_paygw_voucher_last_ms = ms;
        ngx_http_paygw_voucher_seq = 0;

    } else if (++ngx_http_paygw_voucher_seq == 1000) {
        ngx_http_paygw_voucher_last_ms++;
        ngx_http_paygw_voucher_seq = 0;
    }

    ms = ngx_http_paygw_voucher_last_ms;
    sec = (time_t) (ms / 1000);

    if (sec != ngx_http_paygw_voucher_sec) {
        ngx_gmtime(sec, &tm);

        (void) ngx_sprintf(ngx_http_paygw_voucher_date,
                           "%4d%02d%02d%02d%02d%02d",
                           tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                           tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

        ngx_http_paygw_voucher_sec = sec;
    }

    if (ngx_pid != ngx_http_paygw_voucher_pid
        || node_id != ngx_http_paygw_voucher_node)
    {
        p = ngx_http_paygw_voucher_digits(ngx_http_paygw_voucher_proc,
                                          node_id % 1000, 3);
        (void) ngx_http_paygw_voucher_digits(p,
                                     (ngx_uint_t) (ngx_pid % 10000000), 7);

        ngx_http_paygw_voucher_pid = ngx_pid;
        ngx_http_paygw_voucher_node = node_id;
    }

    /* V yyyymmddHHMMSS mmm NNN PPPPPPP SSS */

    p = out;
    *p++ = 'V';
    p = ngx_cpymem(p, ngx_http_paygw_voucher_date,
                   sizeof("yyyymmddHHMMSS") - 1);
    p = ngx_http_paygw_voucher_digits(p, (ngx_uint_t) (ms % 1000), 3);
    p = ngx_cpymem(p, ngx_http_paygw_voucher_proc,
                   sizeof(ngx_http_paygw_voucher_proc));
    (void) ngx_http_paygw_voucher_digits(p, ngx_http_paygw_voucher_seq, 3);

    return NGX_OK;
}


/*
 * Whether ngx_escape_json() would change s: a control byte, '"' or '\\'.
 * Whole words first: the high bit of each byte below 0x20 or equal to
 * '"' or '\\' (exact in telling whether there is one).
 */

#define NGX_HTTP_PAYGW_J_ONES    0x0101010101010101ULL
#define NGX_HTTP_PAYGW_J_HIGHS   0x8080808080808080ULL

static ngx_inline ngx_uint_t
ngx_http_paygw_json_plain(u_char *s, size_t len)
{
    u_char    *end;
    uint64_t   w, q, b;

    end = s + len;

    while (end - s >= 8) {
        w = (uint64_t) s[0] | (uint64_t) s[1] << 8 | (uint64_t) s[2] << 16
            | (uint64_t) s[3] << 24 | (uint64_t) s[4] << 32
            | (uint64_t) s[5] << 40 | (uint64_t) s[6] << 48
            | (uint64_t) s[7] << 56;

        q = w ^ (NGX_HTTP_PAYGW_J_ONES * '"');
        b = w ^ (NGX_HTTP_PAYGW_J_ONES * '\\');

        if ((((w - NGX_HTTP_PAYGW_J_ONES * 0x20) & ~w)
             | ((q - NGX_HTTP_PAYGW_J_ONES) & ~q)
             | ((b - NGX_HTTP_PAYGW_J_ONES) & ~b))
            & NGX_HTTP_PAYGW_J_HIGHS)
        {
            return 0;
        }

        s += 8;
    }

    for ( /* void */ ; s < end; s++) {
        if (*s <= 0x1f || *s == '"' || *s == '\\') {
            return 0;
        }
    }

    return 1;
}


/* content handler of "paygw_local_voucher on" */

ngx_int_t
ngx_http_paygw_voucher_handler(ngx_http_request_t *r)
{
    u_char                *p;
    size_t                 len, esc;
    ngx_int_t              rc;
    ngx_str_t              otn;
    ngx_buf_t             *b;
    ngx_chain_t            out;
    json_t                *root, *v;
    json_error_t           err;
    ngx_http_paygw_ctx_t        *ctx;
    ngx_http_paygw_main_conf_t  *pmcf;

    ctx = ngx_http_paygw_get_ctx(r);

    if (r->method != NGX_HTTP_POST || ctx == NULL || !ctx->verified) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (!ctx->minted) {
        pmcf = ngx_http_get_module_main_conf(r, ngx_http_paygw_module);

        if (ngx_http_paygw_voucher_mint(pmcf->node_id, ctx->voucher)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->minted = 1;
    }

    otn = ctx->out_trade_no;
    root = NULL;

    if (ctx->scheme == NGX_HTTP_PAYGW_SCHEME_A) {
        root = json_loadb((char *) ctx->request_body.data,
                          ctx->request_body.len, JSON_REJECT_DUPLICATES,
                          &err);
        v = json_object_get(root, "out_trade_no");

        if (json_is_string(v)) {
            otn.data = (u_char *) json_string_value(v);
            otn.len = json_string_length(v);
        }
    }

    if (otn.len == 0 || otn.len > 64) {
        json_decref(root);
        return ngx_http_paygw_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "INVALID_PARAMETER",
                                         (u_char *) "out_trade_no is "
                                         "required (1-64 characters)",
                                         sizeof("out_trade_no is required "
                                                "(1-64 characters)") - 1);
    }

    /* out_trade_no is any decoded form value: escaped unless plain */

    esc = ngx_http_paygw_json_plain(otn.data, otn.len)
          ? 0 : ngx_escape_json(NULL, otn.data, otn.len);

    len = sizeof("{\"voucher_id\":\"") - 1 + NGX_HTTP_PAYGW_VOUCHER_LEN
          + sizeof("\",\"out_trade_no\":\"") - 1
          + otn.len + esc
          + sizeof("\",\"status\":\"ACCEPTED\"}\n") - 1;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        json_decref(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, "{\"voucher_id\":\"",
                   sizeof("{\"voucher_id\":\"") - 1);
    p = ngx_cpymem(p, ctx->voucher, NGX_HTTP_PAYGW_VOUCHER_LEN);
    p = ngx_cpymem(p, "\",\"out_trade_no\":\"",
                   sizeof("\",\"out_trade_no\":\"") - 1);

    if (esc) {
        p = (u_char *) ngx_escape_json(p, otn.data, otn.len);

    } else {
        p = ngx_cpymem(p, otn.data, otn.len);
    }

    p = ngx_cpymem(p, "\",\"status\":\"ACCEPTED\"}\n",
                   sizeof("\",\"status\":\"ACCEPTED\"}\n") - 1);
    b->last = p;
    b->last_buf = 1;
    b->last_in_chain = 1;

    json_decref(root);

    r->headers_out.status = NGX_HTTP_ACCEPTED;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    /*
     * signed here, over the body just built: the signing filters then let
     * the answer through as it is (no held headers, no body copy)
     */

    if (ngx_http_paygw_sign_answer(r, ctx, b->pos, b->last - b->pos)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "paygw: cannot sign the local voucher answer");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
