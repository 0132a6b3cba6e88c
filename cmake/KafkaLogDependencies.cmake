# SPDX-License-Identifier: Apache-2.0
# kafka_log_find_rdkafka(<static> [NO_GSSAPI]): the librdkafka target kafka_log links
# (PkgConfig::RDKAFKA), shared or static. Used by the build (CMakeLists.txt)
# and, installed next to it, by kafka_logConfig.cmake, so a consumer of the installed package
# links the same kind of dependency as kafka_log's own build (KAFKA_LOG_STATIC_DEPS).
#
# Static librdkafka: PkgConfig::RDKAFKA becomes an interface target naming librdkafka.a and the
# archives of its private dependencies (pkg-config --static: lz4, zstd, ssl, crypto, z), with
# the C library's parts (m, dl, pthread, rt) shared. Libraries named in
# KAFKA_LOG_STATIC_DEPS_SHARED stay shared; the default is sasl2, because Debian's libsasl2.a holds
# Cyrus SASL's plugins (GSSAPI, LDAP, SQL, Berkeley DB) whose own libraries have no static archive.
# NO_GSSAPI (KAFKA_LOG_SASL_GSSAPI=OFF) links kafka_log::no_gssapi, a stub of the Cyrus functions
# librdkafka calls, instead of libsasl2: no libsasl2 at all, and no SASL/GSSAPI.
include_guard(GLOBAL)

# What each of librdkafka's private dependencies gives it, and the Debian package with its archive.
set(_kafka_log_dep_lz4 "LZ4 compression (compression.codec=lz4)|liblz4-dev")
set(_kafka_log_dep_zstd "zstd compression (compression.codec=zstd)|libzstd-dev")
set(_kafka_log_dep_sasl2 "SASL/GSSAPI (Kerberos) through Cyrus SASL|libsasl2-dev")
set(_kafka_log_dep_ssl "TLS (security.protocol=ssl, sasl_ssl)|libssl-dev")
set(_kafka_log_dep_crypto "TLS and SASL/SCRAM (OpenSSL's libcrypto)|libssl-dev")
set(_kafka_log_dep_z "gzip compression (compression.codec=gzip)|zlib1g-dev")

function(kafka_log_find_rdkafka static)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_GSSAPI" "" "")
  if(TARGET PkgConfig::RDKAFKA)
    return()
  endif()
  find_package(PkgConfig REQUIRED QUIET)
  if(NOT static)
    pkg_check_modules(RDKAFKA REQUIRED QUIET IMPORTED_TARGET rdkafka>=2.0)
    return()
  endif()
  pkg_check_modules(RDKAFKA REQUIRED QUIET rdkafka>=2.0)
  if(NOT DEFINED KAFKA_LOG_STATIC_DEPS_SHARED)
    set(KAFKA_LOG_STATIC_DEPS_SHARED sasl2)
  endif()
  set(system_libraries m dl pthread rt c)
  set(libraries "")
  set(names ${RDKAFKA_STATIC_LIBRARIES})
  list(REMOVE_DUPLICATES names)
  foreach(name IN LISTS names)
    if(name STREQUAL "sasl2" AND arg_NO_GSSAPI)
      continue()
    elseif(name IN_LIST system_libraries OR name IN_LIST KAFKA_LOG_STATIC_DEPS_SHARED)
      list(APPEND libraries ${name})
      continue()
    endif()
    find_library(archive NAMES lib${name}.a HINTS ${RDKAFKA_STATIC_LIBRARY_DIRS} NO_CACHE)
    if(NOT archive)
      if(DEFINED _kafka_log_dep_${name})
        string(REPLACE "|" ";" what "${_kafka_log_dep_${name}}")
        list(GET what 0 feature)
        list(GET what 1 package)
        set(hint " It serves ${feature}; Debian's ${package} has it. To link lib${name} shared "
                 "instead, add it to KAFKA_LOG_STATIC_DEPS_SHARED (-DKAFKA_LOG_STATIC_DEPS_SHARED="
                 "\"sasl2;${name}\").")
      else()
        set(hint " To link it shared instead, add ${name} to KAFKA_LOG_STATIC_DEPS_SHARED.")
      endif()
      message(FATAL_ERROR "KAFKA_LOG_STATIC_DEPS: no static archive lib${name}.a for librdkafka's "
        "dependency ${name} (pkg-config --static --libs rdkafka).${hint}")
    endif()
    list(APPEND libraries "${archive}")
    unset(archive)
  endforeach()
  if(arg_NO_GSSAPI)
    # Right after librdkafka.a (first in the list), which calls it.
    list(INSERT libraries 1 kafka_log::no_gssapi)
  endif()
  add_library(PkgConfig::RDKAFKA INTERFACE IMPORTED)
  set_target_properties(PkgConfig::RDKAFKA PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${RDKAFKA_STATIC_INCLUDE_DIRS}"
    INTERFACE_COMPILE_OPTIONS "${RDKAFKA_STATIC_CFLAGS_OTHER}"
    INTERFACE_LINK_LIBRARIES "${libraries}")
endfunction()
