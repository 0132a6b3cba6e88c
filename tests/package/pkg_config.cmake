# SPDX-License-Identifier: Apache-2.0
# cmake -DPREFIX=<usr of the extracted .deb> -DCXX=<compiler> -DSOURCE=<cpp> -DOUT_DIR=<dir>
#       -DMODULES=<pkg-config modules> -P pkg_config.cmake
# Compiles, links and runs SOURCE with nothing but `pkg-config --cflags --libs MODULES`, the
# .pc files found through PKG_CONFIG_PATH in PREFIX, as a Makefile user would.
foreach(var PREFIX CXX SOURCE OUT_DIR MODULES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "pkg_config.cmake: -D${var}=... is required")
  endif()
endforeach()
file(GLOB pc_dirs "${PREFIX}/lib/pkgconfig" "${PREFIX}/lib/*/pkgconfig")
list(JOIN pc_dirs ":" path)
set(ENV{PKG_CONFIG_PATH} "${path}")
string(REPLACE " " ";" modules "${MODULES}")
execute_process(COMMAND pkg-config --cflags --libs ${modules}
  OUTPUT_VARIABLE flags ERROR_VARIABLE error RESULT_VARIABLE result OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "pkg_config.cmake: pkg-config --cflags --libs ${MODULES} failed "
    "(PKG_CONFIG_PATH=${path}): ${error}")
endif()
message(STATUS "pkg-config --cflags --libs ${MODULES}: ${flags}")
separate_arguments(flags UNIX_COMMAND "${flags}")
file(MAKE_DIRECTORY "${OUT_DIR}")
set(program "${OUT_DIR}/pkg_config_consumer")
execute_process(COMMAND "${CXX}" -std=c++20 "${SOURCE}" -o "${program}" ${flags}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "pkg_config.cmake: compiling ${SOURCE} with pkg-config's flags failed")
endif()
execute_process(COMMAND "${program}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "pkg_config.cmake: ${program} failed: ${result}")
endif()
