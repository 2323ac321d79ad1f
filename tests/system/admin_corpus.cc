#include "tests/system/admin_corpus.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::testing {

std::string AdminSnapshot(AdminClient& admin) {
  v1::ListMailboxesResponse mailboxes;
  v1::ListForestsResponse forests;
  grpc::ClientContext c1, c2;
  EXPECT_TRUE(admin.stub().ListMailboxes(&c1, {}, &mailboxes).ok());
  EXPECT_TRUE(admin.stub().ListForests(&c2, {}, &forests).ok());
  for (auto& f : *forests.mutable_forests()) f.clear_connected_agents();
  return absl::StrCat(mailboxes.DebugString(), forests.DebugString());
}

void RunAdminCases(AdminClient& admin, const std::vector<AdminCase>& cases) {
  for (const AdminCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string before = AdminSnapshot(admin);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    grpc::Status s = c.call(admin.stub(), &context);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message().substr(0, 300);
    for (const std::string& named : c.named) {
      EXPECT_THAT(s.error_message(), ::testing::HasSubstr(named)) << c.name;
    }
    EXPECT_LE(s.error_message().size(), 4096u) << c.name << ": the message quotes too much";
    EXPECT_EQ(AdminSnapshot(admin), before) << c.name << " changed the store";
  }
}

AdminCall UpdateCall(std::string cloud_id, std::vector<v1::AttributeEdit> edits) {
  return [cloud_id = std::move(cloud_id), edits = std::move(edits)](v1::AdminService::Stub& stub,
                                                                    grpc::ClientContext* context) {
    v1::UpdateMailboxRequest r;
    r.set_cloud_id(cloud_id);
    for (const auto& e : edits) *r.add_edits() = e;
    v1::Mailbox out;
    return stub.UpdateMailbox(context, r, &out);
  };
}

AdminCall AddMailboxCall(std::string cloud_id, std::string forest, std::string anchor) {
  return [=](v1::AdminService::Stub& stub, grpc::ClientContext* context) {
    v1::AddMailboxRequest r;
    r.set_cloud_id(cloud_id);
    r.set_forest(forest);
    r.set_source_anchor(anchor);
    v1::Mailbox out;
    return stub.AddMailbox(context, r, &out);
  };
}

AdminCall ImportCall(std::vector<v1::ImportEntry> entries) {
  return
      [entries = std::move(entries)](v1::AdminService::Stub& stub, grpc::ClientContext* context) {
        v1::ImportMailboxesRequest r;
        for (const auto& e : entries) *r.add_entries() = e;
        v1::ImportMailboxesResponse out;
        grpc::Status s = stub.ImportMailboxes(context, r, &out);
        if (s.ok() && !out.stored() && out.errors_size() > 0) {
          std::string all;
          for (const auto& e : out.errors()) {
            absl::StrAppend(&all, "line ", e.line(), " ", e.field(), ": ", e.message(), "; ");
          }
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, all);
        }
        return s;
      };
}

}  // namespace writeback::testing
