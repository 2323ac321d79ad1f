#include "controller/ctl/import_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "controller/ctl/import_parse.h"
#include "controller/ctl/output.h"
#include "google/protobuf/struct.pb.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

bool ReadInput(const std::string& path, std::string* text) {
  if (path == "-") {
    std::ostringstream in;
    in << std::cin.rdbuf();
    *text = in.str();
    return !std::cin.bad();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::ostringstream in;
  in << file.rdbuf();
  *text = in.str();
  return !file.bad();
}

// Calls ImportMailboxes for entries [begin, end).
grpc::Status CallImport(v1::AdminService::Stub& stub, const std::vector<v1::ImportEntry>& entries,
                        size_t begin, size_t end, bool validate_only,
                        v1::ImportMailboxesResponse* response) {
  v1::ImportMailboxesRequest request;
  request.set_validate_only(validate_only);
  for (size_t i = begin; i < end; ++i) *request.add_entries() = entries[i];
  grpc::ClientContext context;
  SetDeadline(&context, 120);
  return stub.ImportMailboxes(&context, request, response);
}

void AddServerErrors(const v1::ImportMailboxesResponse& response,
                     std::vector<ImportLineError>* errors) {
  for (const auto& e : response.errors()) errors->push_back({e.line(), e.field(), e.message()});
}

void PrintErrors(std::vector<ImportLineError> errors, bool json) {
  std::stable_sort(
      errors.begin(), errors.end(),
      [](const ImportLineError& a, const ImportLineError& b) { return a.line < b.line; });
  for (const auto& e : errors) {
    if (json) {
      google::protobuf::Struct s;
      (*s.mutable_fields())["line"].set_number_value(static_cast<double>(e.line));
      (*s.mutable_fields())["field"].set_string_value(e.field);
      (*s.mutable_fields())["message"].set_string_value(e.message);
      PrintJson(s);
    } else {
      std::cerr << FormatImportError(e) << "\n";
    }
  }
  std::cerr.flush();
}

void PrintSummary(int64_t added, int64_t updated, int64_t refused, int64_t lines, bool json,
                  const std::string& note) {
  const int64_t stored = added + updated;
  if (json) {
    google::protobuf::Struct s;
    auto& f = *s.mutable_fields();
    f["stored"].set_number_value(static_cast<double>(stored));
    f["added"].set_number_value(static_cast<double>(added));
    f["updated"].set_number_value(static_cast<double>(updated));
    f["refused"].set_number_value(static_cast<double>(refused));
    f["lines"].set_number_value(static_cast<double>(lines));
    f["note"].set_string_value(note);
    PrintJson(s);
  }
  std::cerr << stored << " stored (" << added << " new, " << updated << " updated), " << refused
            << " refused" << (note.empty() ? "" : "; ") << note << std::endl;
}

// Lines with at least one error.
int64_t RefusedLines(const std::vector<ImportLineError>& errors) {
  std::vector<int64_t> lines;
  for (const auto& e : errors) lines.push_back(e.line);
  std::sort(lines.begin(), lines.end());
  return std::unique(lines.begin(), lines.end()) - lines.begin();
}

}  // namespace

int RunImportCommand(v1::AdminService::Stub& stub, const std::string& path,
                     const MailboxFlags& flags, const LogCommandHooks& hooks) {
  auto format = ChooseImportFormat(flags.format, path);
  if (!format.ok()) return hooks.usage(std::string(format.status().message()));
  std::string text;
  if (!ReadInput(path, &text)) {
    std::cerr << "writebackctl: cannot read " << (path == "-" ? "stdin" : path)
              << "; check that the file exists and is readable" << std::endl;
    return kExitUsage;
  }
  ParsedImport parsed = ParseImport(text, *format);
  std::vector<ImportLineError> errors = parsed.errors;
  const bool tty = isatty(STDERR_FILENO) == 1;
  const size_t total = parsed.entries.size();

  // The controller's checks of the locally good lines, storing nothing.
  for (size_t begin = 0; begin < total; begin += kImportBatch) {
    const size_t end = std::min(total, begin + kImportBatch);
    v1::ImportMailboxesResponse response;
    if (auto s = CallImport(stub, parsed.entries, begin, end, true, &response); !s.ok()) {
      return hooks.report(s);
    }
    AddServerErrors(response, &errors);
    if (tty) std::cerr << "\rchecked " << end << "/" << total << std::flush;
  }
  if (tty && total > 0) std::cerr << "\n";
  if (!errors.empty() && !flags.continue_on_error) {
    PrintErrors(errors, flags.json);
    PrintSummary(0, 0, RefusedLines(errors), parsed.lines, flags.json,
                 "nothing was stored because of the bad lines (fix them, or "
                 "store the good "
                 "ones with --continue-on-error)");
    return kExitFailed;
  }
  // Store the lines without errors.
  std::vector<int64_t> bad_lines;
  for (const auto& e : errors) bad_lines.push_back(e.line);
  std::sort(bad_lines.begin(), bad_lines.end());
  std::vector<v1::ImportEntry> good;
  for (const auto& entry : parsed.entries) {
    if (!std::binary_search(bad_lines.begin(), bad_lines.end(), entry.line()))
      good.push_back(entry);
  }
  int64_t added = 0, updated = 0;
  for (size_t begin = 0; begin < good.size(); begin += kImportBatch) {
    const size_t end = std::min(good.size(), begin + kImportBatch);
    v1::ImportMailboxesResponse response;
    if (auto s = CallImport(stub, good, begin, end, false, &response); !s.ok()) {
      PrintErrors(errors, flags.json);
      std::cerr << "writebackctl: stopped after " << added + updated << " mailbox(es) were stored ("
                << added << " new, " << updated << " updated); lines from " << good[begin].line()
                << " on were not" << std::endl;
      return hooks.report(s);
    }
    // A batch the controller refused now (a change since the check) stored
    // nothing: all of its lines count as refused.
    AddServerErrors(response, &errors);
    if (!response.stored()) {
      for (size_t i = begin; i < end; ++i) {
        bool named = false;
        for (const auto& e : response.errors()) named = named || e.line() == good[i].line();
        if (!named) {
          errors.push_back(
              {good[i].line(), "", "not stored: another line of its batch was refused"});
        }
      }
    }
    added += response.added();
    updated += response.updated();
    if (tty) std::cerr << "\rimported " << end << "/" << good.size() << std::flush;
    if (!response.stored() && !flags.continue_on_error) {
      // Without --continue-on-error a refused batch ends the import: the
      // batches before it stay stored (each is its own transaction).
      if (tty) std::cerr << "\n";
      PrintErrors(errors, flags.json);
      PrintSummary(added, updated, RefusedLines(errors), parsed.lines, flags.json,
                   absl::StrCat("the controller refused a batch while storing (something changed "
                                "since the check)",
                                end < good.size() ? absl::StrCat("; lines from ", good[end].line(),
                                                                 " on were not sent")
                                                  : "",
                                "; the batches before it stay stored"));
      return kExitFailed;
    }
  }
  if (tty && !good.empty()) std::cerr << "\n";
  PrintErrors(errors, flags.json);
  PrintSummary(added, updated, RefusedLines(errors), parsed.lines, flags.json,
               errors.empty() ? "" : "the good lines were stored, the refused ones were not");
  return errors.empty() ? kExitOk : kExitFailed;
}

}  // namespace writeback::ctl
