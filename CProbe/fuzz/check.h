/*
 * check.h — the one harness of the C unit tests: CProbe/fuzz/unit_tests.c,
 * CProbe/fuzz/trace_unit_tests.c and CServiceProbe/fuzz/unit_tests.c
 * (scripts/c-checks*.sh put this folder on their include path).
 *
 * A test is a `static void name(void)` (TEST(name) declares one) run with
 * RUN(name). Inside it CHECK(cond) and CHECK_EQ(a, b) record a failed check,
 * with file, line and expression, and carry on, so that one run shows every
 * broken property; CHECK_FAILED says whether a check of the running test has
 * failed yet (to stop a loop at its first bad case). skip(why) marks a test
 * that cannot run here (most often: it needs root).
 *
 * check_summary() prints the counts, last "N passed, N failed" (tests), and
 * returns the exit status: 1 when any check failed, else 0.
 */
#ifndef ISPC_C_CHECK_H
#define ISPC_C_CHECK_H

#include <stdio.h>

/* The counters; a forked child hands its check counts back through them
 * (see in_child in CProbe/fuzz/unit_tests.c). */
static struct check_counts {
    int checks;          /* every CHECK / CHECK_EQ evaluated */
    int checks_failed;
    int tests_passed;
    int tests_failed;
    int tests_skipped;
    const char *test;    /* the running test's name */
    int test_failed;     /* a check of the running test failed */
    int test_skipped;    /* the running test called skip() */
} check_counts;

#define CHECK_FAILED (check_counts.test_failed)

static inline void check_record(int ok, const char *file, int line, const char *what)
{
    check_counts.checks++;
    if (ok)
        return;
    check_counts.checks_failed++;
    check_counts.test_failed = 1;
    printf("    check failed in %s (%s:%d): %s\n", check_counts.test ? check_counts.test : "?", file,
           line, what);
}

#define CHECK(cond) check_record((cond) ? 1 : 0, __FILE__, __LINE__, #cond)

#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        long long va_ = (long long)(a), vb_ = (long long)(b);                             \
        if (va_ == vb_) {                                                                 \
            check_record(1, __FILE__, __LINE__, NULL);                                    \
        } else {                                                                          \
            char what_[512];                                                              \
            snprintf(what_, sizeof what_, "%s == %s (%lld != %lld)", #a, #b, va_, vb_);   \
            check_record(0, __FILE__, __LINE__, what_);                                   \
        }                                                                                 \
    } while (0)

/* Marks the running test as not run here; its checks so far still count. */
static inline void skip(const char *why)
{
    check_counts.test_skipped = 1;
    printf("    skip %s: %s\n", check_counts.test ? check_counts.test : "?", why);
}

static inline void check_run(const char *name, void (*test)(void))
{
    check_counts.test = name;
    check_counts.test_failed = 0;
    check_counts.test_skipped = 0;
    test();
    const char *verdict = "ok  ";
    if (check_counts.test_failed) {
        check_counts.tests_failed++;
        verdict = "FAIL";
    } else if (check_counts.test_skipped) {
        check_counts.tests_skipped++;
        verdict = "skip";
    } else {
        check_counts.tests_passed++;
    }
    printf("%s %s\n", verdict, name);
    fflush(stdout);
}

#define TEST(name) static void name(void)
#define RUN(name) check_run(#name, name)

/* Prints the counts and returns the process exit status. */
static inline int check_summary(void)
{
    printf("%d checks, %d failed\n", check_counts.checks, check_counts.checks_failed);
    if (check_counts.tests_skipped > 0)
        printf("%d tests skipped (see their skip lines)\n", check_counts.tests_skipped);
    printf("%d passed, %d failed\n", check_counts.tests_passed, check_counts.tests_failed);
    fflush(stdout);
    return check_counts.checks_failed == 0 && check_counts.tests_failed == 0 ? 0 : 1;
}

#endif /* ISPC_C_CHECK_H */
