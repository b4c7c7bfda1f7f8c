// Runtime options of the sanitizer build (LLMSIM_SANITIZE, `./dev test`'s build-asan) and of the
// fuzzers, compiled into every binary of those builds so that ctest, the hostile suite and a
// hand-run `build-asan/llmsim` all run the same way; ASAN_OPTIONS / UBSAN_OPTIONS /
// LSAN_OPTIONS in the environment still override them. Nothing here in other builds.
#if defined(__SANITIZE_ADDRESS__)
#define LLMSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LLMSIM_ASAN 1
#endif
#endif

#ifdef LLMSIM_ASAN

extern "C" const char* __asan_default_options() {
  return "";
}

extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1";
}

#endif
