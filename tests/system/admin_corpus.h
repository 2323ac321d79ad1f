// The runner of the Admin API part of the bad-input corpus
// (bad_input_corpus_test.cc, tests/corpus/README.md): each case is one call
// with one bad input and the refusal it must get; a case passes when the call
// fails with its code, the message names each expected part (and stays under
// 4 KB), and every mailbox and forest reads back as before.
//
//   RunAdminCases(env.Admin(), {
//       {"nul byte", UpdateCall(id, {AdminClient::Set("mail", std::string("a\0b", 3))}),
//        grpc::StatusCode::INVALID_ARGUMENT, {"mail", "\\x00"}},
//   });
#ifndef WRITEBACK_TESTS_SYSTEM_ADMIN_CORPUS_H_
#define WRITEBACK_TESTS_SYSTEM_ADMIN_CORPUS_H_

#include <functional>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "tests/system/admin_client.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::testing {

using AdminCall =
    std::function<grpc::Status(v1::AdminService::Stub&, grpc::ClientContext* context)>;

struct AdminCase {
  std::string name;
  AdminCall call;
  grpc::StatusCode code;
  std::vector<std::string> named;  // substrings of the error message
};

// Runs each case (hang guard 60 s a call); failures are gtest failures
// naming the case.
void RunAdminCases(AdminClient& admin, const std::vector<AdminCase>& cases);

// Every mailbox and forest as the API shows them (connected agents left out).
std::string AdminSnapshot(AdminClient& admin);

AdminCall UpdateCall(std::string cloud_id, std::vector<v1::AttributeEdit> edits);
AdminCall AddMailboxCall(std::string cloud_id, std::string forest, std::string anchor);
// ImportMailboxes answers refused entries as errors in an OK response with
// nothing stored: this call turns that answer into the INVALID_ARGUMENT it
// stands for, its message listing "line N field: message; " per error.
AdminCall ImportCall(std::vector<v1::ImportEntry> entries);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_ADMIN_CORPUS_H_
