# Every algorithm, in base-16; the string's context does not matter.
map (a: builtins.hashString a "hello") [ "md5" "sha1" "sha256" "sha512" ]
