# Prints "file:line<TAB>text" for each literal that leads a warning/error event.
undef $/;
for my $file (@ARGV) {
  open(my $fh, '<', $file) or die "$file: $!";
  my $src = <$fh>;
  close $fh;
  my @starts;  # [offset, chunk]
  while ($src =~ /WB_LOG\((?:WARNING|ERROR)\)\s*<<\s*/g) { push @starts, pos($src); }
  while ($src =~ /LogLine\s+(\w+)\([^;]*?k(?:Warning|Error|level\b)[^;]*\);\s*(?:\/\/[^\n]*\n\s*)*\1\s*<<\s*/g) {
    push @starts, pos($src);
  }
  while ($src =~ /LogLine\s+(\w+)\(level\);\s*\1\s*<<\s*/g) { push @starts, pos($src); }
  for my $at (@starts) {
    my $rest = substr($src, $at);
    # The message: up to the first field, hint, error or the end of the statement.
    $rest =~ /^(.*?)(?:<<\s*Log(?:Field|Hint|Error)\b|;)/s or next;
    my $chunk = $1;
    my $line = 1 + (substr($src, 0, $at) =~ tr/\n//);
    if ($chunk =~ /^\s*([a-z_]\w*)\s*(?:<<|$)/ && $chunk !~ /^\s*\(/) {
      my $name = $1;  # a variable holding the message: take its definition's literals
      if ($src =~ /\b\Q$name\E\s*=(?!=)\s*([^;]*);/s) { $chunk = $1; }
    }
    my @lits;
    while ($chunk =~ /"((?:[^"\\]|\\.)*)"/g) { push @lits, $1; }
    # Adjacent literals of one message are concatenated by the compiler.
    my $joined = $chunk =~ /\?/ ? undef : join('', @lits);
    for my $text (defined $joined ? ($joined) : @lits) {
      $text =~ s/^\s+|\s+$//g;
      next if length($text) < 8;
      print "$file:$line\t$text\n";
    }
  }
}
