# ctest "install_consumer" (cmake -P): checks that eddy can be consumed the
# three documented ways.
#   1. cmake --install into a scratch prefix; the expected files are there.
#   2. A downstream CMake project finds it with find_package(eddy) and links
#      eddy::eddy and eddy::eddy_static; both programs run.
#   3. pkg-config --cflags --libs eddy compiles and links a program that runs.
#   4. A downstream project that add_subdirectory()s the source tree.
# Inputs (-D): EDDY_SOURCE_DIR EDDY_BINARY_DIR EDDY_CARGO_TARGET_DIR
#              EDDY_CARGO_PROFILE EDDY_GENERATOR EDDY_C_COMPILER
cmake_minimum_required(VERSION 3.16)

set(work "${EDDY_BINARY_DIR}/install-test")
set(prefix "${work}/prefix")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "command failed (${rc}): ${cmd}\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

# 1. install
run("${CMAKE_COMMAND}" --install "${EDDY_BINARY_DIR}" --prefix "${prefix}")
# The libdir the build chose (GNUInstallDirs): read it from the cache.
file(STRINGS "${EDDY_BINARY_DIR}/CMakeCache.txt" libdir_line REGEX "^CMAKE_INSTALL_LIBDIR:")
string(REGEX REPLACE "^[^=]*=" "" libdir "${libdir_line}")
if(NOT libdir)
  set(libdir lib)
endif()
foreach(f
    "${libdir}/libeddy.so"
    "${libdir}/libeddy.a"
    "include/eddy.h"
    "${libdir}/cmake/eddy/eddyConfig.cmake"
    "${libdir}/cmake/eddy/eddyConfigVersion.cmake"
    "${libdir}/pkgconfig/eddy.pc")
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
  message(STATUS "installed ${f}")
endforeach()
if(EXISTS "${EDDY_SOURCE_DIR}/include/eddy.hpp" AND NOT EXISTS "${prefix}/include/eddy.hpp")
  message(FATAL_ERROR "not installed: include/eddy.hpp")
endif()

# 2. find_package
set(gen_args -G "${EDDY_GENERATOR}" "-DCMAKE_C_COMPILER=${EDDY_C_COMPILER}")
run("${CMAKE_COMMAND}" -S "${EDDY_SOURCE_DIR}/tests/cmake_consumer" -B "${work}/find_package"
    ${gen_args} -DEDDY_CONSUMER_MODE=find_package "-DCMAKE_PREFIX_PATH=${prefix}")
run("${CMAKE_COMMAND}" --build "${work}/find_package")
foreach(exe consumer_shared consumer_static)
  run("${work}/find_package/${exe}")
  message(STATUS "find_package ${exe}: ${run_output}")
endforeach()
# The shared program records the plain library name, not a build path.
find_program(READELF readelf)
if(READELF)
  run("${READELF}" -d "${work}/find_package/consumer_shared")
  if(NOT run_output MATCHES "NEEDED[^\n]*\\[libeddy\\.so\\]")
    message(FATAL_ERROR "consumer_shared does not need plain libeddy.so:\n${run_output}")
  endif()
  run("${READELF}" -d "${work}/find_package/consumer_static")
  if(run_output MATCHES "libeddy")
    message(FATAL_ERROR "consumer_static depends on a shared libeddy:\n${run_output}")
  endif()
endif()

# 3. pkg-config
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  set(ENV{PKG_CONFIG_PATH} "${prefix}/${libdir}/pkgconfig")
  run("${PKG_CONFIG}" --modversion eddy)
  message(STATUS "pkg-config --modversion eddy: ${run_output}")
  run("${PKG_CONFIG}" --cflags --libs eddy)
  string(STRIP "${run_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run("${PKG_CONFIG}" --variable=libdir eddy)
  string(STRIP "${run_output}" pc_libdir)
  get_filename_component(pc_libdir "${pc_libdir}" REALPATH)
  get_filename_component(want_libdir "${prefix}/${libdir}" REALPATH)
  if(NOT pc_libdir STREQUAL want_libdir)
    message(FATAL_ERROR "eddy.pc libdir is ${pc_libdir}, expected ${want_libdir}")
  endif()
  run("${PKG_CONFIG}" --static --libs eddy)
  if(NOT run_output MATCHES "-lpthread" OR NOT run_output MATCHES "-ldl" OR NOT run_output MATCHES "-lm")
    message(FATAL_ERROR "pkg-config --static --libs eddy lacks -lpthread -ldl -lm: ${run_output}")
  endif()
  run("${EDDY_C_COMPILER}" -std=c11 -Wall -Wextra -Wpedantic -Werror
      "${EDDY_SOURCE_DIR}/tests/cmake_consumer/main.c" ${flags} "-Wl,-rpath,${prefix}/${libdir}"
      -o "${work}/consumer_pkgconfig")
  run("${work}/consumer_pkgconfig")
  message(STATUS "pkg-config consumer: ${run_output}")
else()
  message(STATUS "pkg-config not found: skipping the pkg-config consumer")
endif()

# 4. add_subdirectory (sharing the cargo target dir: no Rust rebuild)
run("${CMAKE_COMMAND}" -S "${EDDY_SOURCE_DIR}/tests/cmake_consumer" -B "${work}/subdirectory"
    ${gen_args} -DEDDY_CONSUMER_MODE=subdirectory "-DEDDY_SOURCE_DIR=${EDDY_SOURCE_DIR}"
    "-DEDDY_CARGO_TARGET_DIR=${EDDY_CARGO_TARGET_DIR}" "-DEDDY_CARGO_PROFILE=${EDDY_CARGO_PROFILE}")
run("${CMAKE_COMMAND}" --build "${work}/subdirectory")
foreach(exe consumer_shared consumer_static)
  run("${work}/subdirectory/${exe}")
  message(STATUS "add_subdirectory ${exe}: ${run_output}")
endforeach()
message(STATUS "install_consumer: all consumers built and ran")
