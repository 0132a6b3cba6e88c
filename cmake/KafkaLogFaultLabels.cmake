# SPDX-License-Identifier: Apache-2.0
# The ctest label `faults`: every test named in the test column of the fault matrix
# (docs/reliability.md, section "## The fault matrix") gets it, besides its own labels.
#
# gtest_discover_tests adds its tests when ctest reads the directory's TEST_INCLUDE_FILES, so
# the label is given by one more include file, appended after theirs: when ctest reads it, the
# tests exist, and ctest's set_tests_properties adds a label to those a test already has.
# Call kafka_log_label_fault_tests(<doc>) in tests/CMakeLists.txt after its last
# gtest_discover_tests. A name in the table that no test has changes nothing here;
# ci/check_fault_matrix.sh fails on it.

# The test column of the fault matrix's table in `doc`: a row is `| fault | `Suite.Test` | ...`.
function(kafka_log_fault_matrix_tests doc out_var)
  file(READ "${doc}" _text)
  string(FIND "${_text}" "\n## The fault matrix\n" _start)
  if(_start EQUAL -1)
    message(FATAL_ERROR "${doc}: no section \"## The fault matrix\": its table names the tests "
                        "that get the ctest label faults")
  endif()
  math(EXPR _start "${_start} + 1")
  string(SUBSTRING "${_text}" ${_start} -1 _section)
  string(FIND "${_section}" "\n#" _end)  # the next heading ends the section
  if(NOT _end EQUAL -1)
    string(SUBSTRING "${_section}" 0 ${_end} _section)
  endif()
  string(REGEX MATCHALL "\n\\|[^|\n;]*\\| *`[^`|\n;]+` *\\|" _rows "${_section}")
  set(_tests "")
  foreach(_row IN LISTS _rows)
    string(REGEX REPLACE "^\n\\|[^|]*\\| *`([^`]+)` *\\|$" "\\1" _test "${_row}")
    list(APPEND _tests "${_test}")
  endforeach()
  if(NOT _tests)
    message(FATAL_ERROR "${doc}: the fault matrix's table names no test")
  endif()
  set(${out_var} "${_tests}" PARENT_SCOPE)
endfunction()

function(kafka_log_label_fault_tests doc)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${doc}")
  kafka_log_fault_matrix_tests("${doc}" _tests)
  set(_script "${CMAKE_CURRENT_BINARY_DIR}/kafka_log_fault_labels.cmake")
  set(_content "# Generated from ${doc} (\"The fault matrix\") by KafkaLogFaultLabels.cmake.\n")
  foreach(_test IN LISTS _tests)
    string(APPEND _content "set_tests_properties([==[${_test}]==] PROPERTIES LABELS faults)\n")
  endforeach()
  file(CONFIGURE OUTPUT "${_script}" CONTENT "${_content}" @ONLY)
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${_script}")
endfunction()
