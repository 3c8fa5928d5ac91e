/*
 * test_transport_classify.c — which transport failures prove a request never
 * reached the channel (NOT_SENT, may reroute) and which may have reached it
 * (UNKNOWN, must be queried). A timeout is never NOT_SENT (SPEC §4).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "pgw_transport.h"


static void
test_proof_of_not_sent(void **state)
{
    (void) state;
    assert_int_equal(pgw_transport_classify(CURLE_COULDNT_CONNECT, 0),
                     PGW_SENT_NOT_SENT);
    assert_int_equal(pgw_transport_classify(CURLE_COULDNT_RESOLVE_HOST, 0),
                     PGW_SENT_NOT_SENT);
    assert_int_equal(pgw_transport_classify(CURLE_SSL_CONNECT_ERROR, 0),
                     PGW_SENT_NOT_SENT);
    assert_int_equal(pgw_transport_classify(CURLE_PEER_FAILED_VERIFICATION, 0),
                     PGW_SENT_NOT_SENT);
}


static void
test_may_have_reached(void **state)
{
    (void) state;
    int unknown[] = { CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR,
                      CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
                      CURLE_WRITE_ERROR, CURLE_HTTP2, CURLE_ABORTED_BY_CALLBACK };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_int_equal(pgw_transport_classify(unknown[i], 0),
                         PGW_SENT_UNKNOWN);
    }
}


static void
test_any_http_answer_is_answered(void **state)
{
    (void) state;
    /* a 5xx is an answer: the pack classifies it (as PROCESSING) */
    assert_int_equal(pgw_transport_classify(CURLE_OK, 200), PGW_SENT_ANSWERED);
    assert_int_equal(pgw_transport_classify(CURLE_OK, 502), PGW_SENT_ANSWERED);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proof_of_not_sent),
        cmocka_unit_test(test_may_have_reached),
        cmocka_unit_test(test_any_http_answer_is_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
