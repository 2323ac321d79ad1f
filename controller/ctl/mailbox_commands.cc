#include "controller/ctl/mailbox_commands.h"

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/identity/anchor.h"
#include "controller/ctl/edit_syntax.h"
#include "controller/ctl/import_commands.h"
#include "controller/ctl/output.h"
#include "controller/ctl/provision_commands.h"
#include "controller/ctl/table.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

std::string Values(const v1::AttributeValues& v) {
  if (v.values().empty()) return "(none)";
  return absl::StrJoin(v.values(), "; ");
}

void PrintMailbox(const v1::Mailbox& m) {
  std::cout << "mailbox     " << m.cloud_id() << "\n"
            << "forest      " << m.forest() << "\n"
            << "anchor      " << AnchorToGuidString(m.source_anchor()) << "\n"
            << "dn          " << (m.dn().empty() ? "(not read yet)" : m.dn()) << "\n"
            << "status      " << v1::MailboxStatus_Name(m.status()) << "  (generation "
            << m.applied_gen() << " of " << m.desired_gen() << " applied)\n";
  if (!m.last_error().empty()) std::cout << "last error  " << m.last_error() << "\n";
  for (const auto& [name, values] : m.desired().attributes()) {
    std::cout << "  " << name << " = " << Values(values) << "\n";
  }
  std::cout.flush();
}

int WaitForMailboxes(v1::AdminService::Stub& stub, const std::vector<std::string>& ids,
                     const MailboxFlags& flags, const LogCommandHooks& hooks) {
  absl::Time deadline = absl::Now() + absl::Seconds(flags.timeout_s);
  std::vector<v1::Mailbox> done;
  for (const std::string& id : ids) {
    while (true) {
      v1::GetMailboxRequest request;
      request.set_cloud_id(id);
      v1::Mailbox m;
      grpc::ClientContext context;
      SetDeadline(&context);
      if (auto s = stub.GetMailbox(&context, request, &m); !s.ok()) return hooks.report(s);
      if (m.status() == v1::IN_SYNC && m.applied_gen() >= m.desired_gen()) {
        done.push_back(std::move(m));
        break;
      }
      if (m.status() >= v1::CONFLICT_HOLD) {  // needs an operator; waiting will not help
        std::cerr << "writebackctl: mailbox " << id << " is " << v1::MailboxStatus_Name(m.status())
                  << ": "
                  << (m.status() == v1::HELD
                          ? "held by a mass-change hold; see writebackctl hold list"
                          : m.last_error())
                  << std::endl;
        if (flags.json) PrintJson(m);
        return kExitFailed;
      }
      if (absl::Now() > deadline) {
        std::cerr << "writebackctl: mailbox " << id << " still "
                  << v1::MailboxStatus_Name(m.status()) << " after " << flags.timeout_s << " s"
                  << std::endl;
        if (flags.json) PrintJson(m);
        return kExitTimeout;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  if (flags.json) {
    v1::ListMailboxesResponse all;
    for (auto& m : done) *all.add_mailboxes() = std::move(m);
    PrintJson(all);
  } else {
    std::cout << ids.size() << " mailbox(es) in sync" << std::endl;
  }
  return kExitOk;
}

void PrintMailboxTable(const v1::ListMailboxesResponse& response) {
  Table table({"CLOUD_ID", "FOREST", "STATUS", "GEN", "DN"});
  for (const auto& m : response.mailboxes()) {
    table.AddRow({m.cloud_id(), m.forest(), v1::MailboxStatus_Name(m.status()),
                  absl::StrCat(m.applied_gen(), "/", m.desired_gen()), m.dn()});
  }
  std::cout << table.Render() << std::flush;
}

}  // namespace

std::string MailboxStatusName(const v1::Mailbox& m) { return v1::MailboxStatus_Name(m.status()); }

int RetryMailboxes(v1::AdminService::Stub& stub, const std::vector<std::string>& ids, bool json,
                   const LogCommandHooks& hooks) {
  if (ids.empty()) return hooks.usage("retry: give at least one CLOUD_ID");
  for (const std::string& id : ids) {
    v1::RetryMailboxRequest request;
    request.set_cloud_id(id);
    v1::Mailbox mailbox;
    grpc::ClientContext context;
    SetDeadline(&context);
    if (auto s = stub.RetryMailbox(&context, request, &mailbox); !s.ok()) return hooks.report(s);
    if (json) {
      PrintJson(mailbox);
    } else {
      std::cout << "mailbox " << mailbox.cloud_id() << " "
                << v1::MailboxStatus_Name(mailbox.status()) << std::endl;
    }
  }
  return kExitOk;
}

int RunMailboxCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                      const MailboxFlags& flags, const LogCommandHooks& hooks) {
  if (args.size() < 2) {
    return hooks.usage(
        "mailbox: expected add, set, get, list, wait, retry, "
        "provision, import or remove");
  }
  const std::string& verb = args[1];
  if (verb == "provision") {
    return RunProvisionCommand(stub, args, {flags.provision_timeout, flags.json}, hooks.usage);
  }
  if (verb == "import") {
    if (args.size() != 3) return hooks.usage("mailbox import: expected 'mailbox import FILE|-'");
    return RunImportCommand(stub, args[2], flags, hooks);
  }
  if (verb == "wait" && args.size() >= 3) {
    return WaitForMailboxes(stub, {args.begin() + 2, args.end()}, flags, hooks);
  }
  if (verb == "retry" && args.size() >= 3) {
    return RetryMailboxes(stub, {args.begin() + 2, args.end()}, flags.json, hooks);
  }
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::Mailbox mailbox;
  if (verb == "add" && args.size() == 3) {
    v1::AddMailboxRequest request;
    request.set_cloud_id(args[2]);
    request.set_forest(flags.forest);
    auto anchor = ParseAnchor(flags.anchor);
    if (!anchor.ok()) return hooks.usage(absl::StrCat("--anchor: ", anchor.status().message()));
    request.set_source_anchor(*anchor);
    if (auto s = stub.AddMailbox(&context, request, &mailbox); !s.ok()) return hooks.report(s);
  } else if (verb == "set" && args.size() >= 4) {
    auto edits = ParseEdits({args.begin() + 3, args.end()});
    if (!edits.ok()) return hooks.usage(std::string(edits.status().message()));
    v1::UpdateMailboxRequest request;
    request.set_cloud_id(args[2]);
    for (auto& e : *edits) *request.add_edits() = std::move(e);
    if (auto s = stub.UpdateMailbox(&context, request, &mailbox); !s.ok()) return hooks.report(s);
  } else if (verb == "get" && args.size() == 3) {
    v1::GetMailboxRequest request;
    request.set_cloud_id(args[2]);
    if (auto s = stub.GetMailbox(&context, request, &mailbox); !s.ok()) return hooks.report(s);
  } else if (verb == "list" && args.size() == 2) {
    v1::ListMailboxesRequest request;
    request.set_forest(flags.forest);
    request.set_limit(flags.limit);
    v1::ListMailboxesResponse response;
    if (auto s = stub.ListMailboxes(&context, request, &response); !s.ok()) {
      return hooks.report(s);
    }
    if (flags.json) return PrintJson(response), kExitOk;
    PrintMailboxTable(response);
    return kExitOk;
  } else if (verb == "remove" && args.size() == 3) {
    v1::RemoveMailboxRequest request;
    request.set_cloud_id(args[2]);
    if (auto s = stub.RemoveMailbox(&context, request, &mailbox); !s.ok()) return hooks.report(s);
    if (flags.json) return PrintJson(mailbox), kExitOk;
    std::cout << "mailbox " << mailbox.cloud_id() << " removed from writeback; AD was not changed"
              << std::endl;
    return kExitOk;
  } else {
    return hooks.usage(absl::StrCat("mailbox ", verb, ": wrong arguments"));
  }
  if (flags.json) {
    PrintJson(mailbox);
  } else if (verb == "get") {
    PrintMailbox(mailbox);
  } else {
    std::cout << "mailbox " << mailbox.cloud_id() << " accepted (generation "
              << mailbox.desired_gen() << ")" << std::endl;
  }
  return kExitOk;
}

}  // namespace writeback::ctl
