# Paths may not end in a slash.
./dir/
