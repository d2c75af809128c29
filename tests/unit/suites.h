/* suites.h: one Check suite per module, run together by check_echod.c. */
#ifndef ECHOD_TEST_SUITES_H
#define ECHOD_TEST_SUITES_H

#include <check.h>

Suite *config_suite(void);
Suite *framing_suite(void);
Suite *guards_suite(void);
Suite *modules_suite(void);
Suite *proxy_suite(void);
Suite *ring_suite(void);
Suite *transform_suite(void);
Suite *util_suite(void);

#endif
