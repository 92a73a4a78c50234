{
  description = "An example flake for rflake's README: one relative input, no network";
  inputs.lib.url = "path:./lib";
  outputs = { self, lib }: { greeting = lib.greeting; };
}
