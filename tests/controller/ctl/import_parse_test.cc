#include "controller/ctl/import_parse.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kId1[] = "11111111-2222-3333-4444-555555555555";
constexpr char kId2[] = "11111111-2222-3333-4444-666666666666";
constexpr char kGuid1[] = "01234567-89ab-cdef-0123-456789abcdef";
constexpr char kGuid2[] = "01234567-89ab-cdef-0123-456789abcde0";

std::string Line(const std::string& id, const std::string& anchor, const std::string& attrs,
                 const std::string& forest = "corp.example.com") {
  return "{\"cloud_id\":\"" + id + "\",\"forest\":\"" + forest + "\",\"anchor\":\"" + anchor +
         "\",\"attributes\":{" + attrs + "}}";
}

std::vector<std::string> Where(const ParsedImport& p) {
  std::vector<std::string> out;
  for (const auto& e : p.errors) out.push_back(std::to_string(e.line) + " " + e.field);
  return out;
}

TEST(ImportParseTest, JsonLinesGiveEntriesWithLineNumbersAndValues) {
  std::string text = Line(kId1, kGuid1,
                          "\"mail\":\"a@contoso.com\",\"proxyAddresses\":["
                          "\"SMTP:a@contoso.com\","
                          "\"smtp:b@contoso.com\"]") +
                     "\n\n" + Line(kId2, kGuid2, "\"extensionAttribute1\":null") + "\n";
  ParsedImport p = ParseImport(text, ImportFormat::kJsonLines);
  EXPECT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.lines, 2);
  ASSERT_THAT(p.entries, SizeIs(2));
  EXPECT_EQ(p.entries[0].line(), 1);
  EXPECT_EQ(p.entries[0].cloud_id(), kId1);
  EXPECT_EQ(p.entries[0].forest(), "corp.example.com");
  EXPECT_EQ(p.entries[0].source_anchor().size(), 16u);
  const auto& attrs = p.entries[0].attributes().attributes();
  EXPECT_THAT(attrs.at("mail").values(), ElementsAre("a@contoso.com"));
  EXPECT_THAT(attrs.at("proxyAddresses").values(),
              ElementsAre("SMTP:a@contoso.com", "smtp:b@contoso.com"));
  EXPECT_EQ(p.entries[1].line(), 3);  // the blank line counts
  EXPECT_TRUE(p.entries[1].attributes().attributes().at("extensionAttribute1").values().empty());
}

TEST(ImportParseTest, EveryKindOfBadJsonLineIsNamedByLineAndField) {
  std::string text =
      Line(kId1, kGuid1, "\"mail\":\"a@contoso.com\"") + "\n" +  // 1 good
      "{\"cloud_id\": \"oops\n" +                                // 2 malformed JSON
      Line("11111111-2222-3333-4444-000000000003", "01234567-89ab-cdef-0123-000000000003",
           "\"favouriteColour\":\"blue\"") +
      "\n" +  // 3 unknown attribute
      Line("11111111-2222-3333-4444-000000000004", "01234567-89ab-cdef-0123-000000000004",
           "\"proxyAddresses\":[\"nocolon\"]") +
      "\n" +                                                                      // 4 invalid value
      Line("11111111-2222-3333-4444-000000000005", "not-an-anchor", "") + "\n" +  // 5 bad anchor
      Line("11111111-2222-3333-4444-000000000006", kGuid1, "") + "\n" +      // 6 anchor of line 1
      "{\"forest\":\"corp.example.com\",\"anchor\":\"" + kGuid2 + "\"}\n" +  // 7 no cloud_id
      Line(kId1, kGuid2, "") + "\n";                                         // 8 cloud id of line 1
  ParsedImport p = ParseImport(text, ImportFormat::kJsonLines);
  EXPECT_THAT(Where(p),
              ElementsAre("2 json", "3 attributes.favouriteColour", "4 attributes.proxyAddresses",
                          "5 anchor", "6 anchor", "7 cloud_id", "8 cloud_id"));
  ASSERT_THAT(p.entries, SizeIs(1));
  EXPECT_EQ(p.entries[0].line(), 1);
  EXPECT_EQ(p.lines, 8);
  EXPECT_THAT(p.errors[4].message, HasSubstr("line 1"));
  EXPECT_EQ(FormatImportError(p.errors[0]).rfind("line 2: field json: ", 0), 0u);
}

TEST(ImportParseTest, CsvHandlesQuotingAndMultiValuedCells) {
  std::string text =
      std::string("cloud_id,forest,anchor,mail,proxyAddresses,extensionAttribute1\n") + kId1 +
      ",corp.example.com," + kGuid1 +
      ",a@contoso.com,\"SMTP:a@contoso.com;smtp:b@contoso.com\",\"x, "
      "\"\"quoted\"\"\"\n" +
      kId2 + ",corp.example.com," + kGuid2 + ",,,plain\n";
  ParsedImport p = ParseImport(text, ImportFormat::kCsv);
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_THAT(p.entries, SizeIs(2));
  EXPECT_EQ(p.entries[0].line(), 2);
  const auto& a = p.entries[0].attributes().attributes();
  EXPECT_THAT(a.at("proxyAddresses").values(),
              ElementsAre("SMTP:a@contoso.com", "smtp:b@contoso.com"));
  EXPECT_THAT(a.at("extensionAttribute1").values(), ElementsAre("x, \"quoted\""));
  const auto& b = p.entries[1].attributes().attributes();
  EXPECT_EQ(p.entries[1].line(), 3);
  EXPECT_EQ(b.count("mail"), 0u);  // an empty cell leaves it as it is
  EXPECT_THAT(b.at("extensionAttribute1").values(), ElementsAre("plain"));
}

TEST(ImportParseTest, CsvNeverClearsAndKeepsSemicolonsOfSingleValues) {
  std::string text =
      std::string("cloud_id,forest,anchor,mail,proxyAddresses,extensionAttribute1\n") + kId1 +
      ",corp.example.com," + kGuid1 + ",\"  \",\" \",\"a;b\"\n" + kId2 + ",corp.example.com," +
      kGuid2 + ",,\" ; \",\n";
  ParsedImport p = ParseImport(text, ImportFormat::kCsv);
  // Line 2: blank cells leave mail and proxyAddresses alone; a single value keeps its ';'.
  ASSERT_THAT(p.entries, SizeIs(1));
  const auto& a = p.entries[0].attributes().attributes();
  EXPECT_EQ(a.count("mail"), 0u);
  EXPECT_EQ(a.count("proxyAddresses"), 0u);
  EXPECT_THAT(a.at("extensionAttribute1").values(), ElementsAre("a;b"));
  // Line 3: a multi-valued cell of separators only would clear the attribute: refused.
  EXPECT_THAT(Where(p), ElementsAre("3 attributes.proxyAddresses"));
  EXPECT_THAT(p.errors[0].message, HasSubstr("CSV cannot clear"));
}

TEST(ImportParseTest, ByteOrderMarkIsNotPartOfTheData) {
  std::string csv = std::string("\xEF\xBB\xBF") + "cloud_id,forest,anchor,mail\n" + kId1 +
                    ",corp.example.com," + kGuid1 + ",a@contoso.com\n";
  ParsedImport from_csv = ParseImport(csv, ImportFormat::kCsv);
  EXPECT_THAT(from_csv.errors, IsEmpty());
  EXPECT_THAT(from_csv.entries, SizeIs(1));
  std::string jsonl = "\xEF\xBB\xBF" + Line(kId1, kGuid1, "\"mail\":\"a@contoso.com\"") + "\n";
  ParsedImport from_json = ParseImport(jsonl, ImportFormat::kJsonLines);
  EXPECT_THAT(from_json.errors, IsEmpty());
  EXPECT_THAT(from_json.entries, SizeIs(1));
}

TEST(ImportParseTest, CsvErrorsNameTheLineTheRecordStartsOn) {
  std::string text = std::string("cloud_id,forest,anchor,mail\n") + kId1 + ",corp.example.com,\"" +
                     kGuid1 + "\",\"multi\nline\"\n" +  // 2-3: one record, a control character
                     kId2 + ",corp.example.com," + kGuid2 + "\n" +                 // 4: 3 cells
                     "11111111-2222-3333-4444-000000000005,,bad,x@contoso.com\n";  // 5
  ParsedImport p = ParseImport(text, ImportFormat::kCsv);
  EXPECT_THAT(Where(p), ElementsAre("2 attributes.mail", "4 csv", "5 forest", "5 anchor"));
  EXPECT_THAT(p.entries, IsEmpty());
}

TEST(ImportParseTest, CsvHeaderMustNameKnownAttributes) {
  ParsedImport p = ParseImport("cloud_id,forest,anchor,shoeSize\nx,y,z,1\n", ImportFormat::kCsv);
  EXPECT_THAT(Where(p), ElementsAre("1 attributes.shoeSize"));
  p = ParseImport("id,forest,anchor\n", ImportFormat::kCsv);
  EXPECT_THAT(Where(p), ElementsAre("1 csv"));
  p = ParseImport(std::string("cloud_id,forest,anchor\n") + kId1 + ",f,\"" + kGuid1,
                  ImportFormat::kCsv);
  EXPECT_THAT(Where(p), ElementsAre("2 csv"));  // unterminated quote
}

TEST(ImportParseTest, FormatFromFlagOrExtension) {
  EXPECT_EQ(*ChooseImportFormat("", "a/b.CSV"), ImportFormat::kCsv);
  EXPECT_EQ(*ChooseImportFormat("", "a/b.jsonl"), ImportFormat::kJsonLines);
  EXPECT_EQ(*ChooseImportFormat("", "-"), ImportFormat::kJsonLines);
  EXPECT_EQ(*ChooseImportFormat("csv", "x.jsonl"), ImportFormat::kCsv);
  EXPECT_FALSE(ChooseImportFormat("xml", "x").ok());
}

}  // namespace
}  // namespace writeback::ctl
