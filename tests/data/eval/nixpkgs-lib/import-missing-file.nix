# Importing a file that does not exist (the 2022 lib imports ../maintainers/maintainer-list.nix,
# absent from a lib-only checkout) names the path as Nix does.
import ./files/not-there.nix
