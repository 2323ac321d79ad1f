// The controller's configuration rules, apart from main.cc so that they can be
// tested and fuzzed (tests/fuzz/config_fuzz.cc): the defaults a file is read
// over, the fields derived from others, and the checks of the combination.
// main.cc reads the file and the flags; these functions read nothing.
//
//   v1::ControllerConfig c = DefaultControllerConfig();
//   WB_RETURN_IF_ERROR(LoadTextConfig(path, &c));   // merges over the defaults
//   ... flag overrides ...
//   WB_RETURN_IF_ERROR(FinishControllerConfig(&c));
//
// Pure and thread-safe.
#ifndef WRITEBACK_CONTROLLER_CONFIG_CONTROLLER_CONFIG_H_
#define WRITEBACK_CONTROLLER_CONFIG_CONTROLLER_CONFIG_H_

#include "absl/status/status.h"
#include "writeback/v1/config.pb.h"

namespace writeback::controller {

// The values the controller uses for fields a file leaves out.
writeback::v1::ControllerConfig DefaultControllerConfig();

// Fills the derived fields (ca_dir next to store_path, server_names
// localhost/127.0.0.1/::1) when empty, then checks the combination:
// agent_cert_lifetime_s at least 10, tls.cert_file and tls.key_file together,
// conflict_window_s positive when conflict_corrections is set, lease_ms at
// least twice heartbeat_interval_ms. kInvalidArgument saying what to change.
// Idempotent: a finished configuration finishes unchanged.
absl::Status FinishControllerConfig(writeback::v1::ControllerConfig* config);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_CONFIG_CONTROLLER_CONFIG_H_
