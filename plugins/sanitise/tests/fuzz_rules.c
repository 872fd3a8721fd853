/*
 * fuzz_rules.c - fuzz target for the rules file parser.  Every input must
 * either parse (and then free cleanly, and find tables without crashing)
 * or fail with a "name:line: " message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "fuzz_main.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_ruleset *rs = NULL;
    char err[SR_ERRLEN];

    if (sr_parse_buffer("fuzz.rules", (const char *)data, size, &rs, err, sizeof(err)) == 0) {
        sr_find_table(rs, "public", "users");
        sr_find_index(rs, "logs-1");
        sr_ruleset_free(rs);
    } else if (strncmp(err, "fuzz.rules:", 11) != 0) {
        fprintf(stderr, "error without file:line: %s\n", err);
        abort();
    }
    return 0;
}

#ifndef FUZZING_LIBFUZZER
int
main(int argc, char **argv)
{
    return fz_main(argc, argv, "rules-", 20000);
}
#endif
