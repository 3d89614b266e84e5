# Writes OUTPUT, a C++ source defining foxpool::firefox::ExtensionFiles() with
# the bytes of every file under SOURCE_DIR. Run with cmake -P.
file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/*)
list(SORT files)
set(body "")
set(table "")
set(index 0)
foreach(rel IN LISTS files)
  file(READ ${SOURCE_DIR}/${rel} hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "const char kFile${index}[] = {${bytes} 0};\n")
  string(APPEND table "      {\"${rel}\", std::string_view(kFile${index}, ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE ${OUTPUT}.tmp
"// Generated from extension/ by cmake/embed_files.cmake. Do not edit.
#include \"firefox/extension_files.h\"

namespace foxpool::firefox {
namespace {
${body}}  // namespace

const std::vector<EmbeddedFile>& ExtensionFiles() {
  static const auto* files = new std::vector<EmbeddedFile>{
${table}  };
  return *files;
}

}  // namespace foxpool::firefox
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
