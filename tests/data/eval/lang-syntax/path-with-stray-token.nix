hebb/..geb~/reeb~/.eb~/..geb~/reee0eb~/..eeb~/.abh..geb~/reeb~/.eb~/..geb~/rer/ee0eb~/.~/.a
.eeb~/.
${1 /${ s1 }}9  s