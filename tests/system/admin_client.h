// A direct Admin API client for system tests: thousands of edits in seconds,
// where writebackctl would start one process per mailbox. It authenticates
// as writebackctl does (ctl::OpenAdminChannel; WritebackEnv::Admin() uses the
// controller's first-start local operator token).
//
//   AdminClient& admin = env.Admin();
//   auto m = admin.UpdateMailbox(id, {AdminClient::Set("extensionAttribute1", "gen-1")});
//   ASSERT_OK(admin.WaitAllInSync(absl::Minutes(3)));
//   auto log = admin.ProvisioningLog();  // oldest first
//
// Every call waits for the controller to be ready (it may be restarting) up
// to a 60 s hang guard; read-only calls are also retried on UNAVAILABLE
// (a call that lands on a dead controller's connection), changes are not
// (the caller decides: the change may or may not have been committed). The channel accepts answers of any size (the whole
// provisioning log of a test). Thread-safe.
#ifndef WRITEBACK_TESTS_SYSTEM_ADMIN_CLIENT_H_
#define WRITEBACK_TESTS_SYSTEM_ADMIN_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::testing {

class AdminClient {
 public:
  // `channel` from ctl::OpenAdminChannel(settings, AdminClient::Arguments()).
  explicit AdminClient(std::shared_ptr<grpc::Channel> channel);
  // Channel arguments that accept answers of any size.
  static grpc::ChannelArguments Arguments();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  v1::AdminService::Stub& stub() { return *stub_; }

  static v1::AttributeEdit Set(const std::string& attribute, const std::string& value);
  static v1::AttributeEdit Replace(const std::string& attribute,
                                   const std::vector<std::string>& values);

  // kAlreadyExists is success: the forest is there.
  absl::Status AddForest(const std::string& name, const std::string& scope_ou);
  absl::StatusOr<v1::Mailbox> AddMailbox(const std::string& cloud_id, const std::string& forest,
                                         const std::string& anchor);
  absl::StatusOr<v1::Mailbox> UpdateMailbox(const std::string& cloud_id,
                                            const std::vector<v1::AttributeEdit>& edits);
  // Sends `requests` from `threads` threads; the first error, if any.
  absl::Status UpdateMailboxes(const std::vector<v1::UpdateMailboxRequest>& requests,
                               int threads = 4);
  absl::StatusOr<v1::Mailbox> GetMailbox(const std::string& cloud_id);
  // Every mailbox of every forest, by cloud id.
  absl::StatusOr<std::vector<v1::Mailbox>> ListMailboxes();
  // Counts by status per forest and the agents (GetStatus: cheap, no mailbox list).
  absl::StatusOr<v1::GetStatusResponse> GetStatus();
  // The provisioning log filtered by `filter`, OLDEST first (the API answers
  // newest first). limit 0: all records.
  absl::StatusOr<std::vector<v1::ProvisioningRecord>> ProvisioningLog(
      v1::ListProvisioningLogRequest filter = {});
  // Number of records matching `filter`, counted up to `at_most` (cheap
  // progress polling: "have 1000 jobs been applied yet?").
  absl::StatusOr<int> CountLog(v1::ListProvisioningLogRequest filter, int at_most);

  // Polls until `forest` has exactly `agents` agents connected (hang guard).
  absl::Status WaitConnectedAgents(const std::string& forest, int agents, absl::Duration guard);

  // Polls until every mailbox is IN_SYNC with applied_gen == desired_gen.
  // kDeadlineExceeded after `guard` (a hang guard) with a summary by status;
  // kFailedPrecondition at once when a mailbox is quarantined.
  absl::Status WaitAllInSync(absl::Duration guard);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_ADMIN_CLIENT_H_
