#include "controller/ctl/import_parse.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "common/identity/anchor.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;
using google::protobuf::Value;

// One mailbox as read, before checking.
struct RawEntry {
  int64_t line = 0;
  std::string cloud_id;
  std::string forest;
  std::string anchor;
  // Attribute name as written → values (empty: clear).
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;
};

// The checks that need no controller; the entry, or errors added.
std::optional<v1::ImportEntry> Check(const RawEntry& raw, std::vector<ImportLineError>* errors) {
  const size_t before = errors->size();
  auto error = [&](const std::string& field, std::string message) {
    errors->push_back({raw.line, field, std::move(message)});
  };
  v1::ImportEntry entry;
  entry.set_line(raw.line);
  const std::string cloud_id = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw.cloud_id));
  if (cloud_id.empty()) {
    error("cloud_id", "missing");
  } else if (!IsGuidString(cloud_id)) {
    error("cloud_id", absl::StrCat("\"", raw.cloud_id,
                                   "\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"));
  }
  entry.set_cloud_id(cloud_id);
  const std::string forest = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw.forest));
  if (forest.empty()) error("forest", "missing");
  entry.set_forest(forest);
  const std::string anchor_text(absl::StripAsciiWhitespace(raw.anchor));
  if (anchor_text.empty()) {
    error("anchor", "missing");
  } else if (auto anchor = ParseAnchor(anchor_text); !anchor.ok()) {
    error("anchor", std::string(anchor.status().message()));
  } else {
    entry.set_source_anchor(*anchor);
  }
  auto& attributes = *entry.mutable_attributes()->mutable_attributes();
  for (const auto& [name, values] : raw.attributes) {
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    if (spec == nullptr) {
      error(absl::StrCat("attributes.", name),
            absl::StrCat("unknown attribute \"", name,
                         "\"; writeback carries the attributes of "
                         "its catalog (mail, proxyAddresses, ...)"));
      continue;
    }
    const std::string canonical(spec->name);
    if (attributes.count(canonical) != 0) {
      error(absl::StrCat("attributes.", canonical), "given twice");
      continue;
    }
    if (!values.empty()) {
      if (absl::Status s = ValidateValues(*spec, values); !s.ok()) {
        error(absl::StrCat("attributes.", canonical), std::string(s.message()));
        continue;
      }
    }
    v1::AttributeValues& out = attributes[canonical];
    for (const auto& v : values) out.add_values(v);
  }
  if (errors->size() != before) return std::nullopt;
  return entry;
}

// A JSON value as attribute values; false for a kind that is none.
bool ToValues(const Value& v, std::vector<std::string>* out) {
  switch (v.kind_case()) {
    case Value::kNullValue:
      return true;
    case Value::kStringValue:
      if (!v.string_value().empty()) out->push_back(v.string_value());
      return true;
    case Value::kBoolValue:
      out->push_back(v.bool_value() ? "TRUE" : "FALSE");
      return true;
    case Value::kNumberValue:
      out->push_back(absl::StrFormat("%.0f", v.number_value()));
      return v.number_value() == static_cast<double>(static_cast<int64_t>(v.number_value()));
    case Value::kListValue:
      for (const Value& item : v.list_value().values()) {
        if (item.kind_case() == Value::kListValue || item.kind_case() == Value::kStructValue ||
            item.kind_case() == Value::kNullValue) {
          return false;
        }
        if (!ToValues(item, out)) return false;
      }
      return true;
    default:
      return false;
  }
}

void ParseJsonLine(int64_t line, std::string_view text, ParsedImport* out, RawEntry* raw,
                   bool* ok) {
  *ok = false;
  google::protobuf::Struct object;
  auto parsed = google::protobuf::util::JsonStringToMessage(std::string(text), &object);
  if (!parsed.ok()) {
    out->errors.push_back(
        {line, "json", absl::StrCat("not a JSON object: ", std::string(parsed.message()))});
    return;
  }
  raw->line = line;
  bool bad = false;
  for (const auto& [key, value] : object.fields()) {
    if (key == "cloud_id" || key == "forest" || key == "anchor") {
      if (value.kind_case() != Value::kStringValue) {
        out->errors.push_back({line, key, "must be a string"});
        bad = true;
        continue;
      }
      (key == "cloud_id" ? raw->cloud_id
       : key == "forest" ? raw->forest
                         : raw->anchor) = value.string_value();
    } else if (key == "attributes") {
      if (value.kind_case() != Value::kStructValue) {
        out->errors.push_back({line, "attributes", "must be an object of attribute: values"});
        bad = true;
        continue;
      }
      // Sorted by name, so that errors come out in a stable order.
      std::map<std::string, Value> sorted(value.struct_value().fields().begin(),
                                          value.struct_value().fields().end());
      for (const auto& [name, v] : sorted) {
        std::vector<std::string> values;
        if (!ToValues(v, &values)) {
          out->errors.push_back({line, absl::StrCat("attributes.", name),
                                 "must be a string, a list of strings, or null"});
          bad = true;
          continue;
        }
        raw->attributes.emplace_back(name, std::move(values));
      }
    } else {
      out->errors.push_back({line, key,
                             "unknown field; a line has cloud_id, forest, "
                             "anchor and attributes"});
      bad = true;
    }
  }
  *ok = !bad;
}

// RFC 4180 records with the line each starts on; an unterminated quote is an
// error at its record's line.
struct CsvRecord {
  int64_t line = 0;
  std::vector<std::string> cells;
};

std::vector<CsvRecord> SplitCsv(std::string_view text, std::vector<ImportLineError>* errors) {
  std::vector<CsvRecord> records;
  int64_t line = 1;
  size_t i = 0;
  while (i < text.size()) {
    CsvRecord record;
    record.line = line;
    std::string cell;
    bool in_quotes = false, ended = false, quoted_cell = false;
    while (i < text.size() && !ended) {
      char c = text[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
            continue;
          }
          in_quotes = false;
        } else {
          if (c == '\n') ++line;
          cell.push_back(c);
        }
        ++i;
        continue;
      }
      if (c == '"' && cell.empty() && !quoted_cell) {
        in_quotes = quoted_cell = true;
      } else if (c == ',') {
        record.cells.push_back(std::move(cell));
        cell.clear();
        quoted_cell = false;
      } else if (c == '\n') {
        ended = true;
        ++line;
      } else if (c != '\r') {
        cell.push_back(c);
      }
      ++i;
    }
    if (in_quotes) {
      errors->push_back({record.line, "csv", "a quoted cell is not closed before the end"});
      break;
    }
    record.cells.push_back(std::move(cell));
    bool blank = record.cells.size() == 1 && record.cells[0].empty();
    if (!blank) records.push_back(std::move(record));
  }
  return records;
}

void ParseCsv(std::string_view text, std::vector<RawEntry>* raws, ParsedImport* out) {
  std::vector<CsvRecord> records = SplitCsv(text, &out->errors);
  if (records.empty()) return;
  const CsvRecord& header = records.front();
  std::vector<std::string> columns;
  for (const auto& c : header.cells) {
    columns.push_back(std::string(absl::StripAsciiWhitespace(c)));
  }
  const char* required[] = {"cloud_id", "forest", "anchor"};
  for (size_t k = 0; k < 3; ++k) {
    if (columns.size() <= k || columns[k] != required[k]) {
      out->errors.push_back({header.line, "csv",
                             "the header must start with cloud_id,forest,anchor followed by "
                             "attribute names"});
      return;
    }
  }
  bool header_ok = true;
  for (size_t k = 3; k < columns.size(); ++k) {
    if (AttributeCatalog::Default().Find(columns[k]) == nullptr) {
      out->errors.push_back({header.line, absl::StrCat("attributes.", columns[k]),
                             absl::StrCat("unknown attribute \"", columns[k], "\" in the header")});
      header_ok = false;
    }
  }
  if (!header_ok) return;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    ++out->lines;
    if (rec.cells.size() != columns.size()) {
      out->errors.push_back(
          {rec.line, "csv",
           absl::StrCat("has ", rec.cells.size(), " cells; the header has ", columns.size())});
      continue;
    }
    RawEntry raw;
    raw.line = rec.line;
    raw.cloud_id = rec.cells[0];
    raw.forest = rec.cells[1];
    raw.anchor = rec.cells[2];
    bool cells_ok = true;
    for (size_t k = 3; k < columns.size(); ++k) {
      const absl::string_view cell = absl::StripAsciiWhitespace(rec.cells[k]);
      if (cell.empty()) continue;  // left as it is: CSV never clears an attribute
      std::vector<std::string> values;
      if (AttributeCatalog::Default().Find(columns[k])->multi_valued) {
        for (absl::string_view v : absl::StrSplit(cell, ';', absl::SkipWhitespace())) {
          values.push_back(std::string(absl::StripAsciiWhitespace(v)));
        }
      } else {
        values.push_back(std::string(cell));  // a single value may hold ';'
      }
      if (values.empty()) {
        out->errors.push_back({rec.line, absl::StrCat("attributes.", columns[k]),
                               "holds no value; CSV cannot clear an attribute (leave the cell "
                               "empty to keep it, or clear it with JSON lines: [])"});
        cells_ok = false;
        continue;
      }
      raw.attributes.emplace_back(columns[k], std::move(values));
    }
    if (!cells_ok) continue;
    raws->push_back(std::move(raw));
  }
}

}  // namespace

absl::StatusOr<ImportFormat> ChooseImportFormat(std::string_view format_flag,
                                                std::string_view path) {
  const std::string format = absl::AsciiStrToLower(std::string(format_flag));
  if (format == "jsonl" || format == "json") return ImportFormat::kJsonLines;
  if (format == "csv") return ImportFormat::kCsv;
  if (!format.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--format: \"", std::string(format_flag), "\" is not jsonl or csv"));
  }
  return absl::EndsWithIgnoreCase(std::string(path), ".csv") ? ImportFormat::kCsv
                                                             : ImportFormat::kJsonLines;
}

ParsedImport ParseImport(std::string_view text, ImportFormat format) {
  ParsedImport out;
  // A UTF-8 byte order mark, as spreadsheet programs write, is not part of the data.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  std::vector<RawEntry> raws;
  if (format == ImportFormat::kCsv) {
    ParseCsv(text, &raws, &out);
  } else {
    int64_t line = 0;
    const std::string all(text);
    for (absl::string_view l : absl::StrSplit(all, '\n')) {
      ++line;
      if (absl::StripAsciiWhitespace(l).empty()) continue;
      ++out.lines;
      RawEntry raw;
      bool ok = false;
      ParseJsonLine(line, std::string_view(l.data(), l.size()), &out, &raw, &ok);
      if (ok) raws.push_back(std::move(raw));
    }
  }
  // Two lines naming one cloud id, or one anchor in one forest: the later
  // line is refused (the first stands).
  std::map<std::string, int64_t> ids;
  std::map<std::pair<std::string, std::string>, int64_t> anchors;
  for (const RawEntry& raw : raws) {
    std::optional<v1::ImportEntry> entry = Check(raw, &out.errors);
    if (!entry.has_value()) continue;
    auto [id, new_id] = ids.emplace(entry->cloud_id(), entry->line());
    if (!new_id) {
      out.errors.push_back(
          {entry->line(), "cloud_id",
           absl::StrCat("mailbox ", entry->cloud_id(), " is also on line ", id->second)});
      continue;
    }
    auto [held, new_anchor] =
        anchors.emplace(std::make_pair(entry->forest(), entry->source_anchor()), entry->line());
    if (!new_anchor) {
      out.errors.push_back({entry->line(), "anchor",
                            absl::StrCat("anchor ", AnchorToGuidString(entry->source_anchor()),
                                         " is also used on line ", held->second,
                                         " (one anchor belongs to one mailbox)")});
      continue;
    }
    out.entries.push_back(std::move(*entry));
  }
  std::stable_sort(
      out.errors.begin(), out.errors.end(),
      [](const ImportLineError& a, const ImportLineError& b) { return a.line < b.line; });
  return out;
}

std::string FormatImportError(const ImportLineError& e) {
  return absl::StrCat("line ", e.line, ": field ", e.field.empty() ? "-" : e.field, ": ",
                      e.message);
}

}  // namespace writeback::ctl
