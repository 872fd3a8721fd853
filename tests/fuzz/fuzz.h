/*
 * fuzz.h - the contract between a fuzz target and its drivers.
 *
 * A target defines LLVMFuzzerTestOneInput (libFuzzer's entry point: must
 * not crash, leak or hang on any input) and fuzz_seeds(), which hands a
 * few valid inputs to `add`.  tests/fuzz/driver.c turns a target into an
 * ordinary program for `make check` (seeds plus deterministic mutations,
 * or the files named on the command line); run-libfuzzer.sh links the same
 * target with clang's libFuzzer instead.
 */
#ifndef ES_FUZZ_H
#define ES_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef void (*fuzz_add_fn)(const uint8_t *data, size_t size);
void fuzz_seeds(fuzz_add_fn add);

#endif
