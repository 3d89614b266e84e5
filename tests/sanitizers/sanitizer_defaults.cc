// Default sanitizer options of every executable of a sanitized build
// (cmake/sanitizers.cmake links this file in), so that the tests, foxpoold
// and the fuzzers behave the same under ctest, in CI and by hand; the
// *_OPTIONS environment variables still override them.
#include <sanitizer/common_interface_defs.h>

extern "C" {

// Any report ends the process with a failure; stacks are symbolized.
__attribute__((used, visibility("default"))) const char* __asan_default_options() {
  return "halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:"
         "detect_stack_use_after_return=0:print_summary=1";
}

__attribute__((used, visibility("default"))) const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}

__attribute__((used, visibility("default"))) const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1:history_size=4";
}

// Leaks that are not ours, one line each with why (none so far).
__attribute__((used, visibility("default"))) const char* __lsan_default_suppressions() {
  return "";
}

// Reports in code that is not ours and not instrumented, one line each
// with why (none so far).
__attribute__((used, visibility("default"))) const char* __tsan_default_suppressions() {
  return "";
}

}  // extern "C"
