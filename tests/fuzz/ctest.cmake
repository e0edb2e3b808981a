# fuzz.all: scripts/fuzz.sh builds tests/fuzz/ with clang++ (its own project, in the main build's
# fuzz/ directory so that it does not collide with a developer's build-fuzz/) and fuzzes every
# target for 15 s with a fixed seed (reproducible in CI). It needs no part of the main build; without clang++ or libFuzzer the script
# exits 77 and ctest reports the test skipped, not passed.
add_test(NAME fuzz.all COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh 15
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(fuzz.all PROPERTIES TIMEOUT 1200 LABELS fuzz SKIP_RETURN_CODE 77
                     ENVIRONMENT "KD_FUZZ_BUILD=${CMAKE_BINARY_DIR}/fuzz;KD_FUZZ_SEED=1")
