#include "controller/ctl/table.h"

#include "gtest/gtest.h"

namespace writeback::ctl {
namespace {

TEST(TableTest, ColumnsAreAsWideAsTheirWidestCell) {
  Table t({"AGENT", "STATE"});
  t.AddRow({"agent-1234", "connected"});
  EXPECT_EQ(t.Render(), "AGENT       STATE\nagent-1234  connected\n");
}

TEST(TableTest, MinimumWidthsLineUpTablesPrintedPieceByPiece) {
  Table header({"A", "B", "C"});
  header.SetMinWidths({5, 3});
  Table row({"A", "B", "C"});
  row.SetMinWidths({5, 3});
  row.AddRow({"xy", "z", "end"});
  EXPECT_EQ(header.Render(), "A      B    C\n");
  std::string text = row.Render();
  EXPECT_EQ(text.substr(text.find('\n') + 1), "xy     z    end\n");
}

}  // namespace
}  // namespace writeback::ctl
