/* Failed-authentication counting: per address, windowed, bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "auth/failures.c"

static void test_counts_per_address(void **state)
{
    (void)state;
    int64_t t = 1000000;
    assert_int_equal(cf_authfail_count(CF_STR("10.0.0.1"), t), 0);
    assert_int_equal(cf_authfail_note(CF_STR("10.0.0.1"), t), 1);
    assert_int_equal(cf_authfail_note(CF_STR("10.0.0.1"), t + 1), 2);
    assert_int_equal(cf_authfail_note(CF_STR("::1"), t + 2), 1);
    assert_int_equal(cf_authfail_count(CF_STR("10.0.0.1"), t + 3), 2);
    assert_int_equal(cf_authfail_count(CF_STR("10.0.0.2"), t + 3), 0);
}

static void test_window_resets(void **state)
{
    (void)state;
    int64_t t = 5000000;
    cf_authfail_note(CF_STR("10.9.9.9"), t);
    cf_authfail_note(CF_STR("10.9.9.9"), t);
    assert_int_equal(cf_authfail_count(CF_STR("10.9.9.9"), t + CF_AUTHFAIL_WINDOW_MS - 1), 2);
    assert_int_equal(cf_authfail_count(CF_STR("10.9.9.9"), t + CF_AUTHFAIL_WINDOW_MS), 0);
    assert_int_equal(cf_authfail_note(CF_STR("10.9.9.9"), t + CF_AUTHFAIL_WINDOW_MS + 1), 1);
}

static void test_bounded_and_odd_input(void **state)
{
    (void)state;
    char addr[32];
    /* Far more addresses than slots: nothing grows, the newest are tracked. */
    for (int i = 0; i < 4 * CF_AUTHFAIL_SLOTS; i++) {
        snprintf(addr, sizeof addr, "10.1.%d.%d", i / 256, i % 256);
        assert_int_equal(cf_authfail_note(cf_str_c(addr), 9000000 + i), 1);
    }
    assert_int_equal(cf_authfail_note(CF_STR(""), 1), 0);
    char longaddr[200];
    memset(longaddr, 'a', sizeof longaddr);
    assert_int_equal(cf_authfail_note(cf_str_make(longaddr, sizeof longaddr), 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_address),
        cmocka_unit_test(test_window_resets),
        cmocka_unit_test(test_bounded_and_odd_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
