# Sanitizer and fuzzing builds (clang; see deploy/test.sh for how CI runs them).
#
#   -DFOXPOOL_SANITIZE=address,undefined   ASan + UBSan, every target
#   -DFOXPOOL_SANITIZE=thread              TSan (CI runs the pool and hub tests)
#   -DFOXPOOL_FUZZ=ON                      the tests/fuzz targets link libFuzzer,
#                                          and all code gets coverage feedback
#
# Debian's gRPC, protobuf, Abseil and spdlog are prebuilt without
# instrumentation: ASan still catches our bad accesses to their memory (it
# intercepts malloc/free), UBSan checks our code only, and TSan needs to be
# told about Abseil's mutexes (tests/sanitizers/tsan_absl_mutex.cc).
set(FOXPOOL_SANITIZE "" CACHE STRING "Sanitizers: empty, address,undefined or thread")
option(FOXPOOL_FUZZ "Link the fuzz targets with libFuzzer (clang)" OFF)

if(FOXPOOL_SANITIZE OR FOXPOOL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FOXPOOL_SANITIZE/FOXPOOL_FUZZ need clang: -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Debian's gcc links --as-needed by default, its clang does not: keep the
  # binaries' shared libraries those of the normal build (tests/deploy
  # compares them with the container image's packages).
  add_link_options(-Wl,--as-needed)
endif()

if(FOXPOOL_SANITIZE STREQUAL "address,undefined")
  # Recover from nothing: a UBSan report fails the test that caused it.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(FOXPOOL_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  # Exported, so that Abseil's shared libraries call our annotated mutex
  # functions too (tests/sanitizers/tsan_absl_mutex.cc).
  add_link_options(-fsanitize=thread -Wl,--export-dynamic-symbol=_ZN4absl*
                   -Wl,--export-dynamic-symbol=_ZNK4absl*)
elseif(FOXPOOL_SANITIZE)
  message(FATAL_ERROR "FOXPOOL_SANITIZE must be address,undefined or thread, not ${FOXPOOL_SANITIZE}")
endif()

if(FOXPOOL_FUZZ)
  # Coverage counters in our libraries, so libFuzzer sees the code it drives;
  # only the fuzz targets link the fuzzer runtime (-fsanitize=fuzzer).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Called once every target exists (end of the top-level CMakeLists.txt).
function(foxpool_sanitizer_finish)
  if(NOT FOXPOOL_SANITIZE)
    return()
  endif()
  # A sanitized build is for tests: benchmarks stay out of `all`.
  get_property(bench_targets DIRECTORY ${CMAKE_SOURCE_DIR}/bench PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target ${bench_targets})
    set_property(TARGET ${target} PROPERTY EXCLUDE_FROM_ALL TRUE)
  endforeach()
  # Every executable gets the default sanitizer options and suppressions,
  # and under TSan the Abseil mutex annotations (interposers must be in the
  # executable to win over libabsl_synchronization.so).
  set(sources ${CMAKE_SOURCE_DIR}/tests/sanitizers/sanitizer_defaults.cc)
  if(FOXPOOL_SANITIZE STREQUAL "thread")
    list(APPEND sources ${CMAKE_SOURCE_DIR}/tests/sanitizers/tsan_absl_mutex.cc)
  endif()
  set(dirs ${CMAKE_SOURCE_DIR})
  while(dirs)
    list(POP_FRONT dirs dir)
    get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    list(APPEND dirs ${subdirs})
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target ${targets})
      get_target_property(type ${target} TYPE)
      if(type STREQUAL "EXECUTABLE")
        target_sources(${target} PRIVATE ${sources})
        target_link_libraries(${target} PRIVATE ${CMAKE_DL_LIBS})
      endif()
    endforeach()
  endwhile()
endfunction()
