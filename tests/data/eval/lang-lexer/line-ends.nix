# CR and CRLF read as LF in "" strings (not escaped ones), as they are in
# indented strings.
[ "ab
c\r" (''
  xy
'') ]
