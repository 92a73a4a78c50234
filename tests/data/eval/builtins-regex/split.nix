# Unmatched text interleaved with the groups of each match; empty matches as libstdc++'s
# regex_iterator finds them.
with builtins;
[
  (split "(a)b" "abc")
  (split "([ac])" "abc")
  (split "(a)|(c)" "abc")
  (split "([[:upper:]]+)" " FOO ")
  (split "a*" "baaac")
  (split "" "abc")
  (split "x" "abc")
  (split "," "a,b,,c,")
  (split "(,)" "")
]
