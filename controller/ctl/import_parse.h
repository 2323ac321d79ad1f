// `writebackctl mailbox import`: a file of mailboxes → ImportEntry messages
// with their line numbers, and every error found without the controller.
// Pure (no I/O, no gRPC); unit-tested in tests/controller/ctl.
//
//   ParsedImport parsed = ParseImport(text, ImportFormat::kJsonLines);
//   for (const ImportLineError& e : parsed.errors) std::cerr <<
//   FormatImportError(e) << "\n";
//
// JSON lines, one mailbox per line (blank lines are skipped):
//   {"cloud_id":"…","forest":"corp.example.com","anchor":"GUID or base64",
//    "attributes":{"mail":"a@b","proxyAddresses":["SMTP:a@b","smtp:c@d"]}}
// An attribute given [] or "" or null is cleared; attributes not named are
// left as they are (for an existing mailbox).
//
// CSV (RFC 4180: quoted cells may hold commas, quotes as "" and newlines),
// header `cloud_id,forest,anchor,<attribute>...`; a multi-valued cell holds
// its values separated by ';'; an empty cell leaves the attribute as it is.
// A record's line is the line it starts on.
//
// Checked here: syntax, missing cloud_id / forest / anchor, a cloud id that
// is no GUID, a malformed anchor, unknown attributes, values the catalog
// refuses (common/attributes), a cloud id or an anchor (within a forest)
// used by two lines of the file. The controller checks the rest (forest
// registered, anchor held by another mailbox).
#ifndef WRITEBACK_CONTROLLER_CTL_IMPORT_PARSE_H_
#define WRITEBACK_CONTROLLER_CTL_IMPORT_PARSE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::ctl {

enum class ImportFormat { kJsonLines, kCsv };

// "jsonl" / "csv" from --format; empty: from the file name's extension
// (.csv is CSV, anything else JSON lines). kInvalidArgument for another
// format name.
absl::StatusOr<ImportFormat> ChooseImportFormat(std::string_view format_flag,
                                                std::string_view path);

struct ImportLineError {
  int64_t line = 0;
  std::string field;  // "json", "csv", "cloud_id", "forest", "anchor",
                      // "attributes.mail", ...
  std::string message;
};

struct ParsedImport {
  // The lines without errors, in file order.
  std::vector<writeback::v1::ImportEntry> entries;
  // Every error, by line; a line with an error has no entry.
  std::vector<ImportLineError> errors;
  // Mailbox lines read (good and bad).
  int64_t lines = 0;
};

ParsedImport ParseImport(std::string_view text, ImportFormat format);

// "line 7: field anchor: ..." as writebackctl prints it.
std::string FormatImportError(const ImportLineError& e);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_IMPORT_PARSE_H_
