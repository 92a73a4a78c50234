# Prints the final error message of a Nix-style error report (stdin or a file), so that a
# tool's `eval-fail` output can be compared with the suite's `.err.exp` whatever order the trace
# is printed in (Nix 2.8 prints the message first and the `… while …` frames after it; current
# Nix prints the frames first and the message last).
#
# The final error message is the text after `error:` on the LAST line whose first word is
# `error:` followed by some text (current Nix's bare `error:` header line does not count),
# without leading and trailing blanks. Lines after it are not part of it: hints such as
# `Did you mean y?` sit after the source excerpt in Nix 2.8 and right under the message in
# current Nix, and `Try 'nix-instantiate --help' …` names the program. Exits 1 when there is
# no such line.
/^[ \t]*error:[ \t]*[^ \t]/ { last = $0 }
END {
  if (last == "") exit 1
  sub(/^[ \t]*error:[ \t]*/, "", last)
  sub(/[ \t]+$/, "", last)
  print last
}
