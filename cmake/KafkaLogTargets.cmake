# SPDX-License-Identifier: Apache-2.0
# kafka_log_add_library(<target> EXPORT_NAME <name> [STATIC] SOURCES <file>...)
#
# Defines one of kafka_log's libraries the way all of them are defined: the ALIAS
# kafka_log::<name>, the exported name, hidden visibility (only KAFKA_LOG_*EXPORT symbols are
# public), the shared library's VERSION and SOVERSION, C++20 for its users and the project's
# warnings. STATIC makes it a static library whatever BUILD_SHARED_LIBS says (position
# independent, so a user's shared library can link it). The target is added to the global
# property KAFKA_LOG_TARGETS, the list the install rules export.
include_guard(GLOBAL)

function(kafka_log_add_library target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "STATIC" "EXPORT_NAME" "SOURCES")
  if(NOT arg_EXPORT_NAME OR NOT arg_SOURCES)
    message(FATAL_ERROR "kafka_log_add_library(${target}): EXPORT_NAME and SOURCES are required")
  endif()
  if(arg_STATIC)
    add_library(${target} STATIC ${arg_SOURCES})
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} ${arg_SOURCES})
  endif()
  add_library(kafka_log::${arg_EXPORT_NAME} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${arg_EXPORT_NAME}
    OUTPUT_NAME ${target}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_compile_features(${target} PUBLIC cxx_std_20)
  kafka_log_set_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY KAFKA_LOG_TARGETS ${target})
endfunction()
