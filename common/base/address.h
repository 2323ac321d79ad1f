// host:port addresses, as in admin_listen and writebackctl --controller.
//
//   if (!IsLoopbackAddress(listen)) return absl::InvalidArgumentError("needs TLS");
#ifndef WRITEBACK_COMMON_BASE_ADDRESS_H_
#define WRITEBACK_COMMON_BASE_ADDRESS_H_

#include "absl/strings/string_view.h"

namespace writeback {

// True for 127.x.y.z:PORT, localhost:PORT and [::1]:PORT (the port may be
// absent). Everything else, 0.0.0.0 and [::] included, is not loopback.
bool IsLoopbackAddress(absl::string_view host_port);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_ADDRESS_H_
