# SPDX-License-Identifier: Apache-2.0
# kafka_log_set_warnings(target): the project's warning flags and, when asked, sanitizers.
include_guard(GLOBAL)

function(kafka_log_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
      $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Woverloaded-virtual> -Wconversion -Wno-sign-conversion)
    if(KAFKA_LOG_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# Sanitizers apply to everything this project builds (libraries, tests, examples), so a
# sanitized test binary never links an uninstrumented copy of kafka_log.
if(KAFKA_LOG_SANITIZE)
  add_compile_options(-fsanitize=${KAFKA_LOG_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${KAFKA_LOG_SANITIZE})
  if(KAFKA_LOG_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
