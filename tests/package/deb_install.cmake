# SPDX-License-Identifier: Apache-2.0
# cmake -DBUILD_DIR=<kafka_log build> -DOUT_DIR=<dir> -DCPACK=<cpack> -P deb_install.cmake
# Makes the .deb with CPack (DEB generator) and extracts it with dpkg-deb -x into OUT_DIR/root,
# a private prefix (never into the system): OUT_DIR/root/usr is what `apt install` would add.
foreach(var BUILD_DIR OUT_DIR CPACK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "deb_install.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${OUT_DIR}")
execute_process(COMMAND "${CPACK}" -G DEB -B "${OUT_DIR}/cpack"
  WORKING_DIRECTORY "${BUILD_DIR}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "deb_install.cmake: cpack -G DEB in ${BUILD_DIR} failed: ${result}")
endif()
file(GLOB debs "${OUT_DIR}/cpack/*.deb")
list(LENGTH debs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "deb_install.cmake: expected one .deb in ${OUT_DIR}/cpack, found: ${debs}")
endif()
execute_process(COMMAND dpkg-deb --info "${debs}" RESULT_VARIABLE result)
execute_process(COMMAND dpkg-deb -x "${debs}" "${OUT_DIR}/root" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "deb_install.cmake: dpkg-deb -x ${debs} failed: ${result}")
endif()
foreach(file IN ITEMS usr/share/doc/kafka_log/LICENSE usr/include/kafka_log/version.hpp
    usr/lib/cmake/kafka_log/kafka_logConfig.cmake usr/lib/pkgconfig/kafka_log.pc)
  if(NOT EXISTS "${OUT_DIR}/root/${file}")
    message(FATAL_ERROR "deb_install.cmake: ${debs} has no /${file}")
  endif()
endforeach()
message(STATUS "deb_install.cmake: ${debs} extracted into ${OUT_DIR}/root")
