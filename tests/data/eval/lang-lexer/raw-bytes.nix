# A string literal keeps bytes that are not UTF-8.
[ (builtins.stringLength "aÿbÃ") (builtins.hashString "md5" "ÿ") ]
