#include <malloc.h>

#include <cstdio>

#include "cli/command.h"

int main(int argc, char** argv) {
  // Flows, sessions and their transactions come and go by the hundred thousand: glibc's
  // defaults give freed memory back to the kernel and take it again in small steps (brk,
  // mmap for blocks over 128 KiB, a page fault per page each time), about a tenth of the
  // packet path's system time. Keep up to 256 MiB of free heap instead; the peak is bounded
  // by the configured limits either way. (Builds linked with tcmalloc, the default when
  // libtcmalloc-minimal4 is installed, ignore these: tcmalloc keeps its own free lists.)
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  CLI::App app{"komainu — breach detection for networks and identity logs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "komainu 0.1.0");
  int exit_code = 0;
  for (const auto* cmd : komainu::Registry<komainu::CommandApi>::sorted())
    cmd->setup(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
