/*
 * check_echod.c: runs every unit suite.  CK_FORK=no runs them in one
 * process, for a debugger.
 */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner *sr = srunner_create(transform_suite());
	int failed;

	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, framing_suite());
	srunner_add_suite(sr, guards_suite());
	srunner_add_suite(sr, modules_suite());
	srunner_add_suite(sr, proxy_suite());
	srunner_add_suite(sr, ring_suite());
	srunner_add_suite(sr, util_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
