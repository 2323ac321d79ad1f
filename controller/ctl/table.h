// Aligned text tables for writebackctl's list verbs: a header row, then one
// row per item, each column as wide as its widest cell.
//
//   Table t({"AGENT", "FOREST", "STATE"});
//   t.AddRow({"agent-1", "corp.example.com", "connected"});
//   std::cout << t.Render();
#ifndef WRITEBACK_CONTROLLER_CTL_TABLE_H_
#define WRITEBACK_CONTROLLER_CTL_TABLE_H_

#include <string>
#include <vector>

namespace writeback::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  // Missing cells print empty; extra cells are kept.
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t rows() const { return rows_.size(); }
  // Columns at least this wide, so that tables printed piece by piece (log
  // --follow: the header first, then each new row) line up.
  void SetMinWidths(std::vector<size_t> widths) { min_widths_ = std::move(widths); }
  // Header and rows, columns separated by two spaces, no trailing blanks.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> min_widths_;
};

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_TABLE_H_
