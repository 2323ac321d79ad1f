// host:port addresses, as in admin_listen and writebackctl --controller.
//
//   if (!IsLoopbackAddress(listen)) return absl::InvalidArgumentError("needs TLS");
#ifndef WRITEBACK_COMMON_BASE_ADDRESS_H_
#define WRITEBACK_COMMON_BASE_ADDRESS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace writeback {

// True for 127.x.y.z:PORT, localhost:PORT and [::1]:PORT (the port may be
// absent). Everything else, 0.0.0.0 and [::] included, is not loopback.
bool IsLoopbackAddress(absl::string_view host_port);

// Checks a listen address of a configuration before anything is opened:
// host:port or [v6]:port, the host non-empty, the port a decimal 0..65535
// (0: the kernel picks), or a unix:PATH socket. kInvalidArgument naming
// `field` and the value otherwise, e.g.
//   agent_listen: "127.0.0.1:99999" is not host:port with a port 0..65535
absl::Status CheckListenAddress(absl::string_view field, absl::string_view host_port);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_ADDRESS_H_
