# Conventions shared by every pipeline library.
#
#   komainu_module(NAME SOURCES a.cc ... DEPS lib ... [PLUGIN])
#
# builds the static library komainu_NAME from the folder, and picks up by name
#   *_test.cc  -> one GoogleTest program NAME_test, registered with CTest
#   *_fuzz.cc  -> one libFuzzer program per file (only with -DKOMAINU_FUZZ=ON)
# PLUGIN marks a library whose objects register themselves at static-init time
# (analyzers, detectors, keywords, log sources): programs link those whole, so
# adding one is a new folder, never an edit of a central list.

define_property(GLOBAL PROPERTY KOMAINU_PLUGIN_LIBS BRIEF_DOCS "self-registering libraries" FULL_DOCS "x")

function(komainu_module name)
  cmake_parse_arguments(M "PLUGIN" "" "SOURCES;DEPS;TEST_DEPS" ${ARGN})
  add_library(komainu_${name} STATIC ${M_SOURCES})
  target_include_directories(komainu_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(komainu_${name} PUBLIC ${M_DEPS})
  if(M_PLUGIN)
    set_property(GLOBAL APPEND PROPERTY KOMAINU_PLUGIN_LIBS komainu_${name})
  endif()

  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(tests AND BUILD_TESTING)
    add_executable(${name}_test ${tests})
    if(M_PLUGIN)
      komainu_link_whole(${name}_test PRIVATE komainu_${name})
    else()
      target_link_libraries(${name}_test PRIVATE komainu_${name})
    endif()
    target_link_libraries(${name}_test PRIVATE ${M_TEST_DEPS} GTest::gtest_main)
    target_compile_definitions(${name}_test PRIVATE
      KOMAINU_SHARED_DIR="${KOMAINU_SHARED_DIR}"
      KOMAINU_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    gtest_discover_tests(${name}_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 900)
  endif()

  if(KOMAINU_FUZZ)
    file(GLOB fuzzers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_fuzz.cc)
    foreach(f ${fuzzers})
      get_filename_component(fname ${f} NAME_WE)
      add_executable(${fname} ${f})
      target_compile_options(${fname} PRIVATE -fsanitize=fuzzer)
      target_link_options(${fname} PRIVATE -fsanitize=fuzzer)
      if(M_PLUGIN)
        komainu_link_whole(${fname} PRIVATE komainu_${name})
      else()
        target_link_libraries(${fname} PRIVATE komainu_${name})
      endif()
      target_link_libraries(${fname} PRIVATE ${M_TEST_DEPS})
    endforeach()
  endif()
endfunction()

# Links self-registering libraries whole (every object, so static registrations survive):
#   komainu_link_whole(TARGET PRIVATE|INTERFACE lib...)
# The archives go first on the link line inside one --whole-archive group; they are also
# linked plainly for their usage requirements. A library may thus also be a plain dependency
# of another one (CMake's WHOLE_ARCHIVE link feature forbids that mix).
function(komainu_link_whole target scope)
  set(files "")
  foreach(l ${ARGN})
    target_link_libraries(${target} ${scope} ${l})
    string(APPEND files " $<TARGET_FILE:${l}>")
  endforeach()
  if(files)
    target_link_options(${target} ${scope} "SHELL:-Wl,--whole-archive${files} -Wl,--no-whole-archive")
  endif()
endfunction()

# Links every self-registering library whole into a program.
function(komainu_link_plugins target)
  get_property(libs GLOBAL PROPERTY KOMAINU_PLUGIN_LIBS)
  komainu_link_whole(${target} PRIVATE ${libs})
endfunction()

# Adds every immediate subfolder that has a CMakeLists.txt (analyzers, detectors, sources).
macro(komainu_add_subfolders)
  file(GLOB _children LIST_DIRECTORIES true ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT _children)
  foreach(_c ${_children})
    if(IS_DIRECTORY ${_c} AND EXISTS ${_c}/CMakeLists.txt)
      add_subdirectory(${_c})
    endif()
  endforeach()
endmacro()
