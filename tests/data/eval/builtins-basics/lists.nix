# List and string builtins not covered elsewhere.
[
  (builtins.concatLists [ [ 1 ] [ ] [ 2 3 ] ])
  (builtins.concatStringsSep ", " [ "a" "b" "c" ])
  (builtins.concatStringsSep "-" [ ])
  (builtins.elem 2 [ 1 2 3 ])
  (builtins.elem { a = 1; } [ { a = 1; } ])
  (builtins.elem 4 [ ])
  (builtins.deepSeq { a = [ 1 2 ]; } "forced")
  (builtins.replaceStrings [ "oo" "a" "" ] [ "0" "A" "_" ] "foobar")
  (builtins.replaceStrings [ "" ] [ "-" ] "abc")
  (builtins.replaceStrings [ "x" ] [ "y" ] "")
]
