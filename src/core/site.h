// Zeek's Site::private_address_space: the addresses Zeek calls local (local_orig/local_resp,
// ssh.log direction, files.log) when no local_nets are configured. One list for every log.
#pragma once
#include "core/addr.h"

namespace komainu {

bool is_zeek_local(const IpAddr& a);

}  // namespace komainu
