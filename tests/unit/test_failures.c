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

static void test_lockout_and_backoff(void **state)
{
    (void)state;
    int64_t t = 20000000;
    cf_str a = CF_STR("10.7.7.7");
    cf_authfail_configure(3, 1000);
    cf_authfail_note(a, t);
    cf_authfail_note(a, t);
    assert_int_equal(cf_authfail_locked(a, t), 0);
    assert_int_equal(cf_authfail_note(a, t), 3); /* reaches the limit: locked */
    assert_int_equal(cf_authfail_locked(a, t), 1000);
    assert_int_equal(cf_authfail_locked(a, t + 999), 1);
    assert_int_equal(cf_authfail_locked(CF_STR("10.7.7.8"), t), 0); /* others unaffected */
    /* A failure already in flight does not extend the lockout. */
    cf_authfail_note(a, t + 500);
    assert_int_equal(cf_authfail_locked(a, t + 1000), 0);
    /* Past the limit in the same window: the next failure relocks, twice as long. */
    cf_authfail_note(a, t + 2000);
    assert_int_equal(cf_authfail_locked(a, t + 2000), 2000);
    for (int i = 0; i < 10; i++)
        cf_authfail_note(a, t + 10000 + i * 20000);
    /* Capped at CF_AUTHFAIL_MAX_BACKOFF times the base. */
    int64_t last = t + 10000 + 9 * 20000;
    assert_int_equal(cf_authfail_locked(a, last), 1000 * CF_AUTHFAIL_MAX_BACKOFF);
    /* A new window after the lockout forgives everything. */
    int64_t later = last + CF_AUTHFAIL_WINDOW_MS + 1000 * CF_AUTHFAIL_MAX_BACKOFF;
    assert_int_equal(cf_authfail_note(a, later), 1);
    assert_int_equal(cf_authfail_locked(a, later), 0);
    cf_authfail_configure(CF_AUTHFAIL_DEFAULT_LIMIT, CF_AUTHFAIL_DEFAULT_LOCKOUT_S * 1000LL);
}

static void test_lockout_off(void **state)
{
    (void)state;
    int64_t t = 40000000;
    cf_authfail_configure(0, 1000);
    for (int i = 0; i < 100; i++)
        cf_authfail_note(CF_STR("10.6.6.6"), t);
    assert_int_equal(cf_authfail_locked(CF_STR("10.6.6.6"), t), 0);
    cf_authfail_configure(CF_AUTHFAIL_DEFAULT_LIMIT, CF_AUTHFAIL_DEFAULT_LOCKOUT_S * 1000LL);
}

static void test_locked_address_not_evicted(void **state)
{
    (void)state;
    char addr[32];
    int64_t t = 60000000;
    cf_authfail_configure(1, 600000);
    cf_authfail_note(CF_STR("10.5.5.5"), t);
    cf_authfail_configure(0, 1000);
    /* Many other addresses later, none locked: the locked one stays tracked. */
    for (int i = 0; i < 4 * CF_AUTHFAIL_SLOTS; i++) {
        snprintf(addr, sizeof addr, "10.2.%d.%d", i / 256, i % 256);
        cf_authfail_note(cf_str_c(addr), t + 1 + i);
    }
    assert_true(cf_authfail_locked(CF_STR("10.5.5.5"), t + 100000) > 0);
    cf_authfail_configure(CF_AUTHFAIL_DEFAULT_LIMIT, CF_AUTHFAIL_DEFAULT_LOCKOUT_S * 1000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_address),
        cmocka_unit_test(test_window_resets),
        cmocka_unit_test(test_bounded_and_odd_input),
        cmocka_unit_test(test_lockout_and_backoff),
        cmocka_unit_test(test_lockout_off),
        cmocka_unit_test(test_locked_address_not_evicted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
