builtins.storePath /etc/hosts
