{
  description = "A library flake inside the example";
  outputs = { self }: { greeting = "hello"; };
}
